"""The one way streamfix puts a record on a topic: :class:`Publisher`, whoever runs it.

Three implementations share the protocol:

- :class:`streamfix.kafka.clients.KafkaPublisher`: an aiokafka producer, for processes that are not
  Faust workers (tailers, replay, the CLI, benchmarks);
- :class:`TopicPublisher`: the topics of a Faust worker, for its agents and web routes;
- :class:`MemoryPublisher`: an in-memory transport for unit tests of agents and services; it keeps
  every record it is given, per topic role, with the partition and offset a broker would assign.

``send`` queues a record and returns a future that resolves when the broker has acknowledged it (its
result carries ``partition`` and ``offset``), so a caller can send many records and wait once.
"""

from __future__ import annotations

import asyncio
import zlib
from abc import ABC, abstractmethod
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from streamfix.core.trace import is_trace_id, traceparent
from streamfix.kafka.wire import RawBatch, WireRecord

Headers = list[tuple[str, bytes]]
Record = WireRecord | bytes
TRACEPARENT = "traceparent"


def traced_headers(role: str, key: str, record: Record, headers: Headers | None) -> Headers | None:
    """``headers`` plus a W3C ``traceparent`` for a record that carries a trace id (the record's
    ``trace_id`` field stays the source of truth; the header is for tools that read only headers)."""
    trace_id = getattr(record, "trace_id", None)
    if not is_trace_id(trace_id) or any(name == TRACEPARENT for name, _ in headers or ()):
        return headers
    return [*(headers or ()), (TRACEPARENT, traceparent(str(trace_id), f"{role}\x00{key}").encode())]


class Publisher(Protocol):
    async def send(
        self, role: str, key: str, record: Record, headers: Headers | None = None
    ) -> asyncio.Future[Any]:
        """Queue one record for topic ``role``; the future resolves with the broker's acknowledgement."""
        ...

    async def send_and_wait(
        self, role: str, key: str, record: Record, headers: Headers | None = None
    ) -> None:
        """Send one record and wait until the broker has acknowledged it."""
        ...

    async def send_batch(self, batch: RawBatch) -> asyncio.Future[Any]:
        """Queue one raw batch (key: its stream)."""
        ...


def encoded(record: Record) -> bytes:
    return record if isinstance(record, bytes) else record.dumps()


class SendOnly(ABC):
    """A :class:`Publisher` from its ``send`` alone."""

    @abstractmethod
    async def send(
        self, role: str, key: str, record: Record, headers: Headers | None = None
    ) -> asyncio.Future[Any]: ...

    async def send_and_wait(
        self, role: str, key: str, record: Record, headers: Headers | None = None
    ) -> None:
        await (await self.send(role, key, record, headers))

    async def send_batch(self, batch: RawBatch) -> asyncio.Future[Any]:
        return await self.send("raw", batch.stream, batch)


class TopicPublisher(SendOnly):
    """Publishes through a Faust worker's topics (``sf.topics``: role → topic)."""

    def __init__(self, topics: Mapping[str, Any]) -> None:
        self._topics = topics

    async def send(
        self, role: str, key: str, record: Record, headers: Headers | None = None
    ) -> asyncio.Future[Any]:
        topic = self._topics[role]
        headers = traced_headers(role, key, record, headers)
        # the raw topic's values are bytes; the others compact orjson, what the topics' codec writes
        if role == "raw" or not isinstance(record, bytes):
            value = encoded(record)
        else:
            value = orjson.dumps(orjson.loads(record))
        # straight to the worker's producer: Faust's channel layer around it costs more than the send
        producer = await topic.app.maybe_start_producer()
        fut: asyncio.Future[Any] = await producer.send(topic.get_topic_name(), key.encode("utf-8"), value,
                                                       partition=None, timestamp=None, headers=headers)
        return fut


@dataclass(frozen=True, slots=True)
class Sent:
    """One record a :class:`MemoryPublisher` took, with what the broker would have answered."""

    role: str
    key: str
    value: bytes
    headers: tuple[tuple[str, bytes], ...]
    partition: int
    offset: int

    def record(self, kind: type[WireRecord]) -> Any:
        return kind.loads(self.value)


@dataclass
class MemoryPublisher(SendOnly):
    """An in-memory topic store with the :class:`Publisher` interface (keys partitioned like a broker)."""

    partitions: int = 4
    sent: dict[str, list[Sent]] = field(default_factory=lambda: defaultdict(list))
    fail: Exception | None = None  # when set, every acknowledgement fails with it
    _next: dict[tuple[str, int], int] = field(default_factory=dict)

    async def send(
        self, role: str, key: str, record: Record, headers: Headers | None = None
    ) -> asyncio.Future[Any]:
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self.fail is not None:
            fut.set_exception(self.fail)
            return fut
        headers = traced_headers(role, key, record, headers)
        partition = zlib.crc32(key.encode("utf-8")) % self.partitions
        offset = self._next.get((role, partition), 0)
        self._next[(role, partition)] = offset + 1
        item = Sent(role, key, encoded(record), tuple(headers or ()), partition, offset)
        self.sent[role].append(item)
        fut.set_result(item)
        return fut

    def records(self, role: str, kind: type[WireRecord]) -> list[Any]:
        return [item.record(kind) for item in self.sent.get(role, [])]
