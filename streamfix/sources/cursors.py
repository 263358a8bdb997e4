"""Resume cursors on the compacted ``<prefix>.source-cursors`` topic.

Key ``<source>:<stream>`` (for example ``railway:api@production``), value the JSON of
:class:`~streamfix.core.cursor.Cursor`. Compaction keeps the latest cursor per key, so loading means
reading the single partition from the beginning to its end offset.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from streamfix.core.cursor import Cursor
from streamfix.errors import WireError
from streamfix.kafka import topics
from streamfix.kafka.clients import read_to_end
from streamfix.kafka.wire import RawBatch
from streamfix.runtime.settings import Settings
from streamfix.sources.base import CURSOR_LABEL

log = logging.getLogger(__name__)


async def load_cursors(settings: Settings, prefix: str = "") -> dict[str, Cursor]:
    """Every cursor on the topic whose key starts with ``prefix`` (latest value per key)."""
    out: dict[str, Cursor] = {}
    records = read_to_end(settings.bootstrap_servers, topics.SOURCE_CURSORS.name(settings))
    async with aclosing(records):
        async for record in records:
            key = record.key.decode("utf-8") if record.key else ""
            if key.startswith(prefix):
                if record.value is None:
                    out.pop(key, None)
                else:
                    out[key] = Cursor.from_json(record.value)
    log.info("cursors loaded", extra={"count": len(out), "prefix": prefix})
    return out


class CursorStore:
    """Writes cursors through the publisher (``role="source_cursors"``)."""

    def __init__(self, sender: Any) -> None:
        self._sender = sender
        self.writes = 0

    async def save(self, key: str, cursor: Cursor) -> None:
        fut = await self._sender.send(topics.SOURCE_CURSORS.role, key, cursor.to_json())
        await fut
        self.writes += 1


class MemoryCursorStore:
    """An in-memory store with the same interface, for tests and ``--no-cursor`` runs."""

    def __init__(self, initial: dict[str, Cursor] | None = None) -> None:
        self.cursors: dict[str, Cursor] = dict(initial or {})
        self.writes = 0

    async def save(self, key: str, cursor: Cursor) -> None:
        self.cursors[key] = cursor.copy()
        self.writes += 1


Digests = Callable[[RawBatch], Iterable[tuple[int, str, str]]]
TAIL_RECORDS = 500  # records read back per raw partition a cursor has no offset for


@dataclass(slots=True)
class Resume:
    """Where a watcher resumes after a read-back of the raw topic."""

    cursor: Cursor
    skip: set[tuple[int, str]] = field(default_factory=set)  # lines already published after the cursor
    _first: tuple[int, str] | None = None


RecordVisitor = Callable[[bytes, int, int], None]
"""``visit(value, partition, offset)`` for each raw record read back."""


async def read_back(settings: Settings, cursors: Mapping[str, Cursor | None], visit: RecordVisitor) -> None:
    """Read each raw partition from just after the lowest offset stored with ``cursors`` (the last
    :data:`TAIL_RECORDS` records where one of them has none) to its end, calling ``visit`` on every
    record: what the watchers of those cursors may have published after writing them (a hard kill)."""

    def start_at(partition: int, end: int) -> int:
        known = [c.offsets.get(partition) if c else None for c in cursors.values()]
        if known and all(o is not None for o in known):
            return min(o for o in known if o is not None) + 1
        return end - TAIL_RECORDS

    records = read_to_end(settings.bootstrap_servers, topics.RAW.name(settings), start_at=start_at)
    async with aclosing(records):
        async for record in records:
            if record.value is not None:
                visit(record.value, record.partition, record.offset)


async def recover(
    settings: Settings, wanted: dict[str, Cursor | None], digests: Digests
) -> dict[str, Resume]:
    """Find lines that reached the raw topic after their watcher's cursor was written.

    That happens after a hard kill: a flush was acknowledged (fully, or only on some partitions)
    but its cursor never written. Reads each raw partition from just after the offset stored with
    the cursors (the last :data:`TAIL_RECORDS` records where there is none) to its end and collects
    the lines of batches labelled with one of ``wanted``'s keys that are after that key's cursor.
    The watcher resumes from its stored cursor and drops exactly those lines when they come again,
    so a hole (a batch lost with the process while a later one made it) is filled, not skipped.
    A key without a stored cursor resumes from the first line found for it.
    """
    out = {key: Resume(cursor.copy() if cursor else Cursor()) for key, cursor in wanted.items()}
    await read_back(settings, wanted, lambda value, _partition, _offset: _apply(value, out, digests))
    for key, resume in out.items():
        if resume.skip:
            if not resume.cursor.ts_ns and resume._first is not None:
                resume.cursor = Cursor(resume._first[0], resume._first[1])
            log.warning("lines published after the last cursor were found; they will not be sent again",
                        extra={"lines": len(resume.skip), "key": key})
    return {k: r for k, r in out.items() if r.cursor.ts_ns}


async def lines_published_after(settings: Settings, cursors: dict[str, Cursor]) -> dict[str, int]:
    """How many lines each watcher published after its cursor was written (a hard kill), by key.

    For sources that publish a key's lines in order to one partition with an idempotent producer (the
    file watcher: one stream per file), these are the lines that follow the cursor's position, so
    skipping that many on restart publishes each line once (:func:`read_back`).
    """
    counts = dict.fromkeys(cursors, 0)
    await read_back(settings, cursors, lambda value, partition, offset: _count_lines(
        value, partition, offset, cursors, counts))
    for key, n in counts.items():
        if n:
            log.warning("lines published after the last cursor were found; they will not be sent again",
                        extra={"lines": n, "key": key})
    return counts


def _count_lines(value: bytes, partition: int, offset: int, cursors: dict[str, Cursor],
                 counts: dict[str, int]) -> None:
    try:
        batch = RawBatch.loads(value)
    except WireError:
        return
    key = batch.labels.get(CURSOR_LABEL, "")
    cursor = cursors.get(key)
    if cursor is None:
        return
    stored = cursor.offsets.get(partition)
    if stored is not None and offset > stored:  # the key's stream is on a partition its cursor names
        counts[key] += len(batch.lines)


def _apply(value: bytes | None, out: dict[str, Resume], digests: Digests) -> None:
    if value is None:
        return
    try:
        batch = RawBatch.loads(value)
    except WireError:
        return
    resume = out.get(batch.labels.get(CURSOR_LABEL, ""))
    if resume is None:
        return
    cursor = resume.cursor
    for ts, ts_text, digest in digests(batch):
        if ts > cursor.ts_ns or (ts == cursor.ts_ns and digest not in cursor.hashes):
            resume.skip.add((ts, digest))
            if resume._first is None or ts < resume._first[0]:
                resume._first = (ts, ts_text)
