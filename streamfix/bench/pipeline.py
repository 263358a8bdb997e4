"""``streamfix bench pipeline``: end-to-end throughput and detection latency through a real broker.

1. Throughput: N synthetic Railway lines (``error_rate`` of them in errors) are published as raw
   batches as fast as the broker takes them; the clock stops when the worker's patterns hold every
   error the core finds in those lines (computed in-process beforehand).
2. Latency: batches are published at a fixed rate (default 10k lines/s) for a few seconds; the worker
   measures, per error event, the time from its batch being published to its pattern count being
   updated (``streamfix_detection_latency_seconds``); p50 and p99 come from that histogram.
3. Baseline (optional): the same lines, one Kafka message per line, through a Faust agent doing the
   same core work (:mod:`streamfix.bench.baseline`), for the ratio.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import time
import uuid
from collections import defaultdict
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
from prometheus_client.parser import text_string_to_metric_families

from streamfix.core.pipeline import has_open_units, run_batch
from streamfix.errors import BrokerError, StreamfixError
from streamfix.kafka.clients import Publisher, delete_topics_with_prefix, ensure_topics, new_producer
from streamfix.runtime.settings import Settings
from streamfix.tools.procs import running
from streamfix.tools.replay import batches
from streamfix.tools.synth import Synth

log = logging.getLogger(__name__)

WARMUP_LINES = 1_000_000
"""Lines sent through the pipeline before the throughput clock starts (``--warmup-lines``). A broker
just started (``streamfix bench pipeline`` starts one when none answers) is slower for its first few
million lines: first run 64k lines/s with 19 broker CPU s, the next 91k with 9; with this warm-up a
just-started broker measured 92–101k (four runs), with 300,000 lines 73–111k (five runs)."""


@dataclass
class PipelineBench:
    lines: int
    error_rate: float
    error_events: int
    seconds: float
    lines_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    latency_rate: int
    worker_max_rss_mb: float
    baseline_lines: int | None = None
    baseline_lines_per_s: float | None = None
    ratio: float | None = None
    processing_guarantee: str = "at_least_once"
    workers: int = 1
    worker_cpu_s: float | None = None
    """CPU seconds (user + system) the workers spent in the throughput run: steadier than wall time
    on a shared machine."""
    warmup_lines: int = 0
    """Lines sent through the same pipeline (streams of their own) before the clock started."""


def _assigned(client: httpx.Client, settings: Settings, workers: int) -> bool:
    """Every worker reports partitions of its own (a finished rebalance)."""
    total = 0
    for i in range(workers):
        body = _get(client, f"http://127.0.0.1:{settings.web_port + i}/error-monitor/health")
        total += 1 if body.get("status") == "healthy" else 0
    return total == workers


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _max_rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _synth(
    lines: int, error_rate: float, streams: int, distinct: int | None, seed: int
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for key, line in Synth(seed=seed, error_rate=error_rate, streams=streams, distinct=distinct).lines(lines):
        out[key].append(line)
    return dict(out)


def _get(client: httpx.Client, url: str) -> Any:
    return client.get(url).json()


def _client() -> httpx.Client:
    """One client for all of a run's requests: a new one per request (``httpx.get``) builds a TLS
    context each time, ~40 ms of CPU, which at the 50 ms poll took a third of a core from the
    pipeline being measured."""
    return httpx.Client(timeout=10.0)


def _wait(predicate: Any, timeout: float, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise StreamfixError(f"{what}: the worker exited with {proc.returncode}")
        try:
            if predicate():
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    raise StreamfixError(f"{what}: not done within {timeout:.0f} s")


def _latency_quantiles(metrics_before: str, metrics_after: str) -> tuple[float | None, float | None]:
    def buckets(text: str) -> dict[float, float]:
        out: dict[float, float] = {}
        for family in text_string_to_metric_families(text):
            if family.name == "streamfix_detection_latency_seconds":
                for sample in family.samples:
                    if sample.name.endswith("_bucket"):
                        out[float(sample.labels["le"])] = sample.value
        return out

    before, after = buckets(metrics_before), buckets(metrics_after)
    cumulative = sorted((le, after.get(le, 0.0) - before.get(le, 0.0)) for le in after)
    total = cumulative[-1][1] if cumulative else 0.0
    if total <= 0:
        return None, None

    def quantile(q: float) -> float:  # linear interpolation inside the bucket, as histogram_quantile does
        rank = q * total
        lower_le, lower_count = 0.0, 0.0
        for le, count in cumulative:
            if count >= rank:
                if le == float("inf"):
                    return lower_le * 1000
                width = count - lower_count
                frac = (rank - lower_count) / width if width > 0 else 1.0
                return (lower_le + (le - lower_le) * frac) * 1000
            lower_le, lower_count = le, count
        return lower_le * 1000

    return quantile(0.5), quantile(0.99)


async def _publish_all(settings: Settings, payloads: list[tuple[str, bytes]]) -> None:
    async with Publisher(settings, linger_ms=10) as pub:
        for key, value in payloads:
            await pub.send("raw", key, value)
        await pub.flush()


async def _publish_paced(
    settings: Settings, streams: dict[str, list[str]], rate: int, batch_lines: int
) -> int:
    """Publish at ``rate`` lines/s, each batch stamped when it is sent."""
    keys = list(streams)
    cursors = dict.fromkeys(keys, 0)
    sent = 0
    seq = 0
    start = time.perf_counter()
    async with Publisher(settings, linger_ms=0) as pub:
        while any(cursors[k] < len(streams[k]) for k in keys):
            for key in keys:
                lines = streams[key][cursors[key]:cursors[key] + batch_lines]
                if not lines:
                    continue
                cursors[key] += len(lines)
                for batch in batches(lines, stream=key, source="bench", labels={"service": key.split(":")[1]},
                                     size=batch_lines, fmt="railway", run_id=f"lat{seq}"):
                    await pub.send_batch(batch)
                seq += 1
                sent += len(lines)
                ahead = sent / rate - (time.perf_counter() - start)
                if ahead > 0:
                    await asyncio.sleep(ahead)
        await pub.flush()
    return sent


def run_pipeline_bench(
    base: Settings, *, lines: int, error_rate: float = 0.02, streams: int = 8, batch_lines: int = 1000,
    latency_rate: int = 10_000, latency_seconds: float = 10.0, baseline_lines: int = 0,
    distinct: int | None = None, work_dir: Path = Path(".cache/bench"), workers: int = 1,
    warmup_lines: int = WARMUP_LINES,
) -> PipelineBench:
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    work_dir.mkdir(parents=True, exist_ok=True)
    settings = base.model_copy(update={"app_id": tag, "topic_prefix": tag, "data_dir": work_dir / tag})
    try:
        return _run(settings, lines=lines, error_rate=error_rate, streams=streams, batch_lines=batch_lines,
                    latency_rate=latency_rate, latency_seconds=latency_seconds, baseline_lines=baseline_lines,
                    distinct=distinct, work_dir=work_dir, workers=workers, warmup_lines=warmup_lines)
    finally:  # a run's topics (changelogs included) would otherwise stay on the broker for good
        _drop_topics(settings.bootstrap_servers, tag)


def _payloads(corpus: dict[str, list[str]], batch_lines: int, run_id: str) -> list[tuple[str, bytes]]:
    """Raw batches of every stream, interleaved in sequence order (as streams arrive concurrently)."""
    payloads = [
        (key, batch.dumps())
        for key, stream_lines in corpus.items()
        for batch in batches(stream_lines, stream=key, source="bench", labels={"service": key.split(":")[1]},
                             size=batch_lines, fmt="railway", run_id=run_id)
    ]
    payloads.sort(key=lambda kv: int(kv[1][kv[1].index(b'"seq":') + 6 :].split(b",", 1)[0]))
    return payloads


def _warmup_corpus(lines: int, error_rate: float, streams: int) -> tuple[dict[str, list[str]], int]:
    """Warm-up streams (keys of their own, so the measured streams start clean) and their event count.

    Each ends with plain lines, so no traceback is left open to be flushed later, during the measured
    run; a stream that still ends inside one is left out.
    """
    if lines <= 0:
        return {}, 0
    corpus = _synth(lines, error_rate, streams, None, seed=3)
    warm: dict[str, list[str]] = {}
    events = 0
    for key, stream_lines in corpus.items():
        last = orjson.loads(stream_lines[-1])  # same labels: the same sub-stream as the stream's last line
        filler = ({**last, "message": f"warm-up done {n}", "level": "info"} for n in range(3))
        done = [*stream_lines, *(orjson.dumps(line).decode() for line in filler)]
        result = run_batch(done)
        if not has_open_units(result.state):
            warm[f"{key}:warmup"] = done
            events += len(result.events)
    return warm, events


def _drop_topics(bootstrap_servers: str, tag: str) -> None:
    try:
        asyncio.run(delete_topics_with_prefix(bootstrap_servers, tag))
    except BrokerError as exc:
        log.warning("the benchmark's topics %s* were not deleted: %s", tag, exc)


def _run(
    settings: Settings, *, lines: int, error_rate: float, streams: int, batch_lines: int, latency_rate: int,
    latency_seconds: float, baseline_lines: int, distinct: int | None, work_dir: Path, workers: int,
    warmup_lines: int,
) -> PipelineBench:
    tag = settings.app_id
    url = f"http://127.0.0.1:{settings.web_port}"
    corpus = _synth(lines, error_rate, streams, distinct, seed=1)
    expected = sum(len(run_batch(v).events) for v in corpus.values())
    payloads = _payloads(corpus, batch_lines, "tp")
    warm, warm_expected = _warmup_corpus(warmup_lines, error_rate, streams)
    total_lines = sum(len(v) for v in corpus.values())
    asyncio.run(ensure_topics(settings))
    with ExitStack() as stack:
        client = stack.enter_context(_client())
        procs = [
            stack.enter_context(
                running(
                    settings.model_copy(
                        update={"web_port": settings.web_port + i, "data_dir": work_dir / f"{tag}-{i}"}
                    ),
                    work_dir / f"{tag}-worker{i}.log",
                    STREAMFIX_LOG_LEVEL="WARNING",
                )
            )
            for i in range(workers)
        ]
        worker = procs[0]
        for i, proc in enumerate(procs):
            port_url = f"http://127.0.0.1:{settings.web_port + i}"
            _wait(lambda u=port_url: _get(client, f"{u}/error-monitor/health")["status"] == "healthy", 60,
                  proc, "worker start")
        if workers > 1:  # every worker must own partitions before the clock starts
            _wait(lambda: _assigned(client, settings, workers), 60, worker, "group join")

        def counted() -> int:
            patterns = _get(client, f"{url}/error-monitor/errors/patterns")["patterns"]
            return sum(int(p["count"]) for p in patterns)

        if warm:  # a fresh broker spends its first seconds compiling its own code: not the pipeline's speed
            asyncio.run(_publish_all(settings, _payloads(warm, batch_lines, "warm")))
            _wait(lambda: counted() >= warm_expected, max(120.0, warmup_lines / 5000), worker, "warm-up")
            expected += warm_expected
        cpu_before = sum(_cpu_seconds(proc.pid) for proc in procs)
        started = time.perf_counter()
        asyncio.run(_publish_all(settings, payloads))
        _wait(lambda: counted() >= expected, max(120.0, lines / 5000), worker, "throughput run")
        seconds = time.perf_counter() - started
        cpu = sum(_cpu_seconds(proc.pid) for proc in procs) - cpu_before
        before = client.get(f"{url}/metrics").text
        extra_before = {i: client.get(f"http://127.0.0.1:{settings.web_port + i}/metrics").text
                        for i in range(1, workers)}
        paced = _synth(latency_rate * int(latency_seconds), error_rate, streams, None, seed=2)
        target = expected + sum(len(run_batch(v).events) for v in paced.values())
        asyncio.run(_publish_paced(settings, paced, latency_rate, max(50, latency_rate // 100 // streams)))
        _wait(lambda: counted() >= target, 60, worker, "latency run")
        after = client.get(f"{url}/metrics").text
        for i in range(1, workers):
            extra = client.get(f"http://127.0.0.1:{settings.web_port + i}/metrics").text
            before, after = before + extra_before[i], after + extra
        rss = max(_max_rss_mb(proc.pid) for proc in procs)
    p50, p99 = _latency_quantiles(before, after)
    result = PipelineBench(
        lines=total_lines, error_rate=error_rate, error_events=expected - warm_expected, seconds=seconds,
        lines_per_s=total_lines / seconds, p50_ms=p50, p99_ms=p99, latency_rate=latency_rate,
        worker_max_rss_mb=rss, processing_guarantee=settings.processing_guarantee, workers=workers,
        worker_cpu_s=cpu, warmup_lines=sum(len(v) for v in warm.values()),
    )
    if baseline_lines:
        result.baseline_lines, result.baseline_lines_per_s = _baseline(
            settings, baseline_lines, error_rate, streams, work_dir
        )
        result.ratio = result.lines_per_s / result.baseline_lines_per_s
    return result


def _baseline(
    settings: Settings, lines: int, error_rate: float, streams: int, work_dir: Path
) -> tuple[int, float]:
    corpus = _synth(lines, error_rate, streams, None, seed=1)
    total = sum(len(v) for v in corpus.values())
    url = f"http://127.0.0.1:{settings.web_port}"

    async def produce() -> None:
        producer = new_producer(settings.bootstrap_servers, linger_ms=10, acks="all")
        await producer.start()
        try:
            for key, stream_lines in corpus.items():
                for line in stream_lines:
                    await producer.send(
                        f"{settings.topic_prefix}.lines", key=key.encode(), value=line.encode()
                    )
            await producer.flush()
        finally:
            await producer.stop()

    with running(settings, work_dir / f"{settings.app_id}-baseline.log", ("-m", "streamfix.bench.baseline"),
                 STREAMFIX_LOG_LEVEL="WARNING") as worker, _client() as client:
        _wait(lambda: _get(client, f"{url}/processed")["lines"] >= 0, 60, worker, "baseline start")
        started = time.perf_counter()
        asyncio.run(produce())
        _wait(
            lambda: _get(client, f"{url}/processed")["lines"] >= total,
            max(300.0, lines / 500),
            worker,
            "baseline run",
        )
        seconds = time.perf_counter() - started
    return total, total / seconds


def as_dict(result: PipelineBench) -> dict[str, Any]:
    return asdict(result)
