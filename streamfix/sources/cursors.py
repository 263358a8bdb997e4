"""Resume cursors on the compacted ``<prefix>.source-cursors`` topic.

Key ``<source>:<stream>`` (for example ``railway:api@production``), value the JSON of
:class:`~streamfix.core.cursor.Cursor`. Compaction keeps the latest cursor per key, so loading means
reading the single partition from the beginning to its end offset.
"""

from __future__ import annotations

import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from streamfix import topics
from streamfix.core.cursor import Cursor
from streamfix.errors import BrokerError
from streamfix.settings import Settings

log = logging.getLogger(__name__)


async def load_cursors(settings: Settings, prefix: str = "") -> dict[str, Cursor]:
    """Every cursor on the topic whose key starts with ``prefix`` (latest value per key)."""
    name = topics.SOURCE_CURSORS.name(settings)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False, group_id=None
    )
    out: dict[str, Cursor] = {}
    try:
        await consumer.start()
        partitions = consumer.partitions_for_topic(name) or set()
        if not partitions:
            partitions = await _fetch_partitions(consumer, name)
        tps = [TopicPartition(name, p) for p in sorted(partitions)]
        if not tps:
            return out
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        ends: dict[Any, int] = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if ends[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batch.items():
                for rec in records:
                    key = rec.key.decode("utf-8") if rec.key else ""
                    if key.startswith(prefix):
                        if rec.value is None:
                            out.pop(key, None)
                        else:
                            out[key] = Cursor.from_json(rec.value)
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    except KafkaError as exc:
        raise BrokerError(f"cannot read cursors from {name}: {exc}") from exc
    finally:
        await consumer.stop()
    log.info("cursors loaded", extra={"count": len(out), "prefix": prefix})
    return out


async def _fetch_partitions(consumer: AIOKafkaConsumer, name: str) -> set[int]:
    await consumer._client.force_metadata_update()
    return consumer.partitions_for_topic(name) or set()


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
