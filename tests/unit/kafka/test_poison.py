"""Undecodable batches become undecodable records instead of an exception out of the fetch."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.consumer import fetcher
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.util import calc_crc32c
from aiokafka.structs import TopicPartition

from streamfix.kafka import poison

NONE, GZIP, SNAPPY, LZ4, ZSTD = 0, 1, 2, 3, 4
TP = TopicPartition("raw", 2)


def batch(base_offset: int, values: list[bytes], codec: int = NONE) -> bytes:
    builder = DefaultRecordBatchBuilder(2, codec, 0, -1, -1, -1, 1 << 20)
    for delta, value in enumerate(values):
        builder.append(delta, timestamp=1_700_000_000_000, key=b"k", value=value, headers=[])
    data = bytearray(builder.build())
    data[0:8] = base_offset.to_bytes(8, "big", signed=True)
    return bytes(data)


def with_crc(data: bytearray) -> bytes:
    data[17:21] = calc_crc32c(bytes(data[21:])).to_bytes(4, "big")
    return bytes(data)


def unknown_codec(base_offset: int, values: list[bytes]) -> bytes:
    data = bytearray(batch(base_offset, values))
    data[22] = (data[22] & ~0x07) | 0x06  # compression codec 6 does not exist
    return with_crc(data)


def bad_crc(base_offset: int, values: list[bytes]) -> bytes:
    data = bytearray(batch(base_offset, values))
    data[-1] ^= 0xFF
    return bytes(data)


def bad_payload(base_offset: int, values: list[bytes], codec: int) -> bytes:
    """Valid header and CRC, but the compressed payload is not what the codec says."""
    data = bytearray(batch(base_offset, values))
    data[22] = (data[22] & ~0x07) | codec
    return with_crc(data)


def read(raw: bytes, fetch_offset: int = 0) -> tuple[list[Any], int]:
    records = poison.TolerantPartitionRecords(
        TP, poison.RawMemoryRecords(raw), None, fetch_offset, None, None, True, 0
    )
    return list(records), records.next_fetch_offset


@pytest.mark.parametrize(
    "codec", [NONE, GZIP, SNAPPY, LZ4, ZSTD], ids=["none", "gzip", "snappy", "lz4", "zstd"]
)
def test_every_codec_decodes(codec: int) -> None:
    got, next_offset = read(batch(0, [b"a", b"b"], codec) + batch(2, [b"c"], codec))
    assert [(r.offset, r.value, r.headers) for r in got] == [(0, b"a", ()), (1, b"b", ()), (2, b"c", ())]
    assert next_offset == 3


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        pytest.param(unknown_codec(3, [b"x", b"y", b"z"]), "unsupported_codec", id="unknown-codec"),
        pytest.param(bad_crc(3, [b"x", b"y", b"z"]), "corrupt_batch", id="bad-crc"),
        pytest.param(bad_payload(3, [b"x", b"y", b"z"], LZ4), "undecodable_batch", id="garbage-lz4"),
        pytest.param(bad_payload(3, [b"x", b"y", b"z"], ZSTD), "undecodable_batch", id="garbage-zstd"),
        pytest.param(bad_payload(3, [b"x", b"y", b"z"], GZIP), "undecodable_batch", id="garbage-gzip"),
        pytest.param(bad_payload(3, [b"x", b"y", b"z"], SNAPPY), "undecodable_batch", id="garbage-snappy"),
    ],
)
def test_a_bad_batch_between_good_ones_becomes_undecodable_records(bad: bytes, reason: str) -> None:
    raw = batch(0, [b"a", b"b", b"c"]) + bad + batch(6, [b"d"], LZ4)
    got, next_offset = read(raw)
    assert [r.offset for r in got] == list(range(7))  # contiguous: nothing skipped, nothing repeated
    assert [r.value for r in got[:3]] == [b"a", b"b", b"c"] and got[6].value == b"d"
    marks = [poison.undecodable(r.headers, r.offset) for r in got]
    assert [m is not None for m in marks] == [False, False, False, True, True, True, False]
    first, *rest = (m for m in marks if m is not None)
    assert (
        first.reason == reason and first.carries_bytes and (first.first_offset, first.last_offset) == (3, 5)
    )
    assert got[3].value == bad  # the batch as the broker sent it, for the dead-letter record
    assert all(not m.carries_bytes and m.reason == reason for m in rest)
    assert [got[4].value, got[5].value] == [None, None]
    assert next_offset == 7


def test_fetch_starting_inside_a_bad_batch_yields_only_the_rest() -> None:
    got, next_offset = read(unknown_codec(10, [b"x", b"y", b"z"]), fetch_offset=11)
    assert [r.offset for r in got] == [11, 12]
    assert all(not poison.undecodable(r.headers, r.offset).carries_bytes for r in got)  # type: ignore[union-attr]
    assert next_offset == 13


def test_a_batch_cut_by_the_fetch_size_is_left_for_the_next_fetch() -> None:
    whole = batch(0, [b"a"])
    got, next_offset = read(whole + batch(1, [b"b" * 100])[:50])
    assert [r.value for r in got] == [b"a"] and next_offset == 1


def test_an_unreadable_header_moves_one_offset() -> None:
    garbage = (5).to_bytes(8, "big") + (3).to_bytes(4, "big") + b"\x00" * 20
    got, next_offset = read(batch(0, [b"a"]) + garbage)
    assert [r.offset for r in got] == [0, 1]
    mark = poison.undecodable(got[1].headers, 1)
    assert mark is not None and mark.reason == "unreadable_batch_header"
    assert next_offset == 2


def test_a_failing_deserializer_is_an_undecodable_batch() -> None:
    def strict(value: bytes) -> str:
        return value.decode("ascii")

    raw = batch(0, [b"ok"]) + batch(1, [b"\xff"]) + batch(2, [b"fine"])
    records = poison.TolerantPartitionRecords(
        TP, poison.RawMemoryRecords(raw), None, 0, None, strict, True, 0
    )
    got = list(records)
    assert [r.value for r in got] == ["ok", batch(1, [b"\xff"]), "fine"]
    assert poison.undecodable(got[1].headers, 1).reason == "undecodable_batch"  # type: ignore[union-attr]


def test_install_replaces_the_fetchers_classes() -> None:
    poison.install()
    assert fetcher.PartitionRecords is poison.TolerantPartitionRecords
    assert fetcher.MemoryRecords is poison.RawMemoryRecords


def test_ordinary_headers_are_not_a_marker() -> None:
    assert poison.undecodable([("trace", b"1")], 0) is None
    assert poison.undecodable((), 0) is None
