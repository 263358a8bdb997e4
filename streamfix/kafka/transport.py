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
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, cast

import faust
from faust.transport.drivers import aiokafka as driver
from faust.types import TP

from streamfix.kafka import poison

log = logging.getLogger(__name__)
poison.install()  # an undecodable batch becomes records the agents dead-letter, never a dead consumer


class RewindingConsumerThread(driver.AIOKafkaConsumerThread):
    """The aiokafka consumer thread, whose ``seek_to_committed`` also rewinds never-committed partitions."""

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
