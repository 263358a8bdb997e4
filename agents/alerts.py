"""The alerts agent: error events and fix results in, alerts out (``<prefix>.alerts``, keyed by
fingerprint). The logic is in :mod:`streamfix.services.alerts`; this module reads and writes the
``alert_state`` table (co-partitioned with both input topics) and publishes.

An alert is published before the state that says it fired is saved, so a crash in between publishes
it again with the same id, which delivery absorbs. Both agents share one lock: a pattern's state is
read, its alerts sent and the state written as one step.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from aiokafka.partitioner import DefaultPartitioner

from streamfix.errors import WireError
from streamfix.kafka.wire import AlertRecord, ErrorEventRecord, FixResult
from streamfix.runtime import metrics
from streamfix.services.alert_setup import alert_context
from streamfix.services.alerts import on_error, on_fix_result, quiet_resolve

if TYPE_CHECKING:
    from streamfix.runtime.app import StreamfixApp

log = logging.getLogger(__name__)


def register(sf: StreamfixApp) -> None:
    import faust

    settings = sf.settings
    ctx = alert_context(settings)
    sf.state["alert_context"] = ctx
    schema: Any = faust.Schema(key_type=str, key_serializer="raw", value_serializer="orjson")
    state = sf.app.Table("alert_state", default=None, partitions=settings.topic_partitions, schema=schema)
    sf.tables["alert_state"] = state
    alerts_topic = sf.topics["alerts"]
    lock = asyncio.Lock()

    async def publish(alerts: list[AlertRecord]) -> None:
        for alert in alerts:
            await (await alerts_topic.send(key=alert.fingerprint.encode(), value=alert.model_dump(mode="json"),
                                           force=True))
            metrics.ALERTS_FIRED.labels(kind=alert.kind).inc()

    @sf.app.agent(sf.topics["errors"], name=f"{settings.app_id}.alerts")
    async def alerts_from_errors(stream: Any) -> None:
        async for value in stream:
            try:
                record = ErrorEventRecord.from_obj(value)
            except WireError:
                continue  # the group agent dead-letters it
            if record.alias_of or record.merged_from:
                continue  # bookkeeping between patterns, not an occurrence
            async with lock:
                new, alerts = on_error(state.get(record.fingerprint), record, ctx, time.time())
                if new is not None:
                    await publish(alerts)
                    state[record.fingerprint] = new

    @sf.app.agent(sf.topics["fix_results"], name=f"{settings.app_id}.alerts-fixes")
    async def alerts_from_fixes(stream: Any) -> None:
        async for value in stream:
            try:
                result = FixResult.from_obj(value)
            except WireError:
                continue  # the fix-results agent counts it
            async with lock:
                new, alerts = on_fix_result(state.get(result.fingerprint), result, ctx, time.time())
                if new is not None:
                    await publish(alerts)
                    state[result.fingerprint] = new

    partitioner = DefaultPartitioner()
    sent: set[str] = set()

    async def sweep() -> None:
        """Resolve incidents of patterns gone quiet, for the partitions this worker owns."""
        errors_name = sf.topic_name("errors")
        owned = {tp.partition for tp in sf.app.assignor.assigned_actives() if tp.topic == errors_name}
        partitions = list(range(settings.topic_partitions))
        now = time.time()
        for fp, value in list(state.items()):
            if not isinstance(value, dict) or partitioner(fp.encode(), partitions, partitions) not in owned:
                continue
            alert = quiet_resolve(value, ctx, now)
            if alert is not None and alert.alert_id not in sent:
                await publish([alert])
                sent.add(alert.alert_id)

    sf.app.timer(interval=max(1.0, min(60.0, settings.alert_resolve_quiet_seconds / 4)),
                 name=f"{settings.app_id}.alerts-sweep")(sweep)
