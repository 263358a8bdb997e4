"""The ingest agent: raw batches in, error events out, bad input to the dead-letter topic.

The work is :func:`streamfix.services.ingest.ingest_batch`; a timer sends the "tick" batches that
flush streams gone quiet in the middle of a traceback (:func:`streamfix.services.ingest.quiet_ticks`).
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Any

from agents.liveness import liveness_for
from streamfix.kafka.publish import TopicPublisher
from streamfix.runtime.shared import StreamfixApp
from streamfix.services.deadletter import dead_letter_sender
from streamfix.services.ingest import IngestConfig, ingest_batch, quiet_ticks
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
    apply = functools.partial(ingest_batch, assembly=assembly, config=config, out=out,
                              dead_letter=dead_letter, raw_partitions=raw_partitions, reroute=reroute,
                              sources=source_registry(sf.state))

    @sf.app.agent(raw_topic, name=f"{settings.app_id}.ingest")
    async def ingest(stream: Any) -> None:
        async for event in stream.events():
            if not await live.admit(event):  # an earlier record was never delivered: read again first
                continue
            partition, offset = int(event.message.partition), int(event.message.offset)
            try:
                await apply(event.value, event.key, partition, offset, headers=event.message.headers)
            except Exception as exc:  # one bad record must never stop the agent
                log.exception("raw batch could not be processed")
                value = event.value if isinstance(event.value, bytes) else b""
                await dead_letter("processing_error", f"{type(exc).__name__}: {exc}", partition, offset,
                                  event.key, value)
