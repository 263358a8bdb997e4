"""Running streamfix processes (a worker, the per-line baseline) from the demo, benchmarks and tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from streamfix.runtime.settings import Settings

PASSED_SETTINGS = (
    "broker", "app_id", "topic_prefix", "topic_partitions", "web_port", "data_dir", "broker_session_timeout",
    "log_level", "auto_fix_enabled", "processing_guarantee", "assembly_quiet_seconds",
    "stall_seconds",
)
WORKER = ("-m", "streamfix", "worker")


def settings_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that makes a child process load ``settings`` (other STREAMFIX_* variables dropped)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMFIX_")}
    for name in PASSED_SETTINGS:
        env[f"STREAMFIX_{name.upper()}"] = str(getattr(settings, name))
    env.update(extra)
    return env


@contextmanager
def running(settings: Settings, log_path: Path, args: Sequence[str] = WORKER, *, cwd: Path | None = None,
            **extra_env: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``python <args>`` with ``settings``; on exit, SIGTERM it (SIGKILL after 30 s) unless it ended."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        proc = subprocess.Popen(  # the interpreter and module are ours
            [sys.executable, *args], env=settings_env(settings, **extra_env), stdout=log,
            stderr=subprocess.STDOUT, cwd=cwd,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
