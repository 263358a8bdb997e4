"""``streamfix watch file`` and ``streamfix watch stdin`` as real processes into the real broker."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from streamfix.kafka.clients import ensure_topics
from streamfix.runtime.settings import Settings
from tests.fakes import read_raw

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]
STREAMFIX = Path(sys.executable).parent / "streamfix"


def write(path: Path, text: str) -> None:
    path.write_text(text)


def cli_env(settings: Settings) -> dict[str, str]:
    return {"PATH": os.environ["PATH"], "STREAMFIX_BROKER": settings.broker,
            "STREAMFIX_TOPIC_PREFIX": settings.topic_prefix, "STREAMFIX_LOG_LEVEL": "WARNING"}


async def test_stdin_publishes_every_line(kafka_settings: Settings) -> None:
    data = "".join(f"stdin line {i}\n" for i in range(12_345)).encode()
    proc = await asyncio.create_subprocess_exec(
        str(STREAMFIX), "watch", "stdin", "--name", "batch-job", env=cli_env(kafka_settings),
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(data), 60)
    assert proc.returncode == 0, err.decode()
    assert out.decode().strip() == "published 12345 lines"
    batches = await read_raw(kafka_settings)
    assert [
        line for b in sorted(batches, key=lambda b: b.seq) for line in b.lines
    ] == data.decode().splitlines()
    assert {b.stream for b in batches} == {"batch-job"}


async def test_file_rotation_truncation_and_restart(kafka_settings: Settings, tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("".join(f"a{i}\n" for i in range(1000)))
    await ensure_topics(kafka_settings)

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            str(STREAMFIX), "watch", "file", str(log), "--interval", "0.02", env=cli_env(kafka_settings),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )

    proc = await start()
    try:
        await follow_through(proc, log, tmp_path, kafka_settings, start)
    finally:
        if proc.returncode is None:
            proc.kill()


async def follow_through(
    proc: asyncio.subprocess.Process,
    log: Path,
    tmp_path: Path,
    kafka_settings: Settings,
    start: Callable[[], Awaitable[asyncio.subprocess.Process]],
) -> None:
    await read_raw(kafka_settings, until_lines=1000)
    os.rename(log, tmp_path / "app.log.1")
    write(log, "".join(f"b{i}\n" for i in range(500)))
    await read_raw(kafka_settings, until_lines=1500)
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()

    with log.open("a") as fh:  # written while no watcher runs
        fh.write("".join(f"c{i}\n" for i in range(200)))
    again = await start()
    try:
        await read_raw(kafka_settings, until_lines=1700)
        again.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(again.communicate(), 30)
        assert again.returncode == 0, err.decode()
    finally:
        if again.returncode is None:
            again.kill()

    lines = [
        line for b in sorted(await read_raw(kafka_settings), key=lambda b: b.sent_at) for line in b.lines
    ]
    assert sorted(lines) == sorted([f"a{i}" for i in range(1000)] + [f"b{i}" for i in range(500)]
                                   + [f"c{i}" for i in range(200)])
