"""``read_to_end`` against a real broker: what it yields, where it starts, where it stops, how it fails."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import aclosing

import pytest
from aiokafka import TopicPartition
from aiokafka.admin.records_to_delete import RecordsToDelete

from streamfix.errors import BrokerError
from streamfix.kafka import topics
from streamfix.kafka.clients import ensure_topics, new_admin, new_producer, read_to_end
from streamfix.runtime.settings import Settings

from .conftest import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(120)]

SPEC = topics.FIX_RESULTS  # any of the project's topics; 4 partitions in these tests
PER_PARTITION = {0: 5, 1: 3, 2: 0, 3: 1}


async def _fill(settings: Settings) -> str:
    await ensure_topics(settings, [SPEC])
    name = SPEC.name(settings)
    producer = new_producer(settings.bootstrap_servers)
    await producer.start()
    try:
        for partition, count in PER_PARTITION.items():
            for i in range(count):
                await producer.send_and_wait(name, f"p{partition}-{i}".encode(), partition=partition)
    finally:
        await producer.stop()
    return name


async def _read(
    settings: Settings, name: str, start_at: Callable[[int, int], int] | None = None
) -> list[str]:
    out = []
    records = read_to_end(settings.bootstrap_servers, name, start_at=start_at)
    async with aclosing(records):
        async for record in records:
            assert record.value is not None
            out.append(record.value.decode())
    return out


def _by_partition(values: list[str]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for value in values:
        out.setdefault(int(value[1:].split("-")[0]), []).append(value)
    return out


@pytest.mark.parametrize(
    ("start_at", "expected"),
    [
        (None, {p: [f"p{p}-{i}" for i in range(n)] for p, n in PER_PARTITION.items() if n}),
        (lambda _p, end: end - 2, {0: ["p0-3", "p0-4"], 1: ["p1-1", "p1-2"], 3: ["p3-0"]}),
        (lambda _p, end: end, {}),
        (lambda p, _end: 4 if p == 0 else 99, {0: ["p0-4"]}),
    ],
    ids=["from-log-start", "last-two", "at-end", "past-end"],
)
async def test_reads_each_partition_in_order_from_its_start(
    kafka_settings: Settings, start_at: Callable[[int, int], int] | None, expected: dict[int, list[str]]
) -> None:
    name = await _fill(kafka_settings)
    assert _by_partition(await _read(kafka_settings, name, start_at)) == expected


async def test_stops_at_the_end_offsets_taken_when_reading_starts(kafka_settings: Settings) -> None:
    name = await _fill(kafka_settings)
    producer = new_producer(kafka_settings.bootstrap_servers)
    await producer.start()
    seen = []
    try:
        records = read_to_end(kafka_settings.bootstrap_servers, name)
        async with aclosing(records):
            async for record in records:
                if not seen:  # written after the end offsets were read: not part of this read
                    await producer.send_and_wait(name, b"p0-late", partition=0)
                assert record.value is not None
                seen.append(record.value.decode())
    finally:
        await producer.stop()
    assert len(seen) == sum(PER_PARTITION.values())
    assert "p0-late" not in seen


async def test_records_deleted_below_the_start_are_skipped_not_fatal(kafka_settings: Settings) -> None:
    name = await _fill(kafka_settings)
    admin = new_admin(kafka_settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.delete_records({TopicPartition(name, 0): RecordsToDelete(before_offset=3)})
    finally:
        await admin.close()
    got = _by_partition(await _read(kafka_settings, name))
    assert got[0] == ["p0-3", "p0-4"]
    got = _by_partition(await _read(kafka_settings, name, lambda _p, end: end - 10))
    assert got[0] == ["p0-3", "p0-4"]
    assert got[1] == ["p1-0", "p1-1", "p1-2"]


async def test_a_partition_ending_in_a_commit_marker_is_read_to_its_end(kafka_settings: Settings) -> None:
    name = await _fill(kafka_settings)
    producer = new_producer(kafka_settings.bootstrap_servers, transactional_id=f"{name}-tx")
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send_and_wait(name, b"p2-0", partition=2)
    finally:
        await producer.stop()
    got = _by_partition(await _read(kafka_settings, name))  # ends after the commit marker at offset 1
    assert got[2] == ["p2-0"]
    assert sum(map(len, got.values())) == sum(PER_PARTITION.values()) + 1


async def test_a_topic_that_does_not_exist_reads_as_empty(kafka_settings: Settings) -> None:
    assert await _read(kafka_settings, f"{kafka_settings.topic_prefix}.absent") == []


async def test_an_unreachable_broker_is_a_broker_error(kafka_settings: Settings) -> None:
    settings = kafka_settings.model_copy(update={"broker": f"kafka://127.0.0.1:{free_port()}"})
    with pytest.raises(BrokerError, match=r"cannot read anything at 127\.0\.0\.1:"):
        await _read(settings, "anything")
