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
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from jsonschema import Draft202012Validator

from streamfix.web.openapi import document
from tests.integration.conftest import free_port

ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
SEVERITIES = {"critical", "high", "medium", "low", "info"}
CATEGORIES = {"provider_error", "database_error", "rate_limit_error", "timeout_error", "auth_error",
              "validation_error", "cache_error", "external_service_error", "internal_error"}
TIME_KEYS = {"timestamp", "first_seen", "last_seen", "created_at", "updated_at", "detected_at"}

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
        for cmd, body in bodies.items():
            _check_body(cmd, body)
        for kind in ("recent", "critical", "fixable"):  # the seed's error objects: keys and value types
            items = next(v for k, v in bodies.items() if f"errors/{kind}" in k)
            assert isinstance(items, list)
            for item in items:
                assert {"timestamp", "severity", "category", "error_type", "message"} <= set(item), item
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground group
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        os.close(master)


def _check_body(cmd: str, body: Any) -> None:
    """The answer matches the route's schema in the OpenAPI document (closed objects: no missing or
    extra keys, ISO 8601 times), and every value the seed shows has the seed's form."""
    method = "post" if "-X POST" in cmd else "get"
    url = next(arg for arg in shlex.split(cmd) if arg.startswith("http"))
    doc = document()
    path = urlsplit(url).path
    for template, operations in doc["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
        if method in operations and re.fullmatch(pattern, path):
            operation = operations[method]
            break
    else:
        raise AssertionError(f"{cmd}: {path} is not in the OpenAPI document")
    ok = next(r for code, r in operation["responses"].items() if code.startswith("2"))
    schema = ok["content"]["application/json"]["schema"]
    errors = sorted(Draft202012Validator({**schema, "components": doc["components"]}).iter_errors(body),
                    key=str)
    assert not errors, f"{cmd}: {errors[0].message} at {list(errors[0].absolute_path)}"
    for key, value in _walk(body):
        if key in TIME_KEYS and value is not None:
            assert isinstance(value, str) and ISO_UTC.fullmatch(value), f"{cmd}: {key}={value!r}"
        if key == "severity":
            assert value in SEVERITIES, f"{cmd}: severity={value!r}"
        if key == "category" and value is not None:
            assert value in CATEGORIES, f"{cmd}: category={value!r}"


def _walk(value: Any) -> Any:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield key, inner
            yield from _walk(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _walk(inner)


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
