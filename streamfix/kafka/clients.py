"""The Kafka adapter: every aiokafka client streamfix uses is built here, and nowhere else.

:func:`new_admin`, :func:`new_consumer` and :func:`new_producer` construct the clients (changelog
views, the liveness check and the local broker probe call them); :func:`read_to_end` reads a topic
once up to its current end (resume cursors, the raw topic's read-back, past fix attempts);
:class:`KafkaPublisher` wraps an idempotent producer as a :class:`streamfix.kafka.publish.Publisher`
for processes that are not Faust workers (tailers, replay, the CLI, benchmarks); :func:`ensure_topics`
creates streamfix's topics with their partitions and retention. aiokafka's errors are translated
into :class:`~streamfix.errors.BrokerError`. (The Faust worker's own consumer and producer are built
by Faust's aiokafka driver, see :mod:`streamfix.kafka.transport`.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Callable, Iterable
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from aiokafka.partitioner import murmur2

from streamfix.errors import BrokerError
from streamfix.kafka import compression, topics
from streamfix.kafka.publish import traced_headers
from streamfix.kafka.wire import RawBatch, WireRecord
from streamfix.runtime.settings import Settings

log = logging.getLogger(__name__)
# gzip: the one codec every mainstream client decodes without optional libraries (kafkajs reads only
# gzip natively; Java, librdkafka, Go and aiokafka read it too). See docs/topics.md.
PRODUCER_COMPRESSION = "gzip"
compression.install()  # gzip at level 6, as Kafka's Java client, not aiokafka's fixed 9


def stream_partition(stream: str, partitions: int) -> int:
    """The partition of a key: murmur2 of its UTF-8 bytes, as Java clients, aiokafka and Faust place it."""
    return int(murmur2(stream.encode("utf-8", "surrogatepass")) & 0x7FFFFFFF) % partitions


def new_admin(bootstrap_servers: str, *, request_timeout_ms: int = 15000) -> AIOKafkaAdminClient:
    """An admin client (not started)."""
    return AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, request_timeout_ms=request_timeout_ms)


def new_consumer(*topic_names: str, bootstrap_servers: str, **options: Any) -> AIOKafkaConsumer:
    """A consumer (not started); ``options`` are aiokafka's (``group_id``, ``auto_offset_reset``, ...)."""
    return AIOKafkaConsumer(*topic_names, bootstrap_servers=bootstrap_servers, **options)


def new_producer(bootstrap_servers: str, **options: Any) -> AIOKafkaProducer:
    """A producer (not started); ``options`` are aiokafka's (``acks``, ``linger_ms``, ...)."""
    return AIOKafkaProducer(bootstrap_servers=bootstrap_servers, **options)


