"""Consumer progress: lag per partition and stall detection, as pure functions of observations.

A worker that has records waiting on a partition (end offset past its committed offset) but whose
committed offset has not moved for a while is stalled: whatever the reason (a lost in-flight message
that leaves a gap no commit can pass, a fetcher that stopped), nothing it holds will ever be counted.
Kafka keeps the committed offset before the gap, so a restarted consumer reads everything again and the
idempotent agents drop what was already applied. :class:`ProgressTracker` only decides *when* that is
the case; the worker reports it (metrics, health) and acts on it. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

Partition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class PartitionProgress:
    """What one observation says about one partition."""

    topic: str
    partition: int
    lag: int  # records past the committed offset (0 when caught up or unknown)
    idle_seconds: float  # how long the committed offset has stayed where it is while lag > 0
    stalled: bool


@dataclass(slots=True)
class _Seen:
    committed: int | None
    since: float  # when `committed` was first seen with records waiting behind it


@dataclass(slots=True)
class ProgressTracker:
    """Feed it ``observe(now, end_offsets, committed)`` at any interval; it answers per partition.

    ``end_offsets`` are the partitions' end (next offset to be written); ``committed`` the consumer
    group's committed offsets (next offset to read; missing or None when nothing was committed yet, in
    which case the partition's start counts as 0). A partition is stalled once it has had lag for
    ``stall_seconds`` without its committed offset moving. Partitions no longer observed are forgotten,
    so a rebalance starts their clocks afresh.
    """

    stall_seconds: float
    _seen: dict[Partition, _Seen] = field(default_factory=dict)

    def forget(self, *keys: Partition) -> None:
        """Start these partitions' clocks afresh (after acting on a stall)."""
        for key in keys:
            self._seen.pop(key, None)

    def observe(self, now: float, end_offsets: Mapping[Partition, int],
                committed: Mapping[Partition, int | None]) -> list[PartitionProgress]:
        out: list[PartitionProgress] = []
        for key in list(self._seen):
            if key not in end_offsets:
                del self._seen[key]
        for key in sorted(end_offsets):
            end = end_offsets[key]
            done = committed.get(key)
            lag = max(0, end - (done if done is not None else 0))
            seen = self._seen.get(key)
            if lag == 0:
                self._seen.pop(key, None)
                out.append(PartitionProgress(key[0], key[1], 0, 0.0, False))
                continue
            if seen is None or seen.committed != done:
                seen = self._seen[key] = _Seen(done, now)
            idle = max(0.0, now - seen.since)
            stalled = self.stall_seconds > 0 and idle >= self.stall_seconds
            out.append(PartitionProgress(key[0], key[1], lag, idle, stalled))
        return out


@dataclass(slots=True)
class OrderGuard:
    """In-order delivery per partition: a record may be applied only right after the one before it.

    The agents' idempotence markers say "applied up to offset N" for a stream or a pattern, which is only
    true when nothing before N was skipped. If the consumer ever delivers a record past one it never
    delivered (records dropped in flight), applying it would move a marker past the lost record and the
    record would later be taken for a duplicate. ``admit`` refuses such a record and remembers the
    partition as blocked until the expected offset arrives; the worker then reads the partition again
    from there. Offsets on the topics guarded here are contiguous (no compaction, no transaction
    markers), so any jump is a loss. ``start_at`` sets where a partition is expected to continue (the
    group's committed offset when it is first seen, or after reading it again).
    """

    _last: dict[Partition, int] = field(default_factory=dict)
    _blocked: dict[Partition, int] = field(
        default_factory=dict
    )  # first offset refused since the last admitted

    def known(self, key: Partition) -> bool:
        return key in self._last

    def start_at(self, key: Partition, next_offset: int) -> None:
        self._last[key] = next_offset - 1
        self._blocked.pop(key, None)

    def admit(self, key: Partition, offset: int) -> bool:
        last = self._last.get(key)
        if last is None or offset <= last + 1:  # first sight, the next one, or a record read again
            self._last[key] = offset
            self._blocked.pop(key, None)
            return True
        self._blocked.setdefault(key, offset)
        return False

    def blocked(self) -> dict[Partition, tuple[int, int]]:
        """Partition -> (offset expected next, first offset refused) for every partition waiting."""
        return {key: (self._last[key] + 1, first) for key, first in self._blocked.items()}

    def forget(self, *keys: Partition) -> None:
        for key in keys:
            self._last.pop(key, None)
            self._blocked.pop(key, None)

    def forget_all(self) -> None:
        self._last.clear()
        self._blocked.clear()
