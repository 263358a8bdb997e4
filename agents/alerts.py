"""The alerts agent: error events and fix results in, alerts out (``<prefix>.alerts``, keyed by
fingerprint). The logic is in :mod:`streamfix.services.alerts`; this module reads and writes the
``alert_state`` table (co-partitioned with both input topics) and publishes.

An alert is published before the state that says it fired is saved, so a crash in between publishes
it again with the same id, which delivery absorbs. Both agents share one lock: a pattern's state is
read, its alerts sent and the state written as one step. Error events are taken in batches, one step
each, and a batch writes each pattern's state once (:class:`streamfix.kafka.events.Coalesced`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from streamfix.errors import WireError
from streamfix.kafka.clients import stream_partition
from streamfix.kafka.events import TAKE_MAX, TAKE_SECONDS, Coalesced, current
from streamfix.kafka.publish import TopicPublisher
from streamfix.kafka.wire import AlertRecord, ErrorEventRecord, FixResult
from streamfix.runtime import metrics
from streamfix.runtime.logs import trace
from streamfix.runtime.shared import StreamfixApp
from streamfix.services.alert_setup import alert_context
from streamfix.services.alerts import on_error, on_fix_result, quiet_resolves
from streamfix.services.convert import event_trace_id

log = logging.getLogger(__name__)


def register(sf: StreamfixApp) -> None:
    settings = sf.settings
    ctx = alert_context(settings)
    sf.state["alert_context"] = ctx
    state = sf.tables["alert_state"]
    publish = _publisher(TopicPublisher(sf.topics))
    lock = asyncio.Lock()

    async def step(fingerprint: str, decide: Any, trace_id: str | None) -> None:
        """Read the pattern's state, publish what fires, then save the state: one step under the lock."""
        with trace(trace_id):  # the record's trace id on what is logged for it
            await _locked(lock, state, publish, fingerprint, decide)

    @sf.app.agent(sf.topics["errors"], name=f"{settings.app_id}.alerts")
    async def alerts_from_errors(stream: Any) -> None:
        async for events in stream.take_events(TAKE_MAX, within=TAKE_SECONDS):
            async with lock:  # the batch is one step: each pattern's state is written once, at the end
                batch = Coalesced(state)
                try:
                    for event in events:
                        with current(event):
                            await _on_error(event.value, batch, publish, ctx)
                finally:
                    batch.flush()

    @sf.app.agent(sf.topics["fix_results"], name=f"{settings.app_id}.alerts-fixes")
    async def alerts_from_fixes(stream: Any) -> None:
        async for value in stream:
            try:
                result = FixResult.from_obj(value)
            except WireError:
                continue  # the fix-results agent counts it
            await step(result.fingerprint, lambda cur, r=result: on_fix_result(cur, r, ctx, time.time()),
                       result.trace_id)

    sf.app.timer(
        interval=max(1.0, min(60.0, settings.alert_resolve_quiet_seconds / 4)),
        name=f"{settings.app_id}.alerts-sweep",
    )(_sweeper(sf, state, ctx, publish))


async def _on_error(value: Any, state: Any, publish: Any, ctx: Any) -> None:
    try:
        record = ErrorEventRecord.from_obj(value)
    except WireError:
        return  # the group agent dead-letters it
    if record.alias_of or record.merged_from:
        return  # bookkeeping between patterns, not an occurrence
    with trace(event_trace_id(record)):  # the record's trace id on what is logged for it
        await _decide(state, publish, record.fingerprint, lambda cur: on_error(cur, record, ctx, time.time()))


async def _locked(lock: asyncio.Lock, state: Any, publish: Any, fingerprint: str, decide: Any) -> None:
    async with lock:
        await _decide(state, publish, fingerprint, decide)


async def _decide(state: Any, publish: Any, fingerprint: str, decide: Any) -> None:
    """Read the pattern's state, publish what fires, then save the state."""
    new, alerts = decide(state.get(fingerprint))
    if new is not None:
        await publish(alerts)
        state[fingerprint] = new


def _publisher(out: TopicPublisher) -> Callable[[list[AlertRecord]], Awaitable[None]]:
    async def publish(alerts: list[AlertRecord]) -> None:
        for alert in alerts:
            await out.send_and_wait("alerts", alert.fingerprint, alert)
            metrics.ALERTS_FIRED.labels(kind=alert.kind).inc()

    return publish


def _sweeper(sf: StreamfixApp, state: Any, ctx: Any, publish: Any) -> Any:
    """The timer that resolves incidents of patterns gone quiet, for the partitions this worker owns
    (a resolve is sent once per process; its id makes a repeat after a restart harmless)."""
    partitions = list(range(sf.settings.topic_partitions))
    sent: set[str] = set()

    async def sweep() -> None:
        errors_name = sf.topic_name("errors")
        owned = {tp.partition for tp in sf.app.assignor.assigned_actives() if tp.topic == errors_name}

        def mine(fingerprint: str) -> bool:
            return stream_partition(fingerprint, len(partitions)) in owned

        for alert in quiet_resolves(list(state.items()), mine, ctx, time.time()):
            if alert.alert_id in sent:
                continue
            await publish([alert])
            sent.add(alert.alert_id)

    return sweep
