"""Throughput of the error path: parse + assemble + extract + classify + fingerprint, one core.

The input is a deterministic, realistic Railway ``--json`` stream: structured INFO traffic of three
services (some lines mention "error" without being errors, some are uvicorn access lines on stderr),
with about 2% of the lines belonging to errors, mostly multi-line Python tracebacks written to stderr
one line per record. Lines are fed in batches through :func:`streamfix.core.pipeline.run_batch`, with
the per-stream state serialised between batches as a Kafka worker would.

Usage: ``python benchmarks/bench_error_path.py [--lines N] [--batch N] [--repeat N] [--json]``
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from datetime import UTC, datetime, timedelta

import orjson

from streamfix.core.pipeline import run_batch

TARGET = 300_000

TRACEBACKS = [
    """Traceback (most recent call last):
  File "/app/api/routes/orders.py", line 88, in create_order
    quote = await pricing.quote(cart)
  File "/app/api/pricing.py", line 41, in quote
    response = await self.client.get(url, timeout=2.0)
  File "/app/.venv/lib/python3.11/site-packages/httpx/_client.py", line 1814, in get
    return await self.request(
  File "/app/.venv/lib/python3.11/site-packages/httpx/_transports/default.py", line 118, in map_httpcore_exceptions
    raise mapped_exc(message) from exc
httpx.ReadTimeout: timed out""",
    """Traceback (most recent call last):
  File "/app/worker/jobs.py", line 23, in run
    session = cache.get(key)
  File "/app/.venv/lib/python3.11/site-packages/redis/commands/core.py", line 1829, in get
    return self.execute_command("GET", name, keys=[name])
  File "/app/.venv/lib/python3.11/site-packages/redis/connection.py", line 363, in connect
    raise ConnectionError(self._error_message(e))
redis.exceptions.ConnectionError: Error 111 connecting to redis.railway.internal:6379. Connection refused.""",
    """Traceback (most recent call last):
  File "/app/api/cart.py", line 10, in price_of
    return PRICES[item]
           ~~~~~~^^^^^^
KeyError: 'pear'""",
    """Traceback (most recent call last):
  File "/app/api/signup.py", line 16, in parse_signup
    return Signup.model_validate(payload)
  File "/app/.venv/lib/python3.11/site-packages/pydantic/main.py", line 596, in model_validate
    return cls.__pydantic_validator__.validate_python(
pydantic_core._pydantic_core.ValidationError: 1 validation error for Signup
age
  Input should be a valid integer, unable to parse string as an integer [type=int_parsing, input_value='old', input_type=str]""",
]
INFO = [
    "GET /api/orders/{n} 200 in {ms}ms",
    "POST /api/checkout 201 in {ms}ms",
    "GET /health 200",
    "cache hit ratio 0.{n}",
    "processed batch {n} ({ms} rows)",
    "user {n} signed in",
    "sent {n} notifications",
    "GET /api/products?page={n} 200 in {ms}ms",
    "webhook {n} delivered in {ms}ms",
    "scheduled job {n} started",
    "scheduled job {n} finished in {ms}ms",
    "PATCH /api/users/{n} 204 in {ms}ms",
    "connected to postgres pool (size {n})",
    "flushed {n} metrics",
    "0 errors in the last {n} jobs",  # mentions "error" without being one
    "GET /api/orders/{n}/items 200 in {ms}ms",
]
SERVICES = ["api", "worker", "web"]


def make_stream(count: int, error_share: float = 0.02, seed: int = 7) -> tuple[list[str], int]:
    """``count`` Railway JSON lines; returns them and the number of error events written."""
    rng = random.Random(seed)
    when = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
    lines: list[str] = []
    errors = 0
    error_lines = 0
    while len(lines) < count:
        when += timedelta(microseconds=rng.randint(100, 5000))
        stamp = when.isoformat(timespec="microseconds").replace("+00:00", "Z")
        service = rng.choice(SERVICES)
        if error_lines < error_share * len(lines):
            text = (
                rng.choice(TRACEBACKS)
                if rng.random() < 0.85
                else f"ERROR:app.jobs:job {rng.randint(1, 99)} failed"
            )
            for number, message in enumerate(text.splitlines()):
                record = {"timestamp": stamp[:-3] + f"{number:03d}Z", "message": message, "level": "error",
                          "service": service, "deploymentId": "d-1", "replica": "r-1"}
                lines.append(orjson.dumps(record).decode())
                error_lines += 1
            errors += 1
            continue
        roll = rng.random()
        if roll < 0.05:  # uvicorn access line on stderr: Railway says "error", its own header says INFO
            record = {"message": 'INFO:     10.0.0.4:0 - "GET /health HTTP/1.1" 200 OK', "level": "error"}
        else:
            message = rng.choice(INFO).format(n=rng.randint(1, 9999), ms=rng.randint(1, 900))
            level = "warn" if roll > 0.97 else "debug" if roll > 0.94 else "info"
            record = {"message": message, "level": level, "http": {"status": 200, "route": "/api/orders"},
                      "userId": rng.randint(1, 10**6)}
        record.update({"timestamp": stamp, "service": service, "deploymentId": "d-1", "replica": "r-1"})
        keys = list(record)
        rng.shuffle(keys)
        lines.append(orjson.dumps({k: record[k] for k in keys}).decode())
    return lines[:count], errors


def measure(lines: list[str], batch: int, *, full: bool = False) -> tuple[float, float, int]:
    """(CPU seconds of this process, wall seconds, events found)."""
    state = None
    events = 0
    start = time.perf_counter()
    cpu = time.process_time()
    for offset in range(0, len(lines), batch):
        result = run_batch(lines[offset : offset + batch], state, keep_units=full)
        state = orjson.loads(orjson.dumps(result.state))
        events += len(result.events)
    events += len(run_batch([], state, final=True).events)
    return time.process_time() - cpu, time.perf_counter() - start, events


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=300_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of Markdown")
    args = parser.parse_args()
    lines, written = make_stream(args.lines)
    best = min(measure(lines, args.batch) for _ in range(args.repeat))
    full = measure(lines, args.batch, full=True)
    seconds, wall, events = best
    figures = {
        "benchmark": "error_path",
        "lines": len(lines),
        "bytes_per_line": round(sum(map(len, lines)) / len(lines)),
        "errors_written": written,
        "events_found": events,
        "batch": args.batch,
        "cpu_seconds": round(seconds, 3),
        "wall_seconds": round(wall, 3),
        "lines_per_second": round(len(lines) / seconds),
        "lines_per_second_wall": round(len(lines) / wall),
        "lines_per_second_without_prefilter": round(len(lines) / full[0]),
        "target_lines_per_second": TARGET,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    if args.json:
        sys.stdout.write(orjson.dumps(figures).decode() + "\n")
        return
    verdict = "meets" if figures["lines_per_second"] >= TARGET else "misses"
    sys.stdout.write(
        "## Error path (parse + assemble + extract + classify + fingerprint)\n\n"
        f"Railway `--json` stream, {figures['lines']:,} lines of ~{figures['bytes_per_line']} bytes, "
        f"{written} errors (about 2% of lines), batches of {args.batch}, state serialised between batches, "
        f"one core, Python {figures['python']}, "
        f"{figures['machine']}.\n\n"
        "| measure | value |\n|---|---|\n"
        f"| lines/s (per CPU second of the process) | {figures['lines_per_second']:,} |\n"
        f"| lines/s (wall clock, shared machine) | {figures['lines_per_second_wall']:,} |\n"
        f"| lines/s, every line fully parsed (no prefilter) | {figures['lines_per_second_without_prefilter']:,} |\n"
        f"| error events found / written | {events} / {written} |\n"
        f"| target | {TARGET:,} lines/s ({verdict}) |\n"
    )


if __name__ == "__main__":
    main()
