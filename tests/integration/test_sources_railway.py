"""``streamfix watch railway`` as a process, against the fake CLI and the real broker.

A log stream is released over time (bursts of 2,000 lines written at once between polls), the
stream drops 20 times, the watcher is killed with SIGKILL once and started again; reading the raw
topic back, every line is there exactly once -- streaming and with ``--interval`` -- and the CLI was
started at most 30 times in any minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from streamfix.kafka.clients import ensure_topics
from streamfix.runtime.settings import Settings
from tests.fakes import RAILWAY_BIN, read_raw
from tests.fakes.railway_data import expected, max_per_minute, published, records, release, spawns

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(600)]

STREAMFIX = Path(sys.executable).parent / "streamfix"
BURST = 2000


@pytest.fixture
def spawned() -> Iterator[list[asyncio.subprocess.Process]]:
    """Watchers started by a test; whatever still runs at the end is killed with its process group."""
    procs: list[asyncio.subprocess.Process] = []
    yield procs
    for proc in procs:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


async def start(settings: Settings, env: dict[str, str], stderr: Path, spawned: list[asyncio.subprocess.Process],
                *args: str) -> asyncio.subprocess.Process:
    with stderr.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            str(STREAMFIX), "watch", "railway", *args,
            env={**env, "STREAMFIX_BROKER": settings.broker, "STREAMFIX_TOPIC_PREFIX": settings.topic_prefix,
                 "STREAMFIX_LOG_FORMAT": "text", "STREAMFIX_RAILWAY_BIN": str(RAILWAY_BIN),
                 "STREAMFIX_DATA_DIR": str(stderr.parent / "data")},
            stdout=asyncio.subprocess.DEVNULL, stderr=err, start_new_session=True,
        )
    spawned.append(proc)
    return proc


def fake_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "FAKE_RAILWAY_LOG": str(tmp_path / "{service}.jsonl"),
            "FAKE_RAILWAY_STATE": str(tmp_path / "state.json"), "FAKE_RAILWAY_ARGV_LOG": str(tmp_path / "argv.jsonl"),
            **extra}


async def wait_lines(settings: Settings, lines: int, stderr: Path, deadline_s: float = 300) -> None:
    try:
        await read_raw(settings, until_lines=lines, deadline_s=deadline_s)
    except TimeoutError:
        tail = await asyncio.to_thread(stderr.read_text)
        pytest.fail(f"fewer than {lines} lines on the topic; watcher log:\n{tail[-4000:]}")


async def release_within_a_second(log: Path, recs: list[dict[str, object]], parts: int = 20) -> None:
    """A burst: ``recs`` appended in ``parts`` writes spread over one second."""
    step = -(-len(recs) // parts)
    for start in range(0, len(recs), step):
        release(log, recs[start:start + step])
        await asyncio.sleep(1.0 / parts)


@pytest.mark.parametrize("mode", ["stream", "interval"])
async def test_bursts_drops_and_a_sigkill_deliver_every_line_exactly_once(
    kafka_settings: Settings, tmp_path: Path, spawned: list[asyncio.subprocess.Process], mode: str
) -> None:
    recs = records(200 + 14 * BURST, seed=11)
    log = tmp_path / "api.jsonl"
    release(log, recs[:200])
    # the stream drops after every 100 lines it prints (its 500-line backlog included), 20 times
    env = fake_env(tmp_path, FAKE_RAILWAY_DROP_EVERY="100", FAKE_RAILWAY_DROPS="20", FAKE_RAILWAY_KEEP="first")
    state = tmp_path / "state.json"
    args = ["--service", "api"] + (["--interval", "3"] if mode == "interval" else ["--verify-every", "3"])
    stderr = tmp_path / "watcher.log"
    await ensure_topics(kafka_settings)

    first = await start(kafka_settings, env, stderr, spawned, *args)
    await wait_lines(kafka_settings, 200, stderr)
    await release_within_a_second(log, recs[200:200 + BURST])
    await wait_lines(kafka_settings, 200 + BURST // 2, stderr)
    os.killpg(first.pid, signal.SIGKILL)  # the watcher and its CLI: no flush, no last cursor
    await first.wait()

    second = await start(kafka_settings, env, stderr, spawned, *args)
    released = 200 + BURST
    for _ in range(3 if mode == "interval" else 13):  # streaming: until the stream dropped 20 times
        await release_within_a_second(log, recs[released:released + BURST])
        released += BURST
        await asyncio.sleep(4)
        if mode == "stream" and await asyncio.to_thread(lambda: '"drops": 20' in state.read_text()):
            break
    recs = recs[:released]
    await wait_lines(kafka_settings, len(recs), stderr, deadline_s=420)
    await asyncio.sleep(7)  # two more rounds find nothing new
    os.killpg(second.pid, signal.SIGTERM)
    assert await asyncio.wait_for(second.wait(), 30) == 0, stderr.read_text()[-4000:]

    batches = await read_raw(kafka_settings)
    assert published(line for b in batches for line in b.lines) == expected(recs)
    assert {b.stream for b in batches} == {"railway/api"}
    runs = spawns(tmp_path / "argv.jsonl")
    assert max_per_minute([float(r["t"]) for r in runs]) <= 30  # type: ignore[arg-type]
    if mode == "stream":
        assert '"drops": 20' in state.read_text()
        assert any(r["tty"] for r in runs)


async def test_idle_watcher_starts_the_cli_once_per_interval(
    kafka_settings: Settings, tmp_path: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    release(tmp_path / "api.jsonl", records(20))
    stderr = tmp_path / "watcher.log"
    await ensure_topics(kafka_settings)
    proc = await start(kafka_settings, fake_env(tmp_path), stderr, spawned, "--service", "api", "--interval", "2")
    await wait_lines(kafka_settings, 20, stderr)
    began = time.time()
    await asyncio.sleep(10)
    os.killpg(proc.pid, signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    times = [float(r["t"]) for r in spawns(tmp_path / "argv.jsonl") if float(r["t"]) >= began]  # type: ignore[arg-type]
    assert 4 <= len(times) <= 6  # 10 s at one start per 2 s


async def test_without_service_three_services_are_three_streams(
    kafka_settings: Settings, tmp_path: Path, spawned: list[asyncio.subprocess.Process]
) -> None:
    names = ["api", "worker", "web"]
    per = {name: records(300, seed=i) for i, name in enumerate(names)}
    for name, recs in per.items():
        release(tmp_path / f"{name}.jsonl", recs)
    env = fake_env(tmp_path, FAKE_RAILWAY_SERVICES=",".join(names))
    stderr = tmp_path / "watcher.log"
    await ensure_topics(kafka_settings)
    proc = await start(kafka_settings, env, stderr, spawned, "--verify-every", "2")
    await wait_lines(kafka_settings, 900, stderr)
    os.killpg(proc.pid, signal.SIGTERM)
    assert await asyncio.wait_for(proc.wait(), 30) == 0
    batches = await read_raw(kafka_settings)
    assert {b.stream for b in batches} == {f"railway/{n}" for n in names}
    for name in names:
        lines = [line for b in batches if b.stream == f"railway/{name}" for line in b.lines]
        assert published(lines) == expected(per[name])
    argvs = [r["argv"] for r in spawns(tmp_path / "argv.jsonl")]
    assert ["status", "--json"] in argvs
