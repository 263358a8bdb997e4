"""Generate ``streamfix/samples/railway_sample.jsonl``: realistic ``railway logs --json`` output.

The errors are real: every traceback comes from running one of the small failing programs in
``tests/unit/core/tracebacks/`` in a subprocess (httpx against a local server that never answers and
one that returns 429, redis-py against a closed port, pydantic, sqlite3, chained exceptions, an
exception group, Node.js and Java when ``node`` and ``java`` are installed...). Their stderr lines
become Railway JSON lines at level ``error`` (Railway marks stderr that way), mixed with ordinary
INFO traffic of several services, including lines that merely contain the word "error". Paths, ports
and timestamps are rewritten so the output is the same on every run on a given interpreter and
library versions.

Usage: ``python scripts/make_sample_logs.py [--out PATH]``
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import sysconfig
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.unit.core.tracebacks import HERE, PROGRAMS, Program  # noqa: E402

OUT = ROOT / "streamfix" / "samples" / "railway_sample.jsonl"
START = datetime(2026, 11, 28, 9, 0, 0, tzinfo=UTC)
SEED = 20261128

SERVICES = {
    "api": ("d7c1e2a4-api", "api-7f9c"),
    "worker": ("5b2e9f10-worker", "worker-2d41"),
    "web": ("c3aa0b7e-web", "web-91be"),
    "ledger": ("0f6d8e21-ledger", "ledger-55ac"),
}
# program name -> (service, occurrences)
SCHEDULE: dict[str, tuple[str, int]] = {
    "httpx_timeout": ("api", 4),
    "httpx_429": ("api", 3),
    "pydantic_validation": ("api", 2),
    "app_key_error": ("api", 3),
    "json_decode": ("api", 1),
    "logging_exception": ("worker", 2),
    "redis_refused": ("worker", 2),
    "sqlite_error": ("worker", 2),
    "chained_cause": ("worker", 1),
    "chained_context": ("worker", 1),
    "asyncio_timeout": ("worker", 1),
    "exception_group": ("worker", 1),
    "syntax_error": ("worker", 1),
    "node_type_error": ("web", 2),
    "node_async_error": ("web", 1),
    "java_illegal_state": ("ledger", 2),
}
# Error lines without a traceback, and one structured line carrying its traceback in "exception".
LOG_ERRORS: list[tuple[str, dict[str, object]]] = [
    (
        "api",
        {
            "message": "payment webhook failed: stripe.error.APIConnectionError: Could not connect to Stripe",
            "level": "error",
            "route": "/webhooks/stripe",
        },
    ),
    (
        "worker",
        {
            "message": "email batch aborted: resend.exceptions.RateLimitError: Too many requests",
            "level": "error",
            "batch": 17,
        },
    ),
    (
        "api",
        {
            "message": "upstream LLM call failed",
            "level": "error",
            "provider": "openrouter",
            "exception": "Traceback (most recent call last):\n"
            '  File "/app/api/llm.py", line 41, in complete\n'
            "    response = await client.chat.completions.create(**request)\n"
            "openai.InternalServerError: Error code: 502 - {'error': {'message': 'Provider returned error'}}",
        },
    ),
]
# (type, file, line, function) of the three entries above, in the same order.
LOG_ERROR_EXPECTED: list[tuple[str, str | None, int | None, str | None]] = [
    ("stripe.error.APIConnectionError", None, None, None),
    ("resend.exceptions.RateLimitError", None, None, None),
    ("openai.InternalServerError", "/app/api/llm.py", 41, "complete"),
]
INFO_MESSAGES = [
    "GET /api/orders/{n} 200 in {ms}ms",
    "POST /api/checkout 201 in {ms}ms",
    "GET /health 200",
    "cache hit ratio {ratio}",
    "0 errors in the last {n} jobs",
    "GET /api/errors/summary 200 in {ms}ms",
    "retry budget ok: error_rate=0.0{n}",
    "job {n} done, no Exception raised",
    "user uploaded File \"{n}.csv\"",
    "processed batch {n} ({ms} rows)",
]


def _rewrite(program: Program, service: str, text: str) -> str:
    """Make paths and ports look like a Railway deployment and be the same on every run."""
    purelib = sysconfig.get_paths()["purelib"]
    stdlib = sysconfig.get_paths()["stdlib"]
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    text = text.replace(str(HERE) + "/", f"/app/{service}/")
    text = text.replace(purelib + "/", f"/app/.venv/lib/{version}/site-packages/")
    text = text.replace(stdlib + "/", f"/usr/local/lib/{version}/")
    text = re.sub(r"127\.0\.0\.1:\d+", f"{program.name.split('_')[0]}.railway.internal:8080", text)
    return re.sub(
        r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3}", "2026-11-28 09:00:00,000", text, flags=re.MULTILINE
    )


def _record(service: str, when: datetime, fields: dict[str, object], rng: random.Random) -> str:
    deployment, replica = SERVICES[service]
    record: dict[str, object] = {
        "message": "",
        "timestamp": when.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "level": "info",
        "service": service,
        "deploymentId": deployment,
        "replica": replica,
        **fields,
    }
    keys = list(record)
    rng.shuffle(keys)  # Railway prints attributes in no fixed order
    if rng.random() < 0.3:
        record["severity"] = record.pop("level")
        keys[keys.index("level")] = "severity"
    return orjson.dumps({k: record[k] for k in keys}).decode()


def build(stderr: dict[str, str]) -> tuple[list[str], list[tuple[int, str, str]]]:
    """The sample lines, and (first line, program or log-error id, service) of every error written."""
    rng = random.Random(SEED)
    occurrences: list[tuple[str, str]] = [
        (name, service) for name, (service, times) in SCHEDULE.items() if name in stderr for _ in range(times)
    ]
    occurrences += [(f"log:{i}", service) for i, (service, _) in enumerate(LOG_ERRORS)]
    rng.shuffle(occurrences)
    lines: list[str] = []
    written: list[tuple[int, str, str]] = []
    when = START
    programs = {p.name: p for p in PROGRAMS}
    gaps = {"app_key_error": 0, "httpx_timeout": 3}  # Railway CLI dropped these lines once (same timestamp)
    for name, service in occurrences:
        for _ in range(rng.randint(15, 75)):
            when += timedelta(milliseconds=rng.randint(5, 400))
            template = rng.choice(INFO_MESSAGES)
            message = template.format(
                n=rng.randint(1, 999), ms=rng.randint(2, 900), ratio=round(rng.random(), 2)
            )
            extra: dict[str, object] = {"message": message}
            if "GET" in message or "POST" in message:
                extra["http"] = {"status": 200, "method": message.split()[0]}
            svc = rng.choice(list(SERVICES))
            if rng.random() < 0.15:  # uvicorn access log on stderr: Railway level error, own INFO header
                extra = {
                    "message": f'INFO:     10.0.0.{rng.randint(2, 9)}:0 - "GET /health HTTP/1.1" 200 OK',
                    "level": "error",
                }
            lines.append(_record(svc, when, extra, rng))
        when += timedelta(milliseconds=rng.randint(5, 400))
        written.append((len(lines), name, service))
        if name.startswith("log:"):
            lines.append(_record(service, when, dict(LOG_ERRORS[int(name[4:])][1]), rng))
            continue
        text = _rewrite(programs[name], service, stderr[name]).splitlines()
        drop = gaps.pop(name, None)
        for number, message in enumerate(text):
            when += timedelta(microseconds=rng.randint(1, 50))
            if number == drop:
                continue
            lines.append(_record(service, when, {"message": message, "level": "error"}, rng))
    return lines, written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    stderr: dict[str, str] = {}
    for program in PROGRAMS:
        if program.name in SCHEDULE and program.available:
            stderr[program.name] = program.run()
        elif program.name in SCHEDULE:
            print(
                f"skipping {program.name}: {program.requires or program.binary} not available",
                file=sys.stderr,
            )
    lines, written = build(stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(line + "\n" for line in lines))
    print(f"wrote {len(lines)} lines with {len(written)} errors to {args.out}")


if __name__ == "__main__":
    main()
