"""The ingest agent: raw batches in, error events out, bad input to the dead-letter topic.

The work is :func:`streamfix.services.ingest.apply_batch`; the agent does not wait for a batch's error
records to be acknowledged before it takes the next batch: :class:`streamfix.services.inorder.InOrder`
writes each stream's marker and acknowledges each raw record (manual acks) in order once they are. A
timer sends the "tick" batches that flush streams gone quiet in the middle of a traceback
(:func:`streamfix.services.ingest.quiet_ticks`).
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from agents.liveness import liveness_for
from streamfix.kafka.events import current
from streamfix.kafka.publish import TopicPublisher
from streamfix.runtime.shared import StreamfixApp
from streamfix.services.deadletter import dead_letter_sender
from streamfix.services.ingest import IngestConfig, apply_batch, quiet_ticks, write_marker
from streamfix.services.inorder import NOTHING, InOrder, Outcome
from streamfix.services.sourcestate import source_registry

log = logging.getLogger(__name__)


def register(sf: StreamfixApp) -> None:
    settings = sf.settings
    assembly = sf.tables["assembly"]
    config = IngestConfig.from_settings(settings)
    out = TopicPublisher(sf.topics)
    dead_letter = dead_letter_sender(out, sf.topic_name("raw"), "ingest")
    live = liveness_for(sf)

    raw_topic = sf.topics["raw"]
    raw_partitions = raw_topic.partitions or settings.topic_partitions

    async def flush_quiet_streams() -> None:
        for tick in quiet_ticks(assembly, time.time(), config.idle_flush_seconds):
            await out.send_batch(tick)

    async def reroute(stream: str, partition: int, value: bytes) -> None:
        await (await raw_topic.send(key=stream.encode(), value=value, partition=partition, force=True))

    sf.app.timer(interval=max(0.5, config.quiet_seconds / 2))(flush_quiet_streams)
    apply = functools.partial(apply_batch, config=config, out=out, dead_letter=dead_letter,
                              raw_partitions=raw_partitions, reroute=reroute,
                              sources=source_registry(sf.state))

    @sf.app.agent(raw_topic, name=f"{settings.app_id}.ingest")
    async def ingest(stream: Any) -> None:
        manual = stream.noack()

        async def finish(event: Any, outcome: Outcome) -> None:
            with current(event):  # the marker goes to the changelog partition of its own batch
                write_marker(assembly, outcome)
            await manual.ack(event)

        order: InOrder[Any] = InOrder(finish, settings.ingest_max_in_flight)
        sf.app.on_partitions_revoked.connect(order.reset)
        async for event in manual.events():
            generation, outcome = order.generation, NOTHING
            if await live.admit(event):  # else an earlier record was never delivered: read again first
                outcome = await _apply_one(apply, order.latest(assembly), event, dead_letter)
            await order.submit(event, outcome, generation)


async def _apply_one(apply: Any, latest: Any, event: Any, dead_letter: Any) -> Outcome:
    partition, offset = int(event.message.partition), int(event.message.offset)
    try:
        return await apply(event.value, event.key, partition, offset, assembly=latest,  # type: ignore[no-any-return]
                           headers=event.message.headers)
    except Exception as exc:  # one bad record must never stop the agent
        log.exception("raw batch could not be processed")
        value = event.value if isinstance(event.value, bytes) else b""
        await dead_letter("processing_error", f"{type(exc).__name__}: {exc}", partition, offset, event.key,
                          value)
        return NOTHING
