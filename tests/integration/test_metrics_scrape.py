"""Scrape a running worker's ``/metrics`` after a replay: the official parser reads it, the families the
dashboards and alerts use are there with the right types, and ``promtool check metrics`` (when
installed) finds nothing to complain about."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from streamfix.runtime.settings import Settings

from .helpers import running_worker
from .test_api_routes import API_ENV, prepare_topics, replay_sample, wait_for_patterns

pytestmark = pytest.mark.kafka

FAMILIES = {
    "streamfix_lines_ingested": "counter",
    "streamfix_error_events": "counter",
    "streamfix_patterns": "gauge",
    "streamfix_fix_requests": "counter",
    "streamfix_fixes": "counter",
    "streamfix_prs_merged": "counter",
    "streamfix_claude_calls": "counter",
    "streamfix_claude_tokens": "counter",
    "streamfix_claude_request_duration_seconds": "histogram",
    "streamfix_source_lag_seconds": "gauge",
    "streamfix_source_dropped_lines": "counter",
    "streamfix_api_requests": "counter",
    "streamfix_api_request_duration_seconds": "histogram",
    "streamfix_consumer_lag_records": "gauge",
    "streamfix_consumer_stalls": "counter",
}


def raw_lag(text: str, raw_topic: str) -> dict[str, float]:
    """Partition -> records past the committed offset on the raw topic, from a /metrics answer."""
    for family in text_string_to_metric_families(text):
        if family.name == "streamfix_consumer_lag_records":
            return {s.labels["partition"]: s.value for s in family.samples if s.labels["topic"] == raw_topic}
    return {}


def test_metrics_scrape(kafka_settings: Settings, tmp_path: Path) -> None:
    # lag checked every 2 s; no quiet-period flush may add a pattern between the two reads compared below
    kafka_settings = kafka_settings.model_copy(update={"stall_seconds": 8.0, "assembly_quiet_seconds": 300.0})
    base = f"http://127.0.0.1:{kafka_settings.web_port}"
    raw_topic = f"{kafka_settings.topic_prefix}.logs.raw"
    prepare_topics(kafka_settings)
    with running_worker(kafka_settings, tmp_path / "worker.log", **API_ENV):
        expected = replay_sample(kafka_settings, time.time())
        patterns = wait_for_patterns(kafka_settings.web_port, expected, log=tmp_path / "worker.log")
        httpx.get(f"{base}/error-monitor/dashboard", timeout=10).raise_for_status()
        # every raw partition the worker owns gets a lag series, and with everything processed and
        # committed it reads 0 (the worker commits every 2.8 s and checks every 2 s)
        deadline = time.monotonic() + 60
        while True:
            resp = httpx.get(f"{base}/metrics", timeout=10)
            lag = raw_lag(resp.text, raw_topic)
            if (
                len(lag) == kafka_settings.topic_partitions and not any(lag.values())
            ) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
    assert lag == {str(p): 0.0 for p in range(kafka_settings.topic_partitions)}
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(resp.text)}
    for name, kind in FAMILIES.items():
        assert name in families, name
        assert families[name].type == kind, name
    assert families["streamfix_patterns"].samples[0].value == patterns["total"]
    events = {(s.labels["category"], s.labels["severity"]): s.value
              for s in families["streamfix_error_events"].samples if s.name.endswith("_total")}
    assert sum(events.values()) >= 1 and all(cat and sev for cat, sev in events)
    lines = sum(s.value for s in families["streamfix_lines_ingested"].samples if s.name.endswith("_total"))
    assert lines > 0
    api = {s.labels["route"] for s in families["streamfix_api_requests"].samples}
    assert "/error-monitor/dashboard" in api and "/error-monitor/errors/patterns" in api
    promtool = shutil.which("promtool")
    if promtool is not None:
        check = subprocess.run(
            [promtool, "check", "metrics"], input=resp.content, capture_output=True, timeout=30, check=False
        )
        assert check.returncode == 0, check.stdout.decode() + check.stderr.decode()
