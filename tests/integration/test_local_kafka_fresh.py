"""A fresh broker home formats and starts every time, and Kafka's console tools run against it."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from streamfix.kafka.local import LocalKafka, kafka_version
from streamfix.runtime.settings import Settings

pytestmark = pytest.mark.kafka
REPO_ROOT = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("STREAMFIX_TEST_KAFKA_FRESH_PORT", "19296"))
FRESH_RUNS = int(os.environ.get("STREAMFIX_TEST_KAFKA_FRESH_RUNS", "20"))


def cli(home: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMFIX_")}
    env["STREAMFIX_KAFKA_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "streamfix", "kafka", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def fresh_home(tmp: Path, run: int) -> Path:
    """A new home whose only content is the resolved jar cache (resolving is tested once, formatting
    every run)."""
    shared = LocalKafka(Settings(kafka_home=REPO_ROOT / ".cache" / "kafka")).resolve()
    home = tmp / f"home-{run}"
    home.mkdir()
    (home / f"lib-{kafka_version()}").symlink_to(shared, target_is_directory=True)
    return home


@pytest.mark.slow
@pytest.mark.timeout(90 * FRESH_RUNS)
def test_up_on_a_fresh_home_succeeds_every_time(tmp_path: Path) -> None:
    outcomes = []
    for run in range(FRESH_RUNS):
        home = fresh_home(tmp_path, run)
        try:
            up = cli(home, "up", "--port", str(PORT))
            outcomes.append((run, up.returncode, (up.stdout + up.stderr).strip()[-300:]))
            assert (home / f"port-{PORT}" / "data" / "meta.properties").exists()
        finally:
            cli(home, "down", "--port", str(PORT))
            shutil.rmtree(home / f"port-{PORT}", ignore_errors=True)
    failed = [o for o in outcomes if o[1] != 0]
    assert not failed, failed
    assert len(outcomes) == FRESH_RUNS


def test_console_consumer_reads_a_topic(tmp_path: Path) -> None:
    home = fresh_home(tmp_path, 0)
    topic = "console-tools-check"
    try:
        up = cli(home, "up", "--port", str(PORT))
        assert up.returncode == 0, up.stderr
        created = cli(home, "topics", "--port", str(PORT), "--create", "--topic", topic, "--partitions", "1")
        assert created.returncode == 0, created.stderr

        async def produce() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=f"127.0.0.1:{PORT}")
            await producer.start()
            try:
                for n in range(3):
                    await producer.send_and_wait(topic, value=f"line {n}".encode(), key=b"k")
            finally:
                await producer.stop()

        asyncio.run(produce())
        read = cli(
            home,
            "console-consumer",
            "--port",
            str(PORT),
            topic,
            "--from-beginning",
            "--max-messages",
            "3",
            "--timeout-ms",
            "60000",
        )
        assert read.returncode == 0, read.stderr
        assert read.stdout.splitlines() == ["line 0", "line 1", "line 2"]
    finally:
        cli(home, "down", "--port", str(PORT))
