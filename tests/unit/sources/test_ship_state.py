"""The Loki ship handler's state, as the health route reports it."""

from __future__ import annotations

import asyncio
import logging

from streamfix.runtime.settings import Settings
from streamfix.runtime.shiplogs import LokiShipHandler, installed_shipper, shipping_state


async def test_an_unreachable_loki_shows_as_not_working_with_the_error() -> None:
    handler = LokiShipHandler("http://127.0.0.1:9", labels={}, flush_interval=0.05, timeout=2.0)
    try:
        assert handler.state()["working"] is None  # nothing pushed yet
        handler.emit(logging.makeLogRecord({"msg": "m", "levelname": "INFO"}))
        await asyncio.to_thread(handler.wait_idle, 5.0)
        state = handler.state()
        assert (state["working"], state["records_shipped"], state["records_dropped"]) == (False, 0, 1)
        assert state["last_push_ok_at"] is None and state["last_push_failed_at"] is not None
        assert "ConnectError" in state["last_error"]
    finally:
        handler.close()


def test_the_installed_handler_is_found_on_the_logger() -> None:
    logger = logging.getLogger("streamfix.ship-state-test")
    assert installed_shipper(logger) is None
    assert shipping_state(Settings(loki_enabled=True), None)["active"] is False
    handler = LokiShipHandler("http://127.0.0.1:9", labels={})
    logger.addHandler(handler)
    try:
        assert installed_shipper(logger) is handler
        state = shipping_state(Settings(loki_enabled=True, loki_push_url="http://127.0.0.1:9"), handler)
        assert (state["enabled"], state["push_url_configured"], state["active"]) == (True, True, True)
    finally:
        logger.removeHandler(handler)
        handler.close()
