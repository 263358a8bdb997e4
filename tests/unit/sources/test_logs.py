"""streamfix's own logs: JSON with trace ids, redaction, and shipping to (the fake) Loki."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from streamfix.runtime import metrics
from streamfix.runtime.logs import configure_logging, trace
from streamfix.runtime.settings import Settings
from streamfix.runtime.shiplogs import LokiShipHandler
from tests.fakes.loki_server import FakeLoki

log = logging.getLogger("streamfix.test")


@pytest.fixture(autouse=True)
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def test_json_lines_carry_trace_id_and_fields() -> None:
    out = io.StringIO()
    configure_logging(Settings(log_format="json"), process="unit", stream=out)
    with trace("abc123"):
        log.info("hello %s", "world", extra={"lines": 3})
    log.warning("outside")
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first["message"] == "hello world"
    assert first["trace_id"] == "abc123"
    assert first["process"] == "unit"
    assert first["lines"] == 3
    assert first["level"] == "INFO"
    assert first["logger"] == "streamfix.test"
    assert second["trace_id"] == ""
    assert not any(key.startswith("_") for key in first)


def test_secrets_never_reach_the_output() -> None:
    out = io.StringIO()
    settings = Settings(loki_token=SecretStr("tok-very-secret-1"), github_token=SecretStr("plainvalue99"))
    configure_logging(settings, stream=out)
    log.info("token is tok-very-secret-1", extra={"header": "Bearer abcdefghijklmnop", "gh": "plainvalue99"})
    log.info("url http://user:hunter2@loki:3100 and sk-ant-api03-abcdefghijkl and password=letmein1")
    try:
        raise ValueError("ghp_" + "a" * 36)
    except ValueError:
        log.exception("failed")
    text = out.getvalue()
    for secret in (
        "tok-very-secret-1",
        "plainvalue99",
        "abcdefghijklmnop",
        "hunter2",
        "sk-ant-api03",
        "letmein1",
        "ghp_aaaa",
    ):
        assert secret not in text
    assert text.count("[REDACTED]") >= 7


async def test_shipping_batches_gzip_and_counts_drops_while_loki_is_down() -> None:
    async with FakeLoki() as loki:
        handler = LokiShipHandler(loki.url, labels={"app": "streamfix"}, flush_interval=0.05, queue_size=1000)
        handler.setFormatter(logging.Formatter("%(message)s"))
        ship = logging.getLogger("streamfix.ship-test")
        ship.addHandler(handler)
        ship.propagate = False
        try:
            for i in range(5):
                ship.warning("record %d", i)
            await asyncio.to_thread(handler.wait_idle, 5.0)
            lines = [e[3] for e in loki.entries]
            assert lines == [f"record {i}" for i in range(5)]
            assert all(isinstance(v[0], str) for s in loki.pushed for v in s["values"])
            assert loki.pushed[0]["stream"] == {"app": "streamfix", "level": "warning"}
            assert loki.push_requests[0]["Content-Encoding"] == "gzip"

            before = metrics.REGISTRY.get_sample_value("streamfix_log_ship_dropped_total") or 0.0
            loki.push_status = 503
            for i in range(4):
                ship.error("lost %d", i)
            await asyncio.to_thread(handler.wait_idle, 5.0)
            after = metrics.REGISTRY.get_sample_value("streamfix_log_ship_dropped_total") or 0.0
            assert after - before == 4
            assert handler.dropped == 4
        finally:
            ship.removeHandler(handler)
            await asyncio.to_thread(handler.close)


def test_full_queue_drops_without_blocking() -> None:
    handler = LokiShipHandler("http://127.0.0.1:9", labels={}, queue_size=2, flush_interval=60)
    try:
        for i in range(50):
            handler.emit(logging.makeLogRecord({"msg": f"m{i}", "levelname": "INFO"}))
        assert handler.dropped >= 45
    finally:
        handler.close()
