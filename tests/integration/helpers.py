"""Helpers for integration tests: run a real `streamfix worker` process, read topics."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from streamfix.runtime.settings import Settings
from streamfix.tools import procs

REPO_ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def running_worker(settings: Settings, log_path: Path, **extra_env: str) -> Iterator[subprocess.Popen[bytes]]:
    with procs.running(settings, log_path, cwd=REPO_ROOT, **extra_env) as proc:
        yield proc


def wait_http_json(url: str, predicate: Any, timeout: float = 60.0) -> Any:
    """Poll a JSON endpoint until ``predicate(body)`` holds; the worker offers no push channel for this."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = httpx.get(url, timeout=2.0).json()
            if predicate(last):
                return last
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{url} never satisfied the condition; last answer: {last!r}")


async def read_topic(settings: Settings, topic: str, count: int, wait_s: float = 60.0) -> list[Any]:
    """Read ``count`` records from the start of ``topic``."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=settings.bootstrap_servers,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    out: list[Any] = []
    try:
        deadline = time.monotonic() + wait_s
        while len(out) < count and time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                out.extend(records)
    finally:
        await consumer.stop()
    return out


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def synth_streams(
    lines: int, seed: int = 7, streams: int = 8, error_rate: float = 0.02
) -> dict[str, list[str]]:
    from collections import defaultdict

    from streamfix.tools.synth import Synth

    out: dict[str, list[str]] = defaultdict(list)
    for key, line in Synth(seed=seed, error_rate=error_rate, streams=streams).lines(lines):
        out[key].append(line)
    return dict(out)


def expected_counts(streams: dict[str, list[str]], batch_size: int = 500) -> dict[str, int]:
    """What the worker must count: the core run over each stream in the same batches, in-process, with
    every template merge (from any stream) applied, as the group agent applies them."""
    from collections import Counter

    from streamfix.core.stream import process

    counts: Counter[str] = Counter()
    alias: dict[str, str] = {}
    for lines in streams.values():
        state = None
        for start in range(0, len(lines), batch_size):
            result = process(lines[start:start + batch_size], state)
            state = result.state
            counts.update(event.fingerprint for event in result.events)
            for old, new in result.aliases:
                alias.setdefault(old, new)

    def root(fp: str) -> str:
        seen = set()
        while fp in alias and fp not in seen:
            seen.add(fp)
            fp = alias[fp]
        return fp

    final: Counter[str] = Counter()
    for fp, n in counts.items():
        final[root(fp)] += n
    return dict(final)


async def publish_streams(settings: Settings, streams: dict[str, list[str]], batch_size: int = 500,
                          start: int = 0, stop: int | None = None) -> int:
    """Publish batches [start, stop) of every stream (interleaved by batch), acknowledged by the broker."""
    from streamfix.kafka.clients import Publisher, ensure_topics
    from streamfix.tools.replay import batches

    await ensure_topics(settings)
    per_stream = {
        key: list(batches(lines, stream=key, source="test", labels={"service": key.split(":")[1]},
                          size=batch_size, fmt="railway", run_id="t"))
        for key, lines in streams.items()
    }
    sent = 0
    async with Publisher(settings) as pub:
        longest = max(len(b) for b in per_stream.values())
        for i in range(start, min(longest, stop if stop is not None else longest)):
            for stream_batches in per_stream.values():
                if i < len(stream_batches):
                    await pub.send_batch(stream_batches[i])
                    sent += len(stream_batches[i].lines)
        await pub.flush()
    return sent


def batch_count(streams: dict[str, list[str]], batch_size: int = 500) -> int:
    return max(-(-len(lines) // batch_size) for lines in streams.values())


def pattern_counts(settings: Settings, port: int | None = None) -> dict[str, int]:
    body = httpx.get(f"http://127.0.0.1:{port or settings.web_port}/error-monitor/errors/patterns",
                     timeout=5.0).json()
    return {p["fingerprint"]: int(p["count"]) for p in body["patterns"]}


def wait_counts(settings: Settings, expected: dict[str, int], port: int | None = None,
                timeout: float = 120.0) -> dict[str, int]:
    """Poll until the worker's counts reach the expected total, then return them (they must not overshoot)."""
    total = sum(expected.values())
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    while time.monotonic() < deadline:
        try:
            counts = pattern_counts(settings, port)
        except (httpx.HTTPError, ValueError):
            counts = {}
        if sum(counts.values()) >= total:
            return counts
        time.sleep(0.2)
    return counts
