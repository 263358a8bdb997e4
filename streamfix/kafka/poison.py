"""Undecodable record batches become records, so a consumer never stops on them.

aiokafka decodes a fetched partition batch by batch while the consumer iterates it. A batch it cannot
decode (a codec whose library is missing, ``UnsupportedCodecError``; a bad CRC,
``CorruptRecordException``; a truncated or garbled batch; a failing deserializer) raises out of
``getmany()``: Faust's consumer thread dies with it, and a restarted worker fetches the same batch
and dies again. The records of other partitions drained in the same call are lost with it.

:func:`install` replaces the fetcher's per-partition record iterator with one that decodes each
batch on its own, completely, before yielding any of its records. A batch that fails is yielded as
*undecodable records* instead, one per offset the batch covers, so offsets stay contiguous and the
group commits past it like past any other record:

- the first carries the batch's bytes as they came from the broker as its value, and the headers
  ``streamfix-undecodable`` (reason), ``streamfix-undecodable-detail`` and
  ``streamfix-undecodable-offsets`` (``first-last``);
- the others carry the same headers and no value.

The agent that consumes the topic dead-letters the first one (:func:`undecodable`) and counts the
others. When even the batch header cannot be read, the batch's length is unknown: one undecodable
record is yielded for the next offset, so the consumer moves forward one offset at a time and every
step is logged and counted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka.consumer import fetcher
from aiokafka.record.memory_records import MemoryRecords
from aiokafka.structs import ConsumerRecord

log = logging.getLogger(__name__)
# aiokafka's own classes, kept before install() replaces them in the fetcher module
_AiokafkaPartitionRecords: Any = fetcher.PartitionRecords
_AiokafkaMemoryRecords: Any = fetcher.MemoryRecords

HEADER_REASON = "streamfix-undecodable"
HEADER_DETAIL = "streamfix-undecodable-detail"
HEADER_OFFSETS = "streamfix-undecodable-offsets"
_LOG_OVERHEAD = 12  # base offset (int64) + batch length (int32), the same in every message format
_MIN_BATCH = 14  # the smallest legacy message; a v2 batch header is 61 bytes


class RawMemoryRecords:
    """``MemoryRecords`` that keeps the bytes it was built from (the fetcher builds one per partition)."""

    def __init__(self, data: bytes) -> None:
        self.raw = bytes(data) if not isinstance(data, bytes) else data
        self._inner = _AiokafkaMemoryRecords(self.raw)

    def has_next(self) -> bool:
        return bool(self._inner.has_next())

    def next_batch(self) -> Any:
        return self._inner.next_batch()

    def size_in_bytes(self) -> int:
        return int(self._inner.size_in_bytes())


@dataclass(frozen=True)
class Undecodable:
    """What :func:`undecodable` reads from an undecodable record's headers."""

    reason: str
    detail: str
    first_offset: int
    last_offset: int
    carries_bytes: bool


def undecodable(headers: Sequence[tuple[str, bytes]] | Any, offset: int) -> Undecodable | None:
    """The undecodable-batch marker of a record with these headers, or None for an ordinary record."""
    found: dict[str, bytes] = {}
    items = headers.items() if hasattr(headers, "items") else (headers or ())
    for name, value in items:
        if name in (HEADER_REASON, HEADER_DETAIL, HEADER_OFFSETS):
            found[name] = bytes(value or b"")
    if HEADER_REASON not in found:
        return None
    first, _, last = found.get(HEADER_OFFSETS, b"").decode("ascii", "replace").partition("-")
    try:
        first_offset, last_offset = int(first), int(last)
    except ValueError:
        first_offset = last_offset = offset
    return Undecodable(
        reason=found[HEADER_REASON].decode("utf-8", "replace"),
        detail=found.get(HEADER_DETAIL, b"").decode("utf-8", "replace"),
        first_offset=first_offset,
        last_offset=last_offset,
        carries_bytes=offset == first_offset,
    )


