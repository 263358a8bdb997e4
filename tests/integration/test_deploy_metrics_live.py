"""Every metric the Grafana dashboard and the alert rules query exists on a running worker's /metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from streamfix.runtime.settings import Settings
from streamfix.tools.replay import replay
from tests.deploy.helpers import metric_names_in_deploy_files

from .helpers import running_worker, wait_http_json

pytestmark = pytest.mark.kafka
SAMPLE = Path(__file__).resolve().parents[2] / "streamfix" / "samples" / "railway_sample.jsonl"
SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
    "untyped": ("",),
    "info": ("_info",),
}


def test_dashboard_and_alert_metrics_exist_on_a_running_worker(
    kafka_settings: Settings, tmp_path: Path
) -> None:
    with running_worker(kafka_settings, tmp_path / "worker.log"):
        asyncio.run(replay(kafka_settings, SAMPLE, service="sample", fmt="railway"))
        wait_http_json(f"http://127.0.0.1:{kafka_settings.web_port}/error-monitor/health",
                       lambda b: b["error_patterns_tracked"] > 0)
        text = httpx.get(f"http://127.0.0.1:{kafka_settings.web_port}/metrics", timeout=10).text
    exposed: set[str] = set()
    for family in text_string_to_metric_families(text):
        exposed |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
        exposed |= {sample.name for sample in family.samples}
    wanted = metric_names_in_deploy_files()
    assert wanted, "the deploy files query no metrics at all"
    assert wanted <= exposed, f"queried but not exported: {sorted(wanted - exposed)}"
