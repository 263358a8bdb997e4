"""A watcher SIGKILLed again and again while a log with hundreds of tracebacks is written: every
traceback stays whole (never cut in two by the outages) and is counted exactly once (a restarted
file watcher skips the lines it published after its last cursor, counted on the raw topic)."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from streamfix.kafka.clients import ensure_topics
from streamfix.runtime.settings import Settings
from streamfix.tools.procs import settings_env
from tests.integration.helpers import REPO_ROOT, running_worker

pytestmark = [pytest.mark.kafka, pytest.mark.slow, pytest.mark.timeout(900)]
KINDS = [
    ("KeyError", "'account_id'", "billing/invoices.py", "total_for"),
    ("ZeroDivisionError", "division by zero", "reports/ratios.py", "ratio"),
    ("ConnectionRefusedError", "[Errno 111] Connection refused", "clients/cache.py", "get"),
    ("ValueError", "invalid literal for int() with base 10: 'n/a'", "forms/parse.py", "to_int"),
]
TRACEBACKS = 400
KILLS = 10


def log_lines(seed: int = 3, tracebacks: int = TRACEBACKS) -> tuple[list[str], Counter[str]]:
    rng = random.Random(seed)
    lines: list[str] = []
    expected: Counter[str] = Counter()
    for n in range(tracebacks):
        for m in range(rng.randint(0, 6)):
            lines.append(
                f"2026-11-30 10:{n % 60:02d}:{m:02d},000 INFO request {n}.{m} "
                f"served in {rng.randint(1, 90)} ms"
            )
        error, message, path, function = KINDS[n % len(KINDS)]
        lines += [
            f"2026-11-30 10:{n % 60:02d}:59,000 ERROR request {n} failed",
            "Traceback (most recent call last):",
            '  File "/app/web/handlers.py", line 41, in handle',
            "    return view(request)",
            f'  File "/app/{path}", line {17 + n % len(KINDS)}, in {function}',
            "    return compute(request)",
            f"{error}: {message}",
        ]
        expected[error] += 1
    lines.append("2026-11-30 11:00:00,000 INFO done")
    return lines, expected


async def raw_end(settings: Settings) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=None)
    await consumer.start()
    try:
        topic = f"{settings.topic_prefix}.logs.raw"
        parts = [TopicPartition(topic, p) for p in range(settings.topic_partitions)]
        ends = await consumer.end_offsets(parts)
        return int(sum(ends.values()))
    finally:
        await consumer.stop()


def start_watcher(settings: Settings, path: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "streamfix", "watch", "file", str(path), "--interval", "0.05"],
            env=settings_env(settings),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
        )


def wait_growth(settings: Settings, since: int, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = asyncio.run(raw_end(settings))
        if now > since:
            return now
        time.sleep(0.05)  # end offsets have no push channel either
    raise TimeoutError("the watcher published nothing")


def patterns(settings: Settings) -> list[dict[str, object]]:
    resp = httpx.get(
        f"http://127.0.0.1:{settings.web_port}/error-monitor/errors/patterns?limit=1000", timeout=5.0
    )
    resp.raise_for_status()  # 503 while starting, 429 when polled too fast
    return list(resp.json()["patterns"])


def scenario(
    kafka_settings: Settings, tmp_path: Path, tracebacks: int, kill_count: int
) -> tuple[Counter[str], Counter[str], list[dict[str, object]]]:
    """Write the log in chunks, SIGKILL and restart the watcher ``kill_count`` times;
    (got, expected, patterns).

    The quiet period is 1 s, shorter than a watcher's restart, so every outage outlasts it."""
    kafka_settings = kafka_settings.model_copy(update={"assembly_quiet_seconds": 1.0})
    asyncio.run(ensure_topics(kafka_settings))
    lines, expected = log_lines(tracebacks=tracebacks)
    rng = random.Random(11)
    cuts = sorted(rng.sample(range(1, len(lines) - 1), 3 * kill_count))  # most chunks end inside a traceback
    chunks = [lines[a:b] for a, b in zip([0, *cuts], [*cuts, len(lines)], strict=True)]
    path = tmp_path / "app.log"
    path.write_text("")
    kills = 0
    with running_worker(kafka_settings, tmp_path / "worker.log"):
        watcher = start_watcher(kafka_settings, path, tmp_path / "watcher.log")
        end = asyncio.run(raw_end(kafka_settings))
        for n, chunk in enumerate(chunks):
            with path.open("a") as out:
                out.write("".join(f"{line}\n" for line in chunk))
            end = wait_growth(kafka_settings, end)
            if n % 3 == 1 and kills < kill_count:
                os.kill(watcher.pid, signal.SIGKILL)  # the outage: mid-flight, maybe mid-traceback
                watcher.wait()
                kills += 1
                watcher = start_watcher(kafka_settings, path, tmp_path / "watcher.log")
        try:
            deadline = time.monotonic() + 180
            got: Counter[str] = Counter()
            found: list[dict[str, object]] = []
            while time.monotonic() < deadline:
                try:
                    found = patterns(kafka_settings)
                except (httpx.HTTPError, ValueError):
                    time.sleep(0.2)  # the worker offers no push channel: poll, within the API's rate limit
                    continue
                got = Counter()
                for p in found:
                    got[str(p["error_type"])] += int(str(p["count"]))
                if sum(got.values()) >= tracebacks:
                    break
                time.sleep(0.2)
        finally:
            watcher.send_signal(signal.SIGTERM)
            watcher.wait(timeout=30)
    assert kills == kill_count
    return got, expected, found


def test_ten_watcher_kills_keep_every_traceback_whole(kafka_settings: Settings, tmp_path: Path) -> None:
    got, expected, found = scenario(kafka_settings, tmp_path, TRACEBACKS, KILLS)
    # a traceback cut in two leaves a head (incomplete, no exception) and a tail: more patterns than kinds
    assert sorted(str(p["error_type"]) for p in found) == sorted(k[0] for k in KINDS), found
    assert all(got[kind] >= n for kind, n in expected.items())  # nothing lost


def test_ten_watcher_kills_count_every_traceback_once(kafka_settings: Settings, tmp_path: Path) -> None:
    got, expected, _ = scenario(kafka_settings, tmp_path, TRACEBACKS, KILLS)
    assert got == expected
