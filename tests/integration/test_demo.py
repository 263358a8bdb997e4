"""``streamfix demo`` in a terminal: it keeps a worker serving, and the commands it prints work as printed."""

from __future__ import annotations

import os
import pty
import re
import select
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from tests.integration.conftest import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _read_until(fd: int, marker: bytes, timeout: float) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while marker not in out:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(
                f"no {marker!r} within {timeout} s; output so far:\n{out.decode(errors='replace')}"
            )
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    return out


def test_demo_in_a_terminal_serves_until_ctrl_c(kafka_broker: str, tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMFIX_")}
    env.update(
        STREAMFIX_BROKER=kafka_broker,
        STREAMFIX_WEB_PORT=str(port),
        STREAMFIX_DATA_DIR=str(tmp_path / "data"),
        STREAMFIX_BROKER_SESSION_TIMEOUT="10",
    )
    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamfix", "demo"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=tmp_path,
        start_new_session=True,
    )
    os.close(slave)
    try:
        text = _read_until(master, b"Press Ctrl-C", timeout=240).decode(errors="replace").replace("\r", "")
        commands = [line.strip() for line in text.splitlines() if line.startswith("  curl ")]
        assert any("/health" in c for c in commands)
        assert any("errors/recent?hours=1" in c for c in commands)
        assert any(c.startswith("curl -X POST") for c in commands)
        bodies: dict[str, object] = {}
        for cmd in commands:
            # the command exactly as printed, with curl's own options to report the status after it
            args = [*shlex.split(cmd), "-s", "-o", str(tmp_path / "body"), "-w", "%{http_code}"]
            status = subprocess.run(args, capture_output=True, text=True, timeout=30, check=True).stdout
            assert re.fullmatch(r"2\d\d", status), f"{cmd} -> {status}: {(tmp_path / 'body').read_text()}"
            bodies[cmd] = orjson.loads((tmp_path / "body").read_bytes())
        recent = next(v for k, v in bodies.items() if "errors/recent" in k)
        assert isinstance(recent, list) and recent, "the replayed errors are recent"
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground group
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)


def test_demo_without_a_terminal_prints_and_exits(kafka_broker: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMFIX_")}
    env.update(
        STREAMFIX_BROKER=kafka_broker,
        STREAMFIX_WEB_PORT=str(free_port()),
        STREAMFIX_DATA_DIR=str(tmp_path / "data"),
        STREAMFIX_BROKER_SESSION_TIMEOUT="10",
    )
    done = subprocess.run(
        [sys.executable, "-m", "streamfix", "demo"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert "FINGERPRINT" in done.stdout
    assert "Press Ctrl-C" not in done.stdout
