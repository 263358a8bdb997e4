"""Railway watcher against the fake CLI and the real broker: every line exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from streamfix.kafka.clients import ensure_topics
from streamfix.runtime.settings import Settings
from streamfix.sources.runner import watch_railway
from tests.fakes import RAILWAY_BIN, railway_json_lines, read_raw

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(240)]

TOTAL = 100_000
FORCED_EXITS = 20


def pairs_of(lines: list[str]) -> Counter[tuple[str, str]]:
    out: Counter[tuple[str, str]] = Counter()
    for line in lines:
        obj = orjson.loads(line)
        out[(obj["timestamp"], obj["message"])] += 1
    return out


async def wait_on_topic(settings: Settings, lines: int, task: asyncio.Task[None]) -> None:
    """Until the raw topic holds ``lines`` lines (the watcher's failure ends the wait too)."""
    reader = asyncio.ensure_future(read_raw(settings, until_lines=lines, deadline_s=180))
    await asyncio.wait({reader, task}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        reader.cancel()
        task.result()
    await reader


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_100k_lines_20_cli_exits_and_a_watcher_restart_exactly_once(
    kafka_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = railway_json_lines(TOTAL, replicas=3)
    log = tmp_path / "api.jsonl"
    log.write_text("\n".join(lines) + "\n")
    monkeypatch.setenv("FAKE_RAILWAY_LOG", str(log))
    monkeypatch.setenv("FAKE_RAILWAY_STATE", str(tmp_path / "state.json"))
    monkeypatch.setenv("FAKE_RAILWAY_EXIT_AFTER", str(TOTAL // (FORCED_EXITS + 5)))
    monkeypatch.setenv("FAKE_RAILWAY_EXITS", str(FORCED_EXITS))
    monkeypatch.setenv("FAKE_RAILWAY_GAP", "250")
    settings = kafka_settings.model_copy(update={"railway_bin": str(RAILWAY_BIN)})
    await ensure_topics(settings)

    first = asyncio.create_task(watch_railway(settings, services=["api"], environment="production"))
    await wait_on_topic(settings, int(TOTAL * 0.4), first)
    await stop(first)  # the watcher restart: flushes, writes its cursor, kills the CLI

    second = asyncio.create_task(watch_railway(settings, services=["api"], environment="production"))
    await wait_on_topic(settings, TOTAL, second)
    await stop(second)

    batches = await read_raw(settings)
    published = [line for batch in batches for line in batch.lines]
    assert len(published) == TOTAL
    assert pairs_of(published) == pairs_of(lines)
    state = orjson.loads((tmp_path / "state.json").read_bytes())
    assert state["exits"] == FORCED_EXITS
    for batch in batches:
        assert batch.source == "railway"
        assert batch.stream.startswith("railway/api/dep-1/rep-")
        assert batch.labels["environment"] == "production"
        assert batch.timestamps_ns is not None
        assert len(batch.timestamps_ns) == len(batch.lines)


STREAMFIX = Path(sys.executable).parent / "streamfix"


@pytest.fixture
def spawned() -> Iterator[list[asyncio.subprocess.Process]]:
    """Watchers started by a test; whatever still runs at the end is killed with its process group."""
    procs: list[asyncio.subprocess.Process] = []
    yield procs
    for proc in procs:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


async def start_cli(settings: Settings, env: dict[str, str], stderr: Path,
                    spawned: list[asyncio.subprocess.Process]) -> asyncio.subprocess.Process:
    with stderr.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            str(STREAMFIX), "watch", "railway", "--service", "api",
            env={**env, "STREAMFIX_BROKER": settings.broker, "STREAMFIX_TOPIC_PREFIX": settings.topic_prefix,
                 "STREAMFIX_LOG_FORMAT": "text", "STREAMFIX_RAILWAY_BIN": str(RAILWAY_BIN)},
            stdout=asyncio.subprocess.DEVNULL, stderr=err, start_new_session=True,
        )
    spawned.append(proc)
    return proc


def log_tail(path: Path) -> str:
    return path.read_text()[-4000:]


async def wait_lines(settings: Settings, lines: int, stderr: Path) -> None:
    try:
        await read_raw(settings, until_lines=lines, deadline_s=90)
    except TimeoutError:
        pytest.fail(f"fewer than {lines} lines on the topic; watcher log:\n{log_tail(stderr)}")


async def test_hard_killed_watcher_resumes_without_duplicates(
    kafka_settings: Settings, tmp_path: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    total = 30_000
    lines = railway_json_lines(total)
    log = tmp_path / "api.jsonl"
    log.write_text("\n".join(lines) + "\n")
    env = {"PATH": os.environ["PATH"], "FAKE_RAILWAY_LOG": str(log), "FAKE_RAILWAY_STATE": str(tmp_path / "state"),
           "FAKE_RAILWAY_EXIT_AFTER": "4000", "FAKE_RAILWAY_EXITS": "5", "FAKE_RAILWAY_GAP": "100",
           "FAKE_RAILWAY_ARGV_LOG": str(tmp_path / "argv.jsonl")}
    stderr = tmp_path / "watcher.log"

    await ensure_topics(kafka_settings)
    first = await start_cli(kafka_settings, env, stderr, spawned)
    await wait_lines(kafka_settings, total // 3, stderr)
    os.killpg(first.pid, signal.SIGKILL)  # the watcher and its railway CLI, no flush, no last cursor
    await first.wait()

    second = await start_cli(kafka_settings, env, stderr, spawned)
    await wait_lines(kafka_settings, total, stderr)
    os.killpg(second.pid, signal.SIGTERM)
    assert await asyncio.wait_for(second.wait(), 30) == 0, log_tail(stderr)

    published = [line for batch in await read_raw(kafka_settings) for line in batch.lines]
    assert pairs_of(published) == pairs_of(lines)
