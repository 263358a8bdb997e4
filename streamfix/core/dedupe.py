"""Redelivered raw batches, recognised by ``batch_id`` within a bounded window per stream.

A producer that retries without idempotence, a watcher that resends after a lost acknowledgement, or
a repeated backfill puts the same batch on the raw topic again, at another offset and possibly minutes
later. The ingest agent keeps, inside each stream's assembly state, the ids of the stream's recent
batches (:func:`remember`) and drops a batch whose id is among them (:func:`seen`).

The memory per stream is bounded two ways (:class:`DedupeWindow`): ids of batches published more than
``seconds`` before the newest one of the stream are forgotten, and at most ``max_ids`` ids are kept.
A redelivery older than that window counts again. Ids are kept as 64-bit BLAKE2b digests, so a long
``batch_id`` costs the same 16 characters as a short one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Recent = list[list[Any]]  # [[digest, sent_at], ...], oldest first (JSON in the changelog)


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
    return any(entry and entry[0] == wanted for entry in recent)


def remember(recent: Sequence[Sequence[Any]] | None, batch_id: str, sent_at: float,
             window: DedupeWindow) -> Recent:
    """The remembered ids after applying a batch: this one added, those outside the window dropped."""
    kept: Recent = [[str(e[0]), float(e[1])] for e in (recent or ()) if len(e) >= 2]
    kept.append([digest(batch_id), float(sent_at)])
    newest = max(e[1] for e in kept)
    kept = [e for e in kept if newest - e[1] <= window.seconds]
    return kept[-window.max_ids:] if window.max_ids > 0 else []
