"""The health route's source and Loki shipping reports."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any

from streamfix.kafka.wire import RawBatch
from streamfix.runtime.shiplogs import LokiShipHandler
from streamfix.services.sourcestate import SourceRegistry, source_registry
from tests.fakes.loki_server import FakeLoki

from .conftest import NOW, ApiFactory
from .schema import validate

P = "/error-monitor"


def raw(source: str, lines: int, newest: float | None, sent_at: float = NOW - 1) -> RawBatch:
    stamps = None if newest is None else [int((newest - lines + 1 + i) * 1e9) for i in range(lines)]
    return RawBatch(batch_id=f"{source}:{newest}", source=source, stream=f"{source}:api", lines=["x"] * lines,
                    timestamps_ns=stamps, sent_at=sent_at)


async def health(api: Any) -> dict[str, Any]:
    resp = await api.client.get(f"{P}/health")
    assert resp.status == 200
    body: dict[str, Any] = await resp.json()
    validate(body, f"{P}/health", "get", 200)
    return body


async def test_sources_report_configuration_last_line_and_lag(make_api: ApiFactory) -> None:
    api = await make_api(loki_url="http://loki:3100", loki_query='{app="api"}',
                         railway_bin="/nonexistent/railway")
    seen = source_registry(api.sf.state)
    seen.record(raw("loki", 3, NOW - 40), now=NOW - 38)  # arrived 2 s after its newest line
    seen.record(raw("loki", 2, NOW - 50), now=NOW - 30)  # an older line later: the newest stays
    seen.record(raw("replay", 4, None, sent_at=NOW - 20), now=NOW - 19)  # no line timestamps: sent_at
    seen.record(RawBatch(batch_id="t", source="tick", stream="s", lines=[], sent_at=NOW), now=NOW)
    body = await health(api)
    assert set(body["sources"]) == {"railway", "loki", "replay"}
    assert body["sources"]["railway"] == {
        "configured": False, "seen": False, "batches": 0, "lines": 0, "last_line_seen": None,
        "last_line_seen_epoch": None, "last_batch_received": None, "lag_seconds": None,
        "last_line_age_seconds": None}
    loki = body["sources"]["loki"]
    assert (loki["configured"], loki["seen"], loki["batches"], loki["lines"]) == (True, True, 2, 5)
    assert loki["last_line_seen"] == "2025-11-28T09:59:20.000Z" and loki["last_line_seen_epoch"] == NOW - 40
    assert (loki["lag_seconds"], loki["last_line_age_seconds"]) == (20.0, 40.0)
    assert loki["last_batch_received"] == "2025-11-28T09:59:30.000Z"
    replay = body["sources"]["replay"]
    assert (replay["configured"], replay["lines"], replay["lag_seconds"]) == (None, 4, 1.0)
    assert body["status"] == "healthy" and body["monitoring_enabled"] is True


async def test_railway_is_configured_when_its_cli_is_found_and_loki_needs_url_and_query(
    make_api: ApiFactory,
) -> None:
    api = await make_api(railway_bin=sys.executable, loki_url="http://loki:3100")
    sources = (await health(api))["sources"]
    assert (sources["railway"]["configured"], sources["loki"]["configured"]) == (True, False)


def test_the_registry_stays_bounded_by_source_kind() -> None:
    seen = SourceRegistry(max_kinds=2)
    for kind in ("a", "b", "c", "d"):
        seen.record(raw(kind, 1, NOW), now=NOW)
    assert {k: v.batches for k, v in seen.kinds.items()} == {"a": 1, "b": 1, "other": 2}


async def test_loki_shipping_off(make_api: ApiFactory) -> None:
    api = await make_api()
    assert (await health(api))["loki_shipping"] == {
        "enabled": False, "push_url_configured": False, "active": False, "working": None,
        "records_shipped": 0, "records_dropped": 0, "last_push_ok": None, "last_push_failed": None,
        "last_error": None}


async def test_loki_shipping_reports_pushes_and_the_last_failure(make_api: ApiFactory) -> None:
    async with FakeLoki() as loki:
        api = await make_api(loki_enabled=True, loki_push_url=loki.url)
        handler = LokiShipHandler(loki.url, labels={"app": "streamfix"}, flush_interval=0.05)
        handler.setFormatter(logging.Formatter("%(message)s"))
        root = logging.getLogger()
        others = [h for h in root.handlers if isinstance(h, LokiShipHandler)]
        for other in others:
            root.removeHandler(other)
        root.addHandler(handler)  # as configure_logging installs it; records go to it directly

        def ship(message: str) -> None:
            handler.emit(logging.makeLogRecord({"msg": message, "levelname": "WARNING"}))

        try:
            ship("shipped")
            await asyncio.to_thread(handler.wait_idle, 5.0)
            state = (await health(api))["loki_shipping"]
            assert (state["enabled"], state["active"], state["working"]) == (True, True, True)
            assert state["records_shipped"] >= 1 and state["last_push_ok"].endswith("Z")
            loki.push_status = 503
            ship("lost")
            await asyncio.to_thread(handler.wait_idle, 5.0)
            state = (await health(api))["loki_shipping"]
            assert state["working"] is False and state["records_dropped"] >= 1
            assert state["last_error"].startswith("HTTP 503") and state["last_push_failed"] is not None
            loki.push_status = 204
            ship("back")
            await asyncio.to_thread(handler.wait_idle, 5.0)
            assert (await health(api))["loki_shipping"]["working"] is True
        finally:
            root.removeHandler(handler)
            for other in others:
                root.addHandler(other)
            await asyncio.to_thread(handler.close)
