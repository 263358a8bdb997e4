"""Redelivered raw batches, recognised by ``batch_id`` within a bounded window per stream.

A producer that retries without idempotence, a watcher that resends after a lost acknowledgement, or
a repeated backfill puts the same batch on the raw topic again, at another offset and possibly minutes
later. The ingest agent keeps, inside each stream's assembly state, the ids of the stream's recent
batches (:func:`remember`) and drops a batch whose id is among them (:func:`seen`).

The memory per stream is bounded two ways (:class:`DedupeWindow`): ids of batches published more than
``seconds`` before the newest one of the stream are forgotten, and at most ``max_ids`` ids are kept.
A redelivery older than that window counts again. Ids are kept as 64-bit BLAKE2b digests, so a long
``batch_id`` costs the same 16 characters as a short one.

Both run for every raw batch. A window that :func:`remember` built itself (a :class:`Window`: pairs
in order of ``sent_at``, and a count of each digest) is checked in constant time and extended by
copying references; any other window (read back from the changelog, or out of order) takes the
entry-by-entry path, which defines the result and builds a :class:`Window` again when it can.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

Recent = list[list[Any]]  # [[digest, sent_at], ...], oldest first (JSON in the changelog)


class Window(list[list[Any]]):
    """A window as :func:`remember` returns it: ``[str, float]`` pairs with ``sent_at`` never decreasing,
    and ``ids``, how often each digest occurs. It is a list, so it is written to the changelog as one;
    read back it is a plain list again."""

    __slots__ = ("ids",)

    def __init__(self, entries: Sequence[list[Any]], ids: dict[str, int] | None = None) -> None:
        super().__init__(entries)
        if ids is None:
            ids = {}
            for entry in entries:
                ids[entry[0]] = ids.get(entry[0], 0) + 1
        self.ids = ids


@dataclass(frozen=True, slots=True)
class DedupeWindow:
    seconds: float = 900.0
    max_ids: int = 256


def digest(batch_id: str) -> str:
    return hashlib.blake2b(batch_id.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def seen(recent: Sequence[Sequence[Any]] | None, batch_id: str) -> bool:
    """Whether a batch with this id is among the stream's remembered batches."""
    if not recent:
        return False
    wanted = digest(batch_id)
    if type(recent) is Window:
        return wanted in recent.ids
    return any(entry and entry[0] == wanted for entry in recent)


def remember(recent: Sequence[Sequence[Any]] | None, batch_id: str, sent_at: float,
             window: DedupeWindow) -> Recent:
    """The remembered ids after applying a batch: this one added, those outside the window dropped."""
    if window.max_ids <= 0:
        return []
    entry = [digest(batch_id), float(sent_at)]
    if (type(recent) is Window and recent and recent[-1][1] <= entry[1]
            and entry[1] - recent[0][1] <= window.seconds):
        # the usual case: the stream's newest batch, and nothing of the window is too old for it
        return _extended(recent, entry, window.max_ids)
    kept: Recent = [[str(e[0]), float(e[1])] for e in (recent or ()) if len(e) >= 2]
    kept.append(entry)
    newest = max(e[1] for e in kept)
    kept = [e for e in kept if newest - e[1] <= window.seconds][-window.max_ids:]
    return Window(kept) if all(a[1] <= b[1] for a, b in pairwise(kept)) else kept


def _extended(recent: Window, entry: list[Any], max_ids: int) -> Window:
    """``recent`` with ``entry`` appended and the oldest dropped beyond ``max_ids``."""
    drop = max(len(recent) + 1 - max_ids, 0)
    ids = dict(recent.ids)
    for old in recent[:drop]:
        if ids[old[0]] == 1:
            del ids[old[0]]
        else:
            ids[old[0]] -= 1
    ids[entry[0]] = ids.get(entry[0], 0) + 1
    out = Window(recent[drop:], ids)
    out.append(entry)
    return out
