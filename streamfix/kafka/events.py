"""Faust's "current event" for work finished after the agent has moved on.

A Faust table write goes to the changelog partition of the event being processed (Faust reads it from a
context variable that the stream iterator sets). The ingest agent finishes a raw batch (writes its
stream's marker) after it has started on later ones, so it names the batch's own event while it writes:
:func:`current` sets the same context variable Faust's stream iterator sets, for the ``with`` block only.

The group and alerts agents take records in batches (:data:`TAKE_MAX`, :data:`TAKE_SECONDS`) and see their
tables through :class:`Coalesced`, which writes each key once per batch: a changelog record costs the
worker and the broker far more than the table update behind it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Hashable, Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from faust.streams import _current_event, current_event


@contextmanager
def current(event: Any) -> Iterator[None]:
    """Table writes inside the block go to ``event``'s changelog partition (None: no current event)."""
    token = _current_event.set(None if event is None else weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


TAKE_MAX = 500
"""At most this many records an agent takes from its stream in one batch (see :class:`Coalesced`)."""
TAKE_SECONDS = 0.1
"""How long an agent waits for more records before it works on the ones it has (its added latency).
100 ms rather than 20: at 0.5k error events/s a batch holds ~50 records instead of ~10, so a busy
pattern's state is written about once per eight of its records instead of once per one or two
(``docs/benchmarks.md``, seventh pass); p99 detection latency at 10k lines/s 148-186 ms, budget 2 s."""


class Coalesced(MutableMapping[str, Any]):
    """A Faust table seen by one batch of records: each key is written to the table once, at :meth:`flush`.

    Reads see the batch's own writes. A key's value reaches the table, and so its changelog, under the
    event that wrote it last (a table key lives in the changelog partition of the records that carry
    it), so a batch in which one pattern occurs 50 times sends one changelog record, not 50. The agent
    flushes before it acknowledges the batch, so a crash before then reads the whole batch again.
    """

    def __init__(self, table: MutableMapping[str, Any]) -> None:
        self.table = table
        self.pending: dict[str, tuple[Any, Any]] = {}

    def __getitem__(self, key: str) -> Any:
        if key in self.pending:
            return self.pending[key][0]
        return self.table[key]

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.pending:
            return self.pending[key][0]
        return self.table.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self.pending or key in self.table

    def __setitem__(self, key: str, value: Any) -> None:
        self.pending[key] = (value, current_event())

    def __delitem__(self, key: str) -> None:
        raise TypeError("a coalesced table does not delete keys")

    def __iter__(self) -> Iterator[str]:
        yield from self.pending
        yield from (key for key in self.table if key not in self.pending)

    def __len__(self) -> int:
        return len(self.table) + sum(1 for key in self.pending if key not in self.table)

    def flush(self) -> int:
        """Write every pending key to the table (under its event); returns how many."""
        return _write_each(self.pending, self.table.__setitem__)


class CoalescedCounts:
    """A windowed count table (``current(key)``/``put(key, value)``) seen by one batch of records.

    As :class:`Coalesced`, per key and window: ``window()`` names the window of the record being applied
    (the table's own window ranges of its time), so records of one key in two windows stay two writes.
    """

    def __init__(self, counts: Any, window: Callable[[], Hashable]) -> None:
        self.counts = counts
        self.window = window
        self.pending: dict[tuple[str, Hashable], tuple[Any, Any]] = {}

    def current(self, key: str) -> Any:
        slot = (key, self.window())
        if slot in self.pending:
            return self.pending[slot][0]
        return self.counts.current(key)

    def put(self, key: str, value: Any) -> None:
        self.pending[(key, self.window())] = (value, current_event())

    def flush(self) -> int:
        """Write every pending count to the table (under its event, so in its window); returns how many."""
        return _write_each(self.pending, lambda slot, value: self.counts.put(slot[0], value))


def _write_each(pending: dict[Any, tuple[Any, Any]], write: Callable[[Any, Any], None]) -> int:
    """``write(key, value)`` for every pending ``key: (value, event)``, under its event; then empty it."""
    for key, (value, event) in pending.items():
        with current(event):
            write(key, value)
    written = len(pending)
    pending.clear()
    return written
