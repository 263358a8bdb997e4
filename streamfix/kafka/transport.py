"""The Kafka transport the worker runs on: Faust's aiokafka driver, with "seek to committed" made a rewind.

Faust drops records it has fetched but not delivered whenever flow stops, the group generation changes
or a partition is paused mid-batch (a rebalance, the end of table recovery), and relies on seeking back
to the committed offsets afterwards to read them again. aiokafka's ``seek_to_committed`` only seeks a
partition whose committed offset is a positive number: a partition the group has never committed (a
new deployment, or a worker killed before its first commit) or committed at 0 keeps its fetch position.
The records dropped there are never delivered, the gap they leave can never be committed past, and the
worker sits idle on that partition with records waiting until it is restarted.

Here, a partition with no committed offset (or 0) is sought to its beginning instead, the position the
group would start from (``consumer_auto_offset_reset="earliest"``). Whatever this re-reads is already
applied and dropped by the idempotent agents. Changelog partitions are left alone: table recovery
positions them itself.

A topic the worker declares (its table changelogs, on a new deployment) is also waited for in the
consumer's metadata before the worker goes on. Kafka acknowledges a CreateTopics request once the
controller has the topic, a moment before a broker's metadata answers include it; Faust's consumer
does not refresh its metadata after declaring one (its producer does), so the group's first join
could see a changelog topic "missing". aiokafka then remembers it with 0 partitions until the next
periodic refresh (``metadata_max_age_ms``, 5 minutes), and every write to that table in the meantime
fails Faust's partition check (``PartitionsMismatch``), crashing the agent over and over.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any, cast

import faust
from faust.transport.drivers import aiokafka as driver
from faust.types import TP

from streamfix.kafka import poison

log = logging.getLogger(__name__)
poison.install()  # an undecodable batch becomes records the agents dead-letter, never a dead consumer

DECLARED_TOPIC_WAIT_SECONDS = 30.0
"""How long a newly declared topic is waited for in the consumer's metadata (then a warning, and on)."""
METADATA_RETRY_SECONDS = 0.1


async def await_topic_metadata(client: Any, topic: str, wait_seconds: float = DECLARED_TOPIC_WAIT_SECONDS,
                               retry: float = METADATA_RETRY_SECONDS) -> bool:
    """Refresh ``client``'s metadata (an aiokafka client) until it knows ``topic``'s partitions.

    Returns whether it does; after ``wait_seconds`` it logs a warning and returns False, leaving the
    periodic refresh to catch up. The topic is added to the metadata the client tracks.
    """
    deadline = time.monotonic() + wait_seconds
    while not client.cluster.partitions_for_topic(topic):
        if time.monotonic() >= deadline:
            log.warning("topic %s is still missing from the consumer's metadata after %.0f s",
                        topic, wait_seconds)
            return False
        await client.add_topic(topic)  # a refresh when the topic was not tracked yet
        if not client.cluster.partitions_for_topic(topic):
            await client.force_metadata_update()
        if not client.cluster.partitions_for_topic(topic):
            await asyncio.sleep(retry)  # the broker has not caught up with its controller yet
    return True


class RewindingConsumerThread(driver.AIOKafkaConsumerThread):
    """The aiokafka consumer thread, whose ``seek_to_committed`` also rewinds never-committed partitions
    and whose ``create_topic`` returns once the consumer's metadata has the topic."""

    async def create_topic(self, topic: str, partitions: int, replication: int, **options: Any) -> None:
        await super().create_topic(topic, partitions, replication, **options)
        if self.app.conf.topic_allow_declare:
            await self.call_thread(self._await_metadata, topic)

    async def _await_metadata(self, topic: str) -> bool:
        return await await_topic_metadata(self._ensure_consumer()._client, topic)

    async def seek_to_committed(self) -> Mapping[TP, int]:
        return cast(Mapping[TP, int], await self.call_thread(self._rewind_to_committed))

    async def _rewind_to_committed(self) -> Mapping[Any, Any]:
        consumer = self._ensure_consumer()
        committed: Mapping[Any, Any] = await consumer.seek_to_committed()
        fresh = [tp for tp, offset in committed.items()
                 if not offset and not self.consumer._is_changelog_tp(tp)]
        if fresh:
            log.info("no committed offset for %s: reading from the beginning", fresh)
            await consumer.seek_to_beginning(*fresh)
        return committed


class RewindingConsumer(driver.Consumer):
    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return RewindingConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(driver.Transport):
    Consumer = RewindingConsumer


class App(faust.App):
    """``faust.App`` on :class:`Transport` (whatever the ``kafka://`` URL would pick otherwise)."""

    def _new_transport(self) -> Transport:
        return Transport(self.conf.broker_consumer, self)
