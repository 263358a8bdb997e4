"""(a) Two workers over four partitions count exactly what one worker counts, and both answer alike."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from streamfix.runtime.settings import Settings

from .conftest import free_port
from .helpers import expected_counts, publish_streams, running_worker, synth_streams, wait_counts

pytestmark = pytest.mark.kafka


@pytest.fixture
def kafka_settings(kafka_settings: Settings) -> Settings:
    """Counts are compared with an in-process run: no quiet-period flush may split a traceback."""
    return kafka_settings.model_copy(update={"assembly_quiet_seconds": 300.0})


def test_two_workers_count_like_one(kafka_settings: Settings, tmp_path: Path) -> None:
    streams = synth_streams(40_000, seed=11, streams=8)
    expected = expected_counts(streams)
    assert sum(expected.values()) > 100

    one = kafka_settings
    with running_worker(one, tmp_path / "one.log"):
        asyncio.run(publish_streams(one, streams))
        single = wait_counts(one, expected)
    assert single == expected, (tmp_path / "one.log").read_text()[-2000:]

    tag = f"{kafka_settings.app_id}b"
    base = kafka_settings.model_copy(update={"app_id": tag, "topic_prefix": tag})
    first = base.model_copy(update={"web_port": free_port(), "data_dir": tmp_path / "w1"})
    second = base.model_copy(update={"web_port": free_port(), "data_dir": tmp_path / "w2"})
    with running_worker(first, tmp_path / "w1.log"), running_worker(second, tmp_path / "w2.log"):
        asyncio.run(publish_streams(base, streams))
        from_first = wait_counts(first, expected)
        from_second = wait_counts(second, expected)
    assert from_first == expected, (tmp_path / "w1.log").read_text()[-2000:]
    assert from_second == expected, (tmp_path / "w2.log").read_text()[-2000:]
