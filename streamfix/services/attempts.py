"""A pattern's attempts as the fix-results topic records them, for callers outside the worker (the CLI).

The worker numbers attempts from its ``fix_state`` table; a process without that table (``streamfix
fix --report``) reads the fix-results topic instead: every fix state of every attempt is there,
keyed by fingerprint. :func:`last_attempt` reads the topic once from its start to its current end.
"""

from __future__ import annotations

import logging

from aiokafka import TopicPartition
from aiokafka.errors import KafkaError

from streamfix.errors import BrokerError, WireError
from streamfix.kafka.clients import new_consumer
from streamfix.kafka.topics import topic_names
from streamfix.kafka.wire import FixResult
from streamfix.runtime.settings import Settings
from streamfix.services.fixes import attempt_of

log = logging.getLogger(__name__)


async def last_attempt(settings: Settings, fingerprint: str) -> int:
    """The highest attempt number on the fix-results topic for ``fingerprint`` (0: none yet)."""
    topic = topic_names(settings)["fix_results"]
    consumer = new_consumer(topic, bootstrap_servers=settings.bootstrap_servers, enable_auto_commit=False,
                            auto_offset_reset="earliest", group_id=None)
    key = fingerprint.encode("utf-8")
    highest = 0
    try:
        await consumer.start()  # subscribed to the topic: its metadata is loaded
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        if not partitions:
            return 0
        consumer.unsubscribe()
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            batches = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, messages in batches.items():
                for message in messages:
                    if message.key == key and message.value is not None:
                        try:
                            highest = max(highest, attempt_of(FixResult.loads(message.value)))
                        except WireError as exc:
                            log.warning("unreadable fix result skipped", extra={"error": str(exc)})
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
    except KafkaError as exc:
        raise BrokerError(f"cannot read {topic} at {settings.bootstrap_servers}: {exc}") from exc
    finally:
        await consumer.stop()
    return highest
