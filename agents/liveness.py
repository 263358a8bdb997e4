"""Consumer lag and stall recovery for the partitions this worker consumes.

Every few seconds the worker compares the end offset of each input partition it owns with the
consumer group's committed offset. The difference is exported as ``streamfix_consumer_lag_records``.
A partition that has had records waiting without its committed offset moving for
``STREAMFIX_STALL_SECONDS`` is stalled (:mod:`streamfix.core.liveness`): the worker logs it, counts it in
``streamfix_consumer_stalls_total`` and seeks the partition back to its committed offset (its beginning
when the group never committed it), so whatever was lost in flight is read again. Records already
applied are dropped by the idempotent agents, so the counts stay exact.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streamfix import metrics
from streamfix.core.liveness import ProgressTracker

if TYPE_CHECKING:
    from streamfix.app import StreamfixApp

log = logging.getLogger(__name__)


def check_interval(stall_seconds: float) -> float:
    """How often to look: often enough to notice a stall within a quarter of the limit, at most every 10 s."""
    return 10.0 if stall_seconds <= 0 else max(0.5, min(10.0, stall_seconds / 4))


def register(sf: StreamfixApp) -> None:
    settings = sf.settings
    app = sf.app
    tracker = ProgressTracker(stall_seconds=settings.stall_seconds)
    exported: set[tuple[str, str]] = set()
    admin: list[AIOKafkaAdminClient] = []

    async def committed_offsets(tps: list[Any]) -> dict[tuple[str, int], int | None]:
        if not admin:
            client = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers,
                                         request_timeout_ms=int(settings.broker_session_timeout * 1000))
            await client.start()
            admin.append(client)
        offsets = await admin[0].list_consumer_group_offsets(
            app.conf.id, partitions=[TopicPartition(tp.topic, tp.partition) for tp in tps])
        out: dict[tuple[str, int], int | None] = {(tp.topic, tp.partition): None for tp in tps}
        for tp, meta in offsets.items():
            out[(tp.topic, tp.partition)] = meta.offset if meta.offset >= 0 else None
        return out

    async def rewind(tp: Any, committed: int | None) -> None:
        offset = committed
        if offset is None:
            offset = (await app.consumer.earliest_offsets(tp)).get(tp, 0)
        await app.consumer.seek(tp, offset)

    async def check() -> None:
        consumer = app.consumer
        if app.rebalancing or getattr(app, "in_recovery", False):
            tracker.observe(time.monotonic(), {}, {})  # a rebalance starts every clock afresh
            return
        changelogs = app.tables.changelog_topics
        tps = [tp for tp in consumer.assignment() if tp.topic not in changelogs]
        if not tps:
            tracker.observe(time.monotonic(), {}, {})
            return
        try:
            ends = await consumer.highwaters(*tps)
            committed = await committed_offsets(tps)
        except Exception as exc:  # the broker may be restarting; the next check tries again
            log.warning("consumer lag check failed: %s", exc)
            return
        by_key = {(tp.topic, tp.partition): tp for tp in tps}
        report = tracker.observe(time.monotonic(), {(tp.topic, tp.partition): int(ends[tp]) for tp in tps
                                                    if ends.get(tp) is not None}, committed)
        current = set()
        for p in report:
            labels = (p.topic, str(p.partition))
            current.add(labels)
            metrics.CONSUMER_LAG.labels(*labels).set(p.lag)
            if p.stalled:
                log.error("partition %s[%d] stalled: %d records waiting, committed offset unchanged for %.0f s; "
                          "reading it again from the committed offset", p.topic, p.partition, p.lag, p.idle_seconds)
                metrics.CONSUMER_STALLS.labels(topic=p.topic).inc()
                await rewind(by_key[(p.topic, p.partition)], committed.get((p.topic, p.partition)))
                tracker.forget((p.topic, p.partition))  # the rewind gets a full period before it is judged
        for labels in exported - current:
            metrics.CONSUMER_LAG.remove(*labels)
        exported.clear()
        exported.update(current)

    async def close_admin(*_args: Any, **_kwargs: Any) -> None:
        while admin:
            await admin.pop().close()

    app.timer(interval=check_interval(settings.stall_seconds), name=f"{settings.app_id}.liveness")(check)
    app.on_before_shutdown.connect(close_admin)
