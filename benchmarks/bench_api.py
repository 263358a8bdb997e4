"""REST API latency of a real worker holding 10k patterns, under 50 concurrent clients.

    python benchmarks/bench_api.py --broker 127.0.0.1:9092 --patterns 10000 --concurrency 50 --requests 5000
    python benchmarks/bench_api.py --processes 2      # spread the 50 clients over two processes

Starts a ``streamfix worker`` process with topics of its own, publishes one error event per synthetic
pattern to the errors topic (the group agent folds them into the patterns table, as in production),
waits until ``/error-monitor/health`` reports them all, then fires a mix of the read routes with
``httpx.AsyncClient`` at the given concurrency and reports p50/p99 per route and overall. Latency is
measured by the client, from sending a request to reading its whole body; with a closed loop of 50
callers it is at least 50 / throughput, so where the client's own CPU limits the throughput, the
worker-side p99 (from the worker's ``streamfix_api_request_duration_seconds`` histogram) is printed too.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import multiprocessing
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamfix.kafka.clients import Publisher, ensure_topics
from streamfix.kafka.wire import ErrorEventRecord
from streamfix.runtime.settings import Settings

CATEGORIES = ["database_error", "timeout_error", "validation_error", "internal_error", "auth_error",
              "external_service_error", "rate_limit_error", "cache_error"]
SEVERITIES = ["CRITICAL", "HIGH", "MEDIUM", "LOW"]


def synthetic_event(i: int, now: float, rng: random.Random) -> ErrorEventRecord:
    ts = now - rng.uniform(0, 20 * 3600)
    return ErrorEventRecord(
        fingerprint=f"fp1:bench{i:08d}",
        error_type=f"BenchError{i % 97}",
        message=f"synthetic failure {i}",
        category=CATEGORIES[i % len(CATEGORIES)],
        severity=SEVERITIES[i % len(SEVERITIES)],
        fixable=i % 3 != 0,
        file=f"/app/src/module_{i % 211}.py",
        line=10 + i % 300,
        function=f"handler_{i % 53}",
        traceback=f'Traceback (most recent call last):\n  File "/app/src/module_{i % 211}.py", line 10\nBenchError: {i}',  # noqa: E501
        timestamp=ts,
        service=f"svc-{i % 7}",
        detected_at=ts,
        occurrences=1 + i % 5,
        source_partition=0,
        source_offset=i,
        event_index=0,
    )


async def load_patterns(settings: Settings, n: int) -> None:
    rng = random.Random(7)
    now = time.time()
    async with Publisher(settings) as pub:
        for i in range(n):
            record = synthetic_event(i, now, rng)
            await pub.send("errors", record.fingerprint, record)
        await pub.flush()


def wait_for(url: str, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    seen = -1
    while time.monotonic() < deadline:
        try:
            seen = int(httpx.get(url, timeout=5).json()["error_patterns_tracked"])
            if seen >= n:
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.5)
    raise SystemExit(f"the worker holds {seen} of {n} patterns after {timeout:.0f} s")


def routes(n: int) -> list[str]:
    p = "/error-monitor"
    return [
        f"{p}/health", f"{p}/errors/recent?hours=24", f"{p}/errors/critical?hours=24",
        f"{p}/errors/fixable?hours=1", f"{p}/dashboard", f"{p}/errors/timeline?hours=24",
        f"{p}/errors/patterns?limit=100", f"{p}/fixes/generated",
        *(f"{p}/patterns/fp1:bench{i:08d}" for i in range(0, n, max(1, n // 20))),
    ]


async def fire(base: str, paths: list[str], total: int, concurrency: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {}
    queue: asyncio.Queue[str] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(paths[i % len(paths)])
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)

    async def worker() -> None:
        # one client (one keep-alive connection) per concurrent caller: a shared pool of 50 connections
        # costs the client several ms of CPU per request, which would measure httpx rather than the API
        async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
            while not queue.empty():
                path = queue.get_nowait()
                started = time.perf_counter()
                resp = await client.get(path)
                await resp.aread()
                elapsed = time.perf_counter() - started
                if resp.status_code != 200:
                    raise SystemExit(f"{path}: {resp.status_code} {resp.text[:200]}")
                key = path.split("?")[0] if "/patterns/fp1:" not in path else "/error-monitor/patterns/{fp}"
                samples.setdefault(key, []).append(elapsed)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return samples


def _fire_in_process(job: tuple[str, list[str], int, int]) -> dict[str, list[float]]:
    return asyncio.run(fire(*job))


def fire_spread(
    base: str, paths: list[str], total: int, concurrency: int, processes: int
) -> dict[str, list[float]]:
    """``fire`` split over ``processes`` client processes (the concurrency and the requests shared out)."""
    if processes <= 1:
        return asyncio.run(fire(base, paths, total, concurrency))
    jobs = [
        (base, paths[i:] + paths[:i], total // processes, concurrency // processes) for i in range(processes)
    ]
    merged: dict[str, list[float]] = {}
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        for samples in pool.map(_fire_in_process, jobs):
            for key, values in samples.items():
                merged.setdefault(key, []).extend(values)
    return merged


def server_histogram(base: str) -> dict[float, float]:
    """Cumulative ``le -> count`` of the worker's own request-duration histogram, over every route."""
    out: dict[float, float] = {}
    for family in text_string_to_metric_families(httpx.get(f"{base}/metrics", timeout=10).text):
        if family.name == "streamfix_api_request_duration_seconds":
            for sample in family.samples:
                if sample.name.endswith("_bucket"):
                    le = float(sample.labels["le"])
                    out[le] = out.get(le, 0.0) + sample.value
    return out