async def read_to_end(
    bootstrap_servers: str, topic: str, *, start_at: Callable[[int, int], int] | None = None
) -> AsyncGenerator[ConsumerRecord[bytes, bytes], None]:
    """Every record of ``topic`` below the end offsets it has when reading starts, in each partition's
    order (partitions interleaved as fetched). No consumer group, nothing committed.

    ``start_at(partition, end_offset)`` gives the first offset to read of each partition; without it
    every partition is read from its log start. An offset below the log start (records deleted by
    retention) reads from the log start. Iterate it inside :func:`contextlib.aclosing` so the consumer
    stops at once when the caller leaves early. aiokafka's errors become :class:`BrokerError`.
    """
    consumer = new_consumer(
        bootstrap_servers=bootstrap_servers, enable_auto_commit=False, group_id=None,
        auto_offset_reset="earliest",
    )
    try:
        await consumer.start()
        partitions = consumer.partitions_for_topic(topic)
        if not partitions:  # not in the metadata the client started with (a topic created since)
            await consumer._client.force_metadata_update()
            partitions = consumer.partitions_for_topic(topic)
        tps = [TopicPartition(topic, p) for p in sorted(partitions or ())]
        if not tps:
            return
        consumer.assign(tps)
        ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
        remaining: set[TopicPartition] = set()
        for tp in tps:
            if start_at is None:
                await consumer.seek_to_beginning(tp)
            elif (first := start_at(tp.partition, ends[tp])) < ends[tp]:
                consumer.seek(tp, max(0, first))
            else:
                continue
            if ends[tp] > 0:
                remaining.add(tp)
        while remaining:
            for tp, records in (await consumer.getmany(*remaining, timeout_ms=1000)).items():
                for record in records:
                    if record.offset < ends[tp]:
                        yield record
            # every partition, not only those that returned records: one whose position reached its end
            # without a record to return (an offset reset, a fetch of control records only) is done too
            for tp in sorted(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    except KafkaError as exc:
        raise BrokerError(f"cannot read {topic} at {bootstrap_servers}: {exc}") from exc
    finally:
        await consumer.stop()


class GroupOffsets:
    """The committed offsets of one consumer group, read with an admin client of its own (opened on
    first use), so the worker's consumer is never held up by the question."""

    def __init__(self, bootstrap_servers: str, group_id: str, *, request_timeout_ms: int = 15000) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.group_id = group_id
        self.request_timeout_ms = request_timeout_ms
        self._admin: AIOKafkaAdminClient | None = None

    async def committed(self, partitions: Iterable[tuple[str, int]]) -> dict[tuple[str, int], int | None]:
        """``(topic, partition)`` → committed offset (None: the group never committed it)."""
        wanted = [TopicPartition(topic, partition) for topic, partition in partitions]
        if self._admin is None:
            admin = new_admin(self.bootstrap_servers, request_timeout_ms=self.request_timeout_ms)
            await admin.start()
            self._admin = admin
        offsets = await self._admin.list_consumer_group_offsets(self.group_id, partitions=wanted)
        out: dict[tuple[str, int], int | None] = {(tp.topic, tp.partition): None for tp in wanted}
        for tp, meta in offsets.items():
            out[(tp.topic, tp.partition)] = meta.offset if meta.offset >= 0 else None
        return out

    async def close(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            await admin.close()


async def ensure_topics(settings: Settings, specs: Iterable[topics.TopicSpec] = topics.ALL) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    admin = new_admin(settings.bootstrap_servers)
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(
                name=spec.name(settings),
                num_partitions=spec.partition_count(settings),
                replication_factor=settings.topic_replication,
                topic_configs=spec.config(),
            )
            for spec in specs
            if spec.name(settings) not in existing
        ]
        if wanted:
            try:
                await admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                log.debug("topics were created concurrently")
            log.info("created topics", extra={"topics": [t.name for t in wanted]})
        await _wait_for_leaders(admin, [spec.name(settings) for spec in specs])
    except KafkaError as exc:
        raise BrokerError(f"cannot create topics on {settings.bootstrap_servers}: {exc}") from exc
    finally:
        await admin.close()


async def delete_topics_with_prefix(bootstrap_servers: str, prefix: str) -> list[str]:
    """Delete every topic whose name starts with ``prefix`` (a benchmark's own, tagged topics, changelogs
    included); returns their names. Topics left behind by every run would slow the broker down: it
    checkpoints, and answers metadata for, every partition it holds."""
    if not prefix:
        raise ValueError("a prefix is required: an empty one would delete every topic")
    admin = new_admin(bootstrap_servers)
    try:
        await admin.start()
        doomed = sorted(t for t in await admin.list_topics() if t.startswith(prefix))
        if doomed:
            await admin.delete_topics(doomed)
        return doomed
    except KafkaError as exc:
        raise BrokerError(f"cannot delete topics {prefix}* on {bootstrap_servers}: {exc}") from exc
    finally:
        await admin.close()


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str], wait_s: float = 30.0) -> None:
    """New topics take a moment to elect leaders; producing before that only earns retries."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while loop.time() < deadline:
        described = await admin.describe_topics(names)
        if all(
            t.get("error_code") == 0
            and t["partitions"]
            and all(p.get("leader", -1) >= 0 for p in t["partitions"])
            for t in described
        ):
            return
        await asyncio.sleep(0.1)
    raise BrokerError(f"topics {names} have no partition leaders after {wait_s:.0f} s")


class KafkaPublisher:
    """Publishes wire records. ``async with KafkaPublisher(settings) as pub: await pub.send_batch(b)``."""

    def __init__(self, settings: Settings, *, linger_ms: int = 5) -> None:
        self._settings = settings
        self._names = topics.topic_names(settings)
        self._producer = new_producer(
            settings.bootstrap_servers,
            enable_idempotence=True,
            acks="all",
            linger_ms=linger_ms,
            compression_type=PRODUCER_COMPRESSION,
            max_request_size=16 * 1024 * 1024,
            request_timeout_ms=30000,
        )

    async def __aenter__(self) -> KafkaPublisher:
        try:
            await self._producer.start()
        except KafkaError as exc:
            await self._producer.stop()
            raise BrokerError(f"cannot reach Kafka at {self._settings.bootstrap_servers}: {exc}") from exc
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._producer.stop()

    def topic(self, role: str) -> str:
        return self._names[role]

    async def send(
        self, role: str, key: str, record: WireRecord | bytes, headers: list[tuple[str, bytes]] | None = None
    ) -> asyncio.Future[object]:
        """Queue one record; the returned future resolves when the broker has acknowledged it."""
        value = record if isinstance(record, bytes) else record.dumps()
        headers = traced_headers(role, key, record, headers)
        try:
            fut: asyncio.Future[object] = await self._producer.send(
                self._names[role], value=value, key=key.encode("utf-8"), headers=headers
            )
        except KafkaError as exc:
            raise BrokerError(f"publish to {self._names[role]} failed: {exc}") from exc
        return fut

    async def send_and_wait(
        self, role: str, key: str, record: WireRecord | bytes, headers: list[tuple[str, bytes]] | None = None
    ) -> None:
        """Send one record and wait until the broker has acknowledged it."""
        fut = await self.send(role, key, record, headers)
        try:
            await fut
        except KafkaError as exc:
            raise BrokerError(f"publish to {self._names[role]} failed: {exc}") from exc

    async def send_batch(self, batch: RawBatch) -> asyncio.Future[object]:
        return await self.send("raw", batch.stream, batch)

    async def flush(self) -> None:
        try:
            await self._producer.flush()
        except KafkaError as exc:
            raise BrokerError(f"flush failed: {exc}") from exc


Publisher = KafkaPublisher
"""The name the tailers, replay and tests have always imported."""
