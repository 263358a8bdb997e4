"""Helpers for integration tests: run a real `streamfix worker` process, read topics."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer

from streamfix.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that makes a child process load these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STREAMFIX_")}
    for name in ("broker", "app_id", "topic_prefix", "topic_partitions", "web_port", "data_dir",
                 "broker_session_timeout", "log_level", "auto_fix_enabled", "processing_guarantee"):
        env[f"STREAMFIX_{name.upper()}"] = str(getattr(settings, name))
    return env


@contextmanager
def running_worker(settings: Settings, log_path: Path, **extra_env: str) -> Iterator[subprocess.Popen[bytes]]:
    env = settings_env(settings) | extra_env
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamfix", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT,
            cwd=REPO_ROOT,
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
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=settings.bootstrap_servers, auto_offset_reset="earliest",
                                enable_auto_commit=False, group_id=None)
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
