"""Smoke test: a real `streamfix worker` process against the real broker.

A raw batch goes in; the error event comes out on the errors topic; the pattern shows up in the
health route; SIGTERM stops the worker cleanly. Also measures worker start to first record processed.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import orjson
import pytest

from streamfix.kafka.clients import Publisher, ensure_topics
from streamfix.kafka.wire import ErrorEventRecord, RawBatch
from streamfix.runtime.settings import Settings

from .helpers import read_topic, running_worker, wait_http_json

pytestmark = pytest.mark.kafka

TRACEBACK_LINES = [
    '{"message":"GET /users/42 200","timestamp":"2026-11-28T10:00:00.000Z","level":"info"}',
    '{"message":"Traceback (most recent call last):","timestamp":"2026-11-28T10:00:01.000Z","level":"error"}',
    '{"message":"  File \\"/app/src/api/users.py\\", line 42, in get_user","timestamp":"2026-11-28T10:00:01.001Z","level":"error"}',  # noqa: E501
    '{"message":"    return USERS[user_id]","timestamp":"2026-11-28T10:00:01.002Z","level":"error"}',
    '{"message":"KeyError: \'u-42\'","timestamp":"2026-11-28T10:00:01.003Z","level":"error"}',
    # the traceback is complete once enough ordinary lines follow it (or its stream goes quiet)
    *[
        f'{{"message":"GET /health 200","timestamp":"2026-11-28T10:00:0{2 + i}.000Z","level":"info"}}'
        for i in range(6)
    ],
]


def test_worker_turns_a_raw_batch_into_an_error_event(kafka_settings: Settings, tmp_path: Path) -> None:
    asyncio.run(ensure_topics(kafka_settings))
    batch = RawBatch(batch_id="smoke:0", source="replay", stream="replay:api", labels={"service": "api"},
                     format="railway", lines=TRACEBACK_LINES, sent_at=time.time())

    async def publish() -> None:
        async with Publisher(kafka_settings) as pub:
            await (await pub.send_batch(batch))

    started = time.monotonic()
    with running_worker(kafka_settings, tmp_path / "worker.log") as proc:
        asyncio.run(publish())
        records = asyncio.run(
            read_topic(kafka_settings, f"{kafka_settings.topic_prefix}.errors", 1, wait_s=60)
        )
        first_record_s = time.monotonic() - started
        assert len(records) == 1, (tmp_path / "worker.log").read_text()[-3000:]
        event = ErrorEventRecord.from_obj(orjson.loads(records[0].value))
        assert (event.error_type, event.file, event.line, event.function) == (
            "KeyError", "/app/src/api/users.py", 42, "get_user")
        assert event.service == "api" and event.fingerprint.startswith("fp1:")
        assert records[0].key == event.fingerprint.encode()
        health = wait_http_json(f"http://127.0.0.1:{kafka_settings.web_port}/error-monitor/health",
                                lambda b: b["error_patterns_tracked"] == 1)
        assert {k: health[k] for k in ("status", "monitoring_enabled", "error_patterns_tracked")} == {
            "status": "healthy", "monitoring_enabled": True, "error_patterns_tracked": 1}
        assert (health["sources"]["replay"]["batches"], health["sources"]["replay"]["lines"]) == (1, 11)
        print(f"\nworker start to first record processed: {first_record_s:.2f} s")
        assert first_record_s < 10.0
    assert proc.returncode == 0, (tmp_path / "worker.log").read_text()[-3000:]
