"""The group agent: folds error events into patterns, counts them per window, triggers fixes.

Consumes the errors topic (keyed by fingerprint), so each pattern is owned by exactly one worker.
The work is :func:`streamfix.services.grouping.group_event`, record by record; records are taken in
batches, and a batch writes each pattern and window count once (:class:`streamfix.kafka.events.Coalesced`).
"""

from __future__ import annotations

import logging
from typing import Any

from agents.liveness import liveness_for
from streamfix.core.records import PATTERNS, Pattern
from streamfix.errors import WireError
from streamfix.kafka.events import TAKE_MAX, TAKE_SECONDS, Coalesced, CoalescedCounts, current
from streamfix.kafka.publish import TopicPublisher
from streamfix.runtime.shared import StreamfixApp
from streamfix.services.deadletter import dead_letter_sender, value_bytes
from streamfix.services.grouping import GroupConfig, GroupTables, archive_sweep, group_event

log = logging.getLogger(__name__)


class FaustWindowCounts:
    """The ``counts`` windowed table seen as :class:`streamfix.services.grouping.WindowCounts`."""

    def __init__(self, table: Any) -> None:
        self.table = table

    def current(self, fingerprint: str) -> dict[str, Any] | None:
        value: dict[str, Any] | None = self.table[fingerprint].current()
        return value

    def put(self, fingerprint: str, value: dict[str, Any]) -> None:
        self.table[fingerprint] = value

    def window(self) -> tuple[Any, ...]:
        """The window ranges a write made now goes to (those of the current event's time)."""
        return tuple(self.table.table._window_ranges(self.table.get_timestamp()))


def _pattern(value: Any) -> Pattern:
    return value if isinstance(value, Pattern) else PATTERNS.decode(value)


def register(sf: StreamfixApp) -> None:
    config = GroupConfig.from_settings(sf.settings)
    counts = FaustWindowCounts(sf.tables["counts"])
    tables = GroupTables(sf.tables["patterns"], sf.tables["fix_state"], counts)
    out = TopicPublisher(sf.topics)
    dead_letter = dead_letter_sender(out, sf.topic_name("errors"), "group")
    live = liveness_for(sf)

    patterns = sf.tables["patterns"]

    async def sweep() -> None:  # this worker's partitions (and standbys: the owner checks again)
        await archive_sweep((_pattern(v) for v in list(patterns.values()) if v is not None), config, out)

    every = sf.settings.pattern_archive_sweep_seconds
    sf.app.timer(interval=every, name=f"{sf.settings.app_id}.archive")(sweep)

    async def one(event: Any, batch: GroupTables) -> None:
        if not await live.admit(event):  # an earlier record was never delivered: read again first
            return
        try:
            await group_event(event.value, batch, config, out)
        except Exception as exc:  # one bad record must never stop the agent
            if not isinstance(exc, WireError):
                log.exception("error event could not be processed")
            reason = exc.reason if isinstance(exc, WireError) else "processing_error"
            where = int(event.message.partition), int(event.message.offset)
            await dead_letter(reason, str(exc), *where, event.key, value_bytes(event.value))

    @sf.app.agent(sf.topics["errors"], name=f"{sf.settings.app_id}.group")
    async def group(stream: Any) -> None:
        async for events in stream.take_events(TAKE_MAX, within=TAKE_SECONDS):
            written = Coalesced(tables.patterns)  # each pattern and window count written once per batch
            counted = CoalescedCounts(counts, counts.window)
            batch = GroupTables(written, tables.fix_state, counted)
            try:
                for event in events:
                    with current(event):
                        await one(event, batch)
            finally:
                written.flush()
                counted.flush()
