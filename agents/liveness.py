"""Delivery order, consumer lag and stall recovery for the partitions this worker consumes.

- **Order.** The ingest and group agents pass every record through :meth:`Liveness.admit`, which
  refuses a record that comes after one never delivered (:class:`~streamfix.core.liveness.OrderGuard`):
  applying it would move an idempotence marker past the lost record. A partition is expected to
  continue at the group's committed offset when the worker first sees it. Blocked partitions are read
  again from the expected offset at the next check. Only with ``at_least_once``: under
  ``exactly_once`` transaction markers occupy offsets, so jumps are normal there.
- **Lag.** Every few seconds the worker compares the end offset of each input partition it owns with the
  group's committed offset and exports the difference as ``streamfix_consumer_lag_records``.
- **Stalls.** A partition that has had records waiting without its committed offset moving for
  ``STREAMFIX_STALL_SECONDS`` is stalled (:class:`~streamfix.core.liveness.ProgressTracker`): the worker
  logs it, counts it in ``streamfix_consumer_stalls_total`` and reads it again from its committed
  offset (its beginning when the group never committed it).

Records read again are dropped by the idempotent agents, so counts stay exact.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from streamfix.core.liveness import OrderGuard, ProgressTracker
from streamfix.kafka.clients import GroupOffsets
from streamfix.runtime import metrics

if TYPE_CHECKING:
    from streamfix.runtime.shared import StreamfixApp

log = logging.getLogger(__name__)


def check_interval(stall_seconds: float) -> float:
    """How often to look: often enough to notice a stall within a quarter of the limit, at most every 10 s."""
    return 10.0 if stall_seconds <= 0 else max(0.5, min(10.0, stall_seconds / 4))


class Liveness:
    """One per worker process (``liveness_for(sf)``); the agents call :meth:`admit`."""

    def __init__(self, sf: StreamfixApp, clock: Callable[[], float] = time.monotonic) -> None:
        self.sf = sf
        self.clock = clock
        self.app = sf.app
        self.tracker = ProgressTracker(stall_seconds=sf.settings.stall_seconds)
        self.guard = OrderGuard() if sf.settings.processing_guarantee == "at_least_once" else None
        settings = sf.settings
        self.offsets = GroupOffsets(settings.bootstrap_servers, settings.app_id,
                                    request_timeout_ms=int(settings.broker_session_timeout * 1000))
        self._exported: set[tuple[str, str]] = set()

    # -- order --------------------------------------------------------------------------------------
    async def admit(self, event: Any) -> bool:
        """Whether the agent may apply this record (False: a record before it was never delivered)."""
        if self.guard is None:
            return True
        tp = event.message.tp
        key = (tp.topic, tp.partition)
        if not self.guard.known(key):
            start = await self._start_offset(tp)
            if start is not None:
                self.guard.start_at(key, start)
        if self.guard.admit(key, int(event.message.offset)):
            return True
        metrics.RECORDS_HELD_BACK.labels(topic=tp.topic).inc()
        return False

    async def _start_offset(self, tp: Any) -> int | None:
        """Where the partition continues: the group's committed offset, else its first offset."""
        try:
            committed = (await self._committed([tp])).get((tp.topic, tp.partition))
            if committed is None:
                committed = (await self.app.consumer.earliest_offsets(tp)).get(tp)
        except Exception as exc:  # unknown: the first record seen is taken as the start
            log.warning("no start offset for %s[%d]: %s", tp.topic, tp.partition, exc)
            return None
        return None if committed is None else int(committed)

    def on_assignment(self, *_args: Any, **_kwargs: Any) -> None:
        """A new assignment: every partition is expected at its committed offset again."""
        if self.guard is not None:
            self.guard.forget_all()

    # -- broker ---------------------------------------------------------------------------------------
    async def _committed(self, tps: list[Any]) -> dict[tuple[str, int], int | None]:
        return await self.offsets.committed((tp.topic, tp.partition) for tp in tps)

    async def close(self, *_args: Any, **_kwargs: Any) -> None:
        await self.offsets.close()

    async def _read_again(self, tp: Any, offset: int | None) -> int:
        """Seek ``tp`` to ``offset`` (its first offset when None, or when retention removed ``offset``)."""
        first = int((await self.app.consumer.earliest_offsets(tp)).get(tp) or 0)
        target = first if offset is None or offset < first else offset
        await self.app.consumer.seek(tp, target)
        return target

    # -- the periodic check ----------------------------------------------------------------------------
    async def check(self) -> None:
        app = self.app
        now = self.clock()
        if app.rebalancing or getattr(app, "in_recovery", False):
            self.tracker.observe(now, {}, {})  # a rebalance starts every clock afresh
            return
        consumer = app.consumer
        changelogs = app.tables.changelog_topics
        tps = [tp for tp in consumer.assignment() if tp.topic not in changelogs]
        by_key = {(tp.topic, tp.partition): tp for tp in tps}
        try:
            await self._unblock(by_key)
            if not tps:
                self.tracker.observe(now, {}, {})
                return
            ends = await consumer.highwaters(*tps)
            committed = await self._committed(tps)
        except Exception as exc:  # the broker may be restarting; the next check tries again
            log.warning("consumer lag check failed: %s", exc)
            return
        report = self.tracker.observe(now, {key: int(ends[tp]) for key, tp in by_key.items()
                                            if ends.get(tp) is not None}, committed)
        current = set()
        for p in report:
            labels = (p.topic, str(p.partition))
            current.add(labels)
            metrics.CONSUMER_LAG.labels(*labels).set(p.lag)
            if p.stalled:
                await self._stalled(p, by_key, committed)
        for labels in self._exported - current:
            metrics.CONSUMER_LAG.remove(*labels)
        self._exported = current

    async def _stalled(self, p: Any, by_key: dict[tuple[str, int], Any],
                       committed: dict[tuple[str, int], int | None]) -> None:
        """Read a stalled partition again from its committed offset."""
        key = (p.topic, p.partition)
        log.error("partition %s[%d] stalled: %d records waiting, committed offset unchanged for %.0f s; "
                  "reading it again from the committed offset", p.topic, p.partition, p.lag, p.idle_seconds)
        metrics.CONSUMER_STALLS.labels(topic=p.topic).inc()
        target = await self._read_again(by_key[key], committed.get(key))
        if self.guard is not None:
            self.guard.start_at(key, target)
        self.tracker.forget(key)  # the rewind gets a full period before it is judged

    async def _unblock(self, by_key: dict[tuple[str, int], Any]) -> None:
        """Read every blocked partition again from the offset its agent expects."""
        if self.guard is None:
            return
        for key, (expected, first_refused) in self.guard.blocked().items():
            tp = by_key.get(key)
            if tp is None:
                self.guard.forget(key)
                continue
            target = await self._read_again(tp, expected)
            if target != expected:
                log.warning("records %d..%d of %s[%d] were removed by retention before they were read",
                            expected, target - 1, key[0], key[1])
                self.guard.start_at(key, target)
            log.warning(
                "%s[%d]: records from %d were never delivered (next delivered: %d); reading them again",
                key[0],
                key[1],
                expected,
                first_refused,
            )
            metrics.CONSUMER_STALLS.labels(topic=key[0]).inc()


def liveness_for(sf: StreamfixApp) -> Liveness:
    """The worker's :class:`Liveness`, created on first use."""
    live = sf.state.get("liveness")
    if live is None:
        live = sf.state["liveness"] = Liveness(sf)
    assert isinstance(live, Liveness)
    return live


def register(sf: StreamfixApp) -> None:
    live = liveness_for(sf)
    app = sf.app
    app.timer(interval=check_interval(sf.settings.stall_seconds), name=f"{sf.settings.app_id}.liveness")(
        live.check
    )
    app.on_partitions_assigned.connect(live.on_assignment)
    app.on_before_shutdown.connect(live.close)
