"""`streamfix kafka up|down|status` against a real broker on its own port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from streamfix.kafka.local import LocalKafka
from streamfix.runtime.settings import Settings

pytestmark = pytest.mark.kafka
REPO_ROOT = Path(__file__).resolve().parents[2]
PORT = int(os.environ.get("STREAMFIX_TEST_KAFKA_CLI_PORT", "19292"))


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMFIX_")}
    env["STREAMFIX_KAFKA_HOME"] = str(REPO_ROOT / ".cache" / "kafka")
    return subprocess.run([sys.executable, "-m", "streamfix", "kafka", *args, "--port", str(PORT)],
                          capture_output=True, text=True, env=env, timeout=180, check=False)


def broker_pids() -> list[int]:
    marker = f"port-{PORT}/server.properties".encode()
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes()
            except OSError:
                continue
            if b"kafka.Kafka" in cmdline and marker in cmdline:
                pids.append(int(proc.name))
    return pids


def test_up_is_idempotent_down_stops_status_tells_the_truth() -> None:
    local = LocalKafka(Settings(kafka_port=PORT, kafka_home=REPO_ROOT / ".cache" / "kafka"))
    local.down()
    stopped = cli("status")
    assert (stopped.returncode, stopped.stdout.strip()) == (3, f"stopped (nothing on 127.0.0.1:{PORT})")
    try:
        first = cli("up")
        assert first.returncode == 0, first.stderr
        assert "answering" in first.stdout
        second = cli("up")
        assert second.returncode == 0 and second.stdout == first.stdout  # same pid: nothing new started
        assert len(broker_pids()) == 1
        running = cli("status")
        assert running.returncode == 0 and running.stdout.startswith(f"running: pid {broker_pids()[0]}")
    finally:
        down = cli("down")
    assert down.stdout.strip() == "stopped"
    assert broker_pids() == []
    after = cli("status")
    assert after.returncode == 3 and after.stdout.startswith("stopped")
    assert cli("down").stdout.strip() == "not running"
