"""``ERROR_MONITORING_ENABLED=false`` on a real worker and broker: a replayed log with a traceback gives no
pattern and no fix request, while the raw batches are still consumed, committed and counted."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError

from streamfix.kafka import topics
from streamfix.kafka.clients import GroupOffsets, ensure_topics
from streamfix.runtime.settings import Settings
from streamfix.tools.replay import replay

from .helpers import running_worker, wait_http_json
from .test_smoke import TRACEBACK_LINES

pytestmark = pytest.mark.kafka


async def end_offsets(settings: Settings, spec: topics.TopicSpec) -> dict[tuple[str, int], int]:
    topic = spec.name(settings)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap_servers, group_id=None)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(
            [TopicPartition(topic, p) for p in range(spec.partition_count(settings))])
    finally:
        await consumer.stop()
    return {(tp.topic, tp.partition): offset for tp, offset in ends.items()}


async def wait_committed(settings: Settings, ends: dict[tuple[str, int], int], wait_s: float = 45.0
                         ) -> dict[tuple[str, int], int | None]:
    """Poll the worker's group offsets until they reach ``ends`` (the broker offers no push for this)."""
    offsets = GroupOffsets(settings.bootstrap_servers, settings.app_id)
    deadline = time.monotonic() + wait_s
    try:
        while True:
            try:
                committed = await offsets.committed(ends)
            except KafkaError:  # the group's coordinator is not ready yet on a fresh broker
                committed = dict.fromkeys(ends)
            if all((committed[tp] or 0) >= end for tp, end in ends.items()) or time.monotonic() > deadline:
                return committed
            await asyncio.sleep(0.2)
    finally:
        await offsets.close()


def test_monitoring_disabled_commits_raw_offsets_and_makes_no_pattern_or_fix_request(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    settings = kafka_settings
    asyncio.run(ensure_topics(settings))
    log = tmp_path / "app.log"
    log.write_text("\n".join(TRACEBACK_LINES * 3) + "\n", encoding="utf-8")
    base = f"http://127.0.0.1:{settings.web_port}/error-monitor"
    with running_worker(settings, tmp_path / "worker.log", ERROR_MONITORING_ENABLED="false",
                        AUTO_FIX_ENABLED="true", STREAMFIX_FIX_THRESHOLD_COUNT="1"):
        wait_http_json(f"{base}/health", lambda b: b["monitoring_enabled"] is False)
        result = asyncio.run(replay(settings, log, service="api", auto_fix=True, batch_size=4))
        assert result.batches == 9
        ends = asyncio.run(end_offsets(settings, topics.RAW))
        assert sum(ends.values()) == result.batches
        committed = asyncio.run(wait_committed(settings, ends))
        assert {tp: committed[tp] or 0 for tp in ends} == ends, (tmp_path / "worker.log").read_text()[-3000:]
        scrape = httpx.get(f"http://127.0.0.1:{settings.web_port}/metrics", timeout=5).text
        skipped = 'streamfix_raw_batches_skipped_total{reason="monitoring_disabled"}'
        assert f"{skipped} {result.batches}.0" in scrape
        health = httpx.get(f"{base}/health", timeout=5).json()
        assert (health["monitoring_enabled"], health["error_patterns_tracked"]) == (False, 0)
        assert (health["sources"]["replay"]["batches"], health["sources"]["replay"]["lines"]) == (9, 33)
        assert httpx.get(f"{base}/errors/patterns", timeout=5).json()["total"] == 0
    for spec in (topics.ERRORS, topics.FIX_REQUESTS):
        assert sum(asyncio.run(end_offsets(settings, spec)).values()) == 0