def server_p99_bound(before: dict[float, float], after: dict[float, float]) -> float:
    """Upper bound (the bucket edge, ms) of the p99 of the requests between two scrapes, as the worker timed them."""  # noqa: E501
    counts = {le: after.get(le, 0.0) - before.get(le, 0.0) for le in after}
    total = counts[math.inf]
    for le in sorted(counts):
        if counts[le] >= 0.99 * total:
            return le * 1000
    return math.inf


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def report(samples: dict[str, list[float]], wall: float) -> float:
    everything = [v for vs in samples.values() for v in vs]
    print(f"{'route':<42} {'n':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for route, values in sorted(samples.items()):
        print(
            f"{route:<42} {len(values):>6} {pct(values, 0.5):>8.2f} {pct(values, 0.99):>8.2f} {max(values) * 1000:>8.2f}"  # noqa: E501
        )
    p99 = pct(everything, 0.99)
    print(f"{'ALL':<42} {len(everything):>6} {pct(everything, 0.5):>8.2f} {p99:>8.2f} "
          f"{max(everything) * 1000:>8.2f}")
    print(
        f"throughput: {len(everything) / wall:.0f} requests/s; mean {statistics.mean(everything) * 1000:.2f} ms"  # noqa: E501
    )
    return p99


WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def fire_wrk(
    base: str, paths: list[str], concurrency: int, seconds: int, tmp: Path
) -> tuple[float, float, float]:
    """Load from ``wrk`` (a C client, so the client's own CPU does not shape the figure): p50, p99 (ms), req/s."""  # noqa: E501
    script = tmp / "paths.lua"
    script.write_text(WRK_SCRIPT % ", ".join(f'"{p}"' for p in paths), encoding="utf-8")
    done = subprocess.run(
        ["wrk", "-t1", f"-c{concurrency}", f"-d{seconds}s", "--latency", "-s", str(script), base],
        capture_output=True, text=True, check=True,
    )
    print(done.stdout)

    def ms(label: str) -> float:
        line = next(x for x in done.stdout.splitlines() if x.strip().startswith(label))
        value = line.split()[1]
        for unit, scale in (("us", 0.001), ("ms", 1.0), ("s", 1000.0)):
            if value.endswith(unit):
                return float(value[: -len(unit)]) * scale
        return float(value)

    rate = float(next(x for x in done.stdout.splitlines() if x.startswith("Requests/sec")).split()[1])
    return ms("50%"), ms("99%"), rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--broker", default=os.environ.get("STREAMFIX_BROKER", "127.0.0.1:9092"))
    parser.add_argument("--patterns", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--port", type=int, default=16066)
    parser.add_argument("--processes", type=int, default=1, help="client processes sharing the concurrency")
    parser.add_argument("--target-p99-ms", type=float, default=50.0)
    parser.add_argument(
        "--client",
        choices=["httpx", "wrk"],
        default="wrk" if shutil.which("wrk") else "httpx",
        help="load generator (default: wrk when installed)",
    )
    parser.add_argument("--seconds", type=int, default=15, help="with --client wrk: how long to load")
    args = parser.parse_args()

    tag = f"bench{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(broker=args.broker, app_id=tag, topic_prefix=tag, web_port=args.port,
                            data_dir=Path(tmp) / "worker")
        asyncio.run(ensure_topics(settings))
        env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMFIX_")}
        env.update(STREAMFIX_BROKER=settings.broker, STREAMFIX_APP_ID=tag, STREAMFIX_TOPIC_PREFIX=tag,
                   STREAMFIX_WEB_PORT=str(args.port), STREAMFIX_DATA_DIR=str(settings.data_dir),
                   STREAMFIX_API_RATE_LIMIT="0", STREAMFIX_LOG_LEVEL="WARNING")
        env.update(
            {k: v for k, v in os.environ.items() if k.startswith("STREAMFIX_API_")}
        )  # tuning under test
        log_path = Path(tmp) / "worker.log"
        with log_path.open("wb") as log:
            worker = subprocess.Popen([sys.executable, "-m", "streamfix", "worker"], env=env, stdout=log,
                                      stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{args.port}"
            started = time.monotonic()
            asyncio.run(load_patterns(settings, args.patterns))
            wait_for(f"{base}/error-monitor/health", args.patterns, timeout=300)
            print(f"loaded {args.patterns} patterns in {time.monotonic() - started:.1f} s")
            paths = routes(args.patterns)
            asyncio.run(fire(base, paths, len(paths) * 5, args.concurrency))  # warm-up
            before = server_histogram(base)
            if args.client == "wrk":
                p50, p99, rate = fire_wrk(base, paths, args.concurrency, args.seconds, Path(tmp))
                print(
                    f"wrk, {args.concurrency} connections: p50 {p50:.2f} ms, p99 {p99:.2f} ms, {rate:.0f} requests/s"  # noqa: E501
                )
            else:
                began = time.monotonic()
                samples = fire_spread(base, paths, args.requests, args.concurrency, args.processes)
                p99 = report(samples, time.monotonic() - began)
            print(f"worker-side p99 (its own histogram, in the middleware): <= "
                  f"{server_p99_bound(before, server_histogram(base)):g} ms")
        finally:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.kill()
    verdict = "meets" if p99 <= args.target_p99_ms else "MISSES"
    print(f"p99 {p99:.2f} ms {verdict} the {args.target_p99_ms:.0f} ms target")
    sys.exit(0 if p99 <= args.target_p99_ms else 1)


if __name__ == "__main__":
    main()
