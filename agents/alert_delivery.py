"""The delivery consumer: alerts from ``<prefix>.alerts`` into the delivery table, and a timer that
sends what is due (:mod:`streamfix.alerting.delivery`). An alert is committed to the table before its
offset can be committed, so nothing read is lost; parked deliveries wait in the table across restarts."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from streamfix.alerting.delivery import enqueue
from streamfix.alerting.store import DeliveryStore
from streamfix.errors import WireError
from streamfix.kafka.wire import AlertRecord
from streamfix.runtime.shared import StreamfixApp
from streamfix.services.alert_setup import alert_context, deliverer, store_path

log = logging.getLogger(__name__)


def register(sf: StreamfixApp) -> None:
    settings = sf.settings
    store = DeliveryStore(store_path(settings))
    ctx = sf.state.get("alert_context") or alert_context(settings)
    sender = deliverer(settings, store, ctx.rules)
    sf.state["alert_store"] = store
    lock = asyncio.Lock()  # one delivery pass at a time: a due row is sent by one pass only

    async def deliver() -> None:
        async with lock:
            try:
                await sender.run_once()
            except Exception:  # a bug in one pass must not stop the timer
                log.exception("alert delivery pass failed")

    @sf.app.agent(sf.topics["alerts"], name=f"{settings.app_id}.alert-delivery")
    async def consume(stream: Any) -> None:
        async for value in stream:
            try:
                alert = AlertRecord.from_obj(value)
            except WireError as exc:
                log.warning("bad alert skipped", extra={"reason": exc.reason, "detail": exc.detail})
                continue
            if enqueue(store, alert, sender.channels):
                await deliver()

    sf.app.timer(interval=settings.alert_delivery_interval, name=f"{settings.app_id}.alert-sender")(deliver)
