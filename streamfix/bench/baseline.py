"""The one-event-per-line baseline: the same core work, but every log line is its own Kafka message.

This is how a Faust pipeline is usually first written; ``streamfix bench pipeline`` runs it in the same
session as the batched pipeline and reports the ratio. Run as ``python -m streamfix.bench.baseline``
with the benchmark's ``STREAMFIX_*`` settings in the environment.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.worker import Worker

from streamfix.core.pipeline import run_batch
from streamfix.kafka import codecs
from streamfix.runtime.settings import load_settings


def main() -> None:
    settings = load_settings()
    codecs.register()
    app = faust.App(
        f"{settings.app_id}-baseline", broker=settings.broker, store="memory://", autodiscover=False,
        topic_partitions=settings.topic_partitions, broker_session_timeout=settings.broker_session_timeout,
        consumer_auto_offset_reset="earliest", web_port=settings.web_port, web_bind="127.0.0.1",
    )
    schema: Any = faust.Schema(key_type=str, key_serializer="raw", value_serializer="orjson")
    lines_topic = app.topic(
        f"{settings.topic_prefix}.lines",
        partitions=settings.topic_partitions,
        internal=True,
        key_serializer="raw",
        value_serializer="raw",
    )
    assembly = app.Table("assembly", default=None, partitions=settings.topic_partitions, schema=schema)
    counts = app.Table("counts", default=int, partitions=settings.topic_partitions, schema=schema)
    processed = app.Table("processed", default=int, partitions=settings.topic_partitions, schema=schema)

    @app.agent(lines_topic)
    async def per_line(stream: Any) -> None:
        async for key, value in stream.items():
            stream_key = key.decode() if isinstance(key, bytes) else str(key)
            result = run_batch([value.decode()], assembly.get(stream_key))
            assembly[stream_key] = result.state
            for event in result.events:
                counts[event.fingerprint] += 1
            processed[stream_key] += 1

    @app.page("/processed")
    async def total(web: Any, request: Any) -> Any:
        return web.json({"lines": sum(processed.values())})

    Worker(app, loglevel="warn", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
