"""Kafka adapters for processes that are not Faust workers (tailers, replay, tests, benchmarks).

:class:`Publisher` wraps an idempotent :class:`aiokafka.AIOKafkaProducer`; :func:`ensure_topics`
creates streamfix's topics with their partitions and retention. aiokafka's errors are translated
into :class:`~streamfix.errors.BrokerError`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from types import TracebackType

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

from streamfix.errors import BrokerError
from streamfix.kafka import topics
from streamfix.kafka.wire import RawBatch, WireRecord
from streamfix.runtime.settings import Settings

log = logging.getLogger(__name__)
# gzip: the one codec every mainstream client decodes without optional libraries (kafkajs reads only
# gzip natively; Java, librdkafka, Go and aiokafka read it too). See docs/topics.md.
PRODUCER_COMPRESSION = "gzip"


async def ensure_topics(settings: Settings, specs: Iterable[topics.TopicSpec] = topics.ALL) -> None:
    """Create the topics that do not exist yet; existing ones are left as they are."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.bootstrap_servers, request_timeout_ms=15000)
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


async def _wait_for_leaders(admin: AIOKafkaAdminClient, names: list[str], wait_s: float = 30.0) -> None:
    """New topics take a moment to elect leaders; producing before that only earns retries."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait_s
    while loop.time() < deadline:
        described = await admin.describe_topics(names)
        if all(
            t.get("error_code") == 0 and t["partitions"] and all(p.get("leader", -1) >= 0 for p in t["partitions"])
            for t in described
        ):
            return
        await asyncio.sleep(0.1)
    raise BrokerError(f"topics {names} have no partition leaders after {wait_s:.0f} s")


class Publisher:
    """Publishes wire records. ``async with Publisher(settings) as pub: await pub.send_batch(b)``."""

    def __init__(self, settings: Settings, *, linger_ms: int = 5) -> None:
        self._settings = settings
        self._names = topics.topic_names(settings)
        self._producer = AIOKafkaProducer(
            bootstrap_servers=settings.bootstrap_servers,
            enable_idempotence=True,
            acks="all",
            linger_ms=linger_ms,
            compression_type=PRODUCER_COMPRESSION,
            max_request_size=16 * 1024 * 1024,
            request_timeout_ms=30000,
        )

    async def __aenter__(self) -> Publisher:
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