def _reason(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "UnsupportedCodecError":
        return "unsupported_codec"
    if name in ("CorruptRecordException", "CorruptRecordError"):
        return "corrupt_batch"
    return "undecodable_batch"


class TolerantPartitionRecords(_AiokafkaPartitionRecords):  # type: ignore[misc]
    """aiokafka's ``PartitionRecords``, decoding one batch at a time and never raising on a bad one."""

    next_fetch_offset: int

    def _unpack_records(self) -> Iterator[ConsumerRecord[Any, Any]]:
        raw = getattr(self._records, "raw", None)
        if raw is None:  # built by someone else: aiokafka's own behaviour
            yield from super()._unpack_records()
            return
        pos = 0
        while pos + _LOG_OVERHEAD <= len(raw):
            base_offset = int.from_bytes(raw[pos : pos + 8], "big", signed=True)
            length = int.from_bytes(raw[pos + 8 : pos + 12], "big", signed=True)
            end = pos + _LOG_OVERHEAD + length
            if length < _MIN_BATCH:
                yield from self._undecodable(
                    b"",
                    "unreadable_batch_header",
                    f"batch length {length} at offset {base_offset}",
                    self.next_fetch_offset,
                    0,
                )
                return
            if end > len(raw):
                return  # a batch cut off by the fetch size: fetched again, whole, next time
            chunk, pos = raw[pos:end], end
            inner = _AiokafkaPartitionRecords(
                self._tp,
                MemoryRecords(chunk),
                None,
                self.next_fetch_offset,
                self._key_deserializer,
                self._value_deserializer,
                self._check_crcs,
                self._isolation_level,
            )
            # transactions span batches: the aborted-transaction state is shared, not copied
            inner._aborted_transactions = self._aborted_transactions
            inner._aborted_producers = self._aborted_producers
            try:
                decoded = list(inner)
            except Exception as exc:  # anything at all: the batch is undecodable, the consumer goes on
                last_delta = _last_offset_delta(chunk)
                yield from self._undecodable(
                    chunk, _reason(exc), f"{type(exc).__name__}: {exc}", base_offset, last_delta
                )
                continue
            yield from decoded
            self.next_fetch_offset = max(self.next_fetch_offset, inner.next_fetch_offset)

    def _undecodable(
        self, chunk: bytes, reason: str, detail: str, first: int, last_delta: int
    ) -> Iterator[ConsumerRecord[Any, Any]]:
        last = first + max(0, last_delta)
        start = max(first, self.next_fetch_offset)
        if last < start:
            return
        log.error(
            "undecodable record batch: %s",
            detail,
            extra={
                "topic": self._tp.topic,
                "partition": self._tp.partition,
                "offsets": f"{first}-{last}",
                "reason": reason,
                "size": len(chunk),
            },
        )
        headers = (
            (HEADER_REASON, reason.encode()),
            (HEADER_DETAIL, detail[:1000].encode("utf-8", "replace")),
            (HEADER_OFFSETS, f"{first}-{last}".encode()),
        )
        for offset in range(start, last + 1):
            value = chunk if offset == first else None
            self.next_fetch_offset = offset + 1
            yield ConsumerRecord(
                self._tp.topic,
                self._tp.partition,
                offset,
                -1,
                0,
                None,
                value,
                None,
                -1,
                len(value) if value is not None else -1,
                headers,
            )


def _last_offset_delta(chunk: bytes) -> int:
    """The batch's last offset delta from its v2 header (0 for a legacy message or an unreadable header)."""
    magic_at, delta_at = 16, 23  # offset(8) length(4) leader_epoch(4) magic(1) crc(4) attributes(2)
    if len(chunk) < delta_at + 4 or chunk[magic_at] < 2:
        return 0
    return max(0, int.from_bytes(chunk[delta_at : delta_at + 4], "big", signed=True))


def install() -> None:
    """Make every aiokafka consumer in this process tolerant of undecodable batches (idempotent)."""
    fetcher.MemoryRecords = RawMemoryRecords
    fetcher.PartitionRecords = TolerantPartitionRecords
