"""A traceback cut off by a quiet period is flushed as incomplete, never lost."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from streamfix.kafka.clients import Publisher, ensure_topics
from streamfix.kafka.wire import RawBatch
from streamfix.runtime.settings import Settings

from .helpers import running_worker, wait_http_json

pytestmark = pytest.mark.kafka

CUT_OFF = [
    '{"message":"Traceback (most recent call last):","timestamp":"2026-11-28T10:00:01.000Z","level":"error"}',
    '{"message":"  File \\"/app/src/jobs/sync.py\\", line 12, in run","timestamp":"2026-11-28T10:00:01.001Z","level":"error"}',  # noqa: E501
    '{"message":"    client.sync(account)","timestamp":"2026-11-28T10:00:01.002Z","level":"error"}',
]


def test_quiet_stream_flushes_its_open_traceback(kafka_settings: Settings, tmp_path: Path) -> None:
    settings = kafka_settings.model_copy(update={"assembly_quiet_seconds": 1.0})
    asyncio.run(ensure_topics(settings))

    async def publish() -> None:
        async with Publisher(settings) as pub:
            batch = RawBatch(
                batch_id="q:0",
                source="replay",
                stream="replay:jobs",
                labels={"service": "jobs"},
                format="railway",
                lines=CUT_OFF,
                sent_at=time.time(),
            )
            await (await pub.send_batch(batch))

    with running_worker(settings, tmp_path / "worker.log", STREAMFIX_ASSEMBLY_QUIET_SECONDS="1.0"):
        asyncio.run(publish())
        body = wait_http_json(f"http://127.0.0.1:{settings.web_port}/error-monitor/errors/patterns",
                              lambda b: b["total"] == 1, timeout=60)
    pattern = body["patterns"][0]
    assert pattern["count"] == 1
    assert (pattern["file"], pattern["line"], pattern["function"]) == ("/app/src/jobs/sync.py", 12, "run")
    assert pattern["services"] == ["jobs"]
