"""Two workers of one app (two processes, same app id) answer every read route the same way.

Each worker serves the API from its own tables. Whether both see every pattern depends on how the
tables are shared between workers (a global table, or routing to the owning worker); this test says
so plainly when they differ.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from streamfix.runtime.settings import Settings

from .conftest import free_port
from .helpers import running_worker
from .test_api_routes import API_ENV, prepare_topics, replay_sample, wait_for_patterns

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

P = "/error-monitor"
READS = [
    f"{P}/health", f"{P}/errors/recent?hours=24&limit=1000", f"{P}/errors/critical?hours=24",
    f"{P}/errors/fixable?hours=24", f"{P}/errors/patterns?limit=10000", f"{P}/errors/timeline?hours=24",
    f"{P}/dashboard", f"{P}/fixes/generated",
]


def normalised(path: str, body: Any) -> Any:
    """Drop what moves with the clock (the dashboard's timestamp, the timeline's bucket edges) and what
    health reports of the process itself: the sources it consumed (each worker sees only the raw
    partitions it owns) and its own log shipping."""
    if path.startswith(f"{P}/health"):
        assert set(body["sources"]) >= {"railway", "loki"} and "loki_shipping" in body
        body = {k: v for k, v in body.items() if k not in ("sources", "loki_shipping")}
    if path.startswith(f"{P}/dashboard"):
        body = {k: v for k, v in body.items() if k not in ("timestamp", "timestamp_epoch")}
    if path.startswith(f"{P}/errors/timeline"):
        body = {category: sum(counts) for category, counts in body["series"].items()}
    return body


def answers(port: int) -> dict[str, Any]:
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        return {path: normalised(path, client.get(path).json()) for path in READS}


def test_two_workers_give_the_same_answers(kafka_settings: Settings, tmp_path: Path) -> None:
    second = kafka_settings.model_copy(update={"web_port": free_port(), "data_dir": tmp_path / "worker-2"})
    prepare_topics(kafka_settings)
    with running_worker(kafka_settings, tmp_path / "worker-1.log", **API_ENV), \
            running_worker(second, tmp_path / "worker-2.log", **API_ENV):
        expected = replay_sample(kafka_settings, time.time())
        wait_for_patterns(kafka_settings.web_port, expected, log=tmp_path / "worker-1.log")
        wait_for_patterns(second.web_port, expected, timeout=60, log=tmp_path / "worker-2.log")
        # Each worker reads the tables' changelogs, so a write reaches the two a few milliseconds apart
        # (the quiet-period flush of a stream's last traceback can land between two reads): compare
        # once both have settled on the same answers.
        deadline = time.monotonic() + 30
        while True:
            one, two = answers(kafka_settings.web_port), answers(second.web_port)
            if one == two or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        first_view = one[f"{P}/errors/patterns?limit=10000"]
    for path in READS:
        assert one[path] == two[path], path
    assert one[f"{P}/health"]["error_patterns_tracked"] == first_view["total"] > 0
