"""The monitor routes against the fake Loki server: a one-off scan publishes what Loki holds and the
worker groups it; the periodic scan started through the API picks up a traceback logged later."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from streamfix.kafka.clients import ensure_topics
from streamfix.runtime.settings import Settings
from tests.fakes.loki_server import FakeLoki
from tests.unit.web.schema import validate

from .helpers import running_worker
from .test_api_routes import API_ENV, AUTH

pytestmark = [pytest.mark.kafka, pytest.mark.timeout(180)]

P = "/error-monitor"
LABELS = {"app": "api", "service": "api"}


def traceback_lines(error: str, function: str) -> list[str]:
    return [
        "Traceback (most recent call last):",
        f'  File "/app/src/{function}.py", line 12, in {function}',
        "    return handle(payload)",
        error,
        "2026-11-28 10:00:01,123 INFO app: GET /health 200",  # two log lines after it close the traceback
        "2026-11-28 10:00:02,456 INFO app: GET /health 200",
    ]


def add_lines(loki: FakeLoki, lines: list[str], ts: float) -> None:
    for i, line in enumerate(lines):
        loki.add(LABELS, int(ts * 1e9) + i * 1_000_000, line)


async def wait_for_error(client: httpx.AsyncClient, error_type: str, within_s: float) -> dict[str, Any]:
    """Poll the patterns route (the worker has no push channel) until ``error_type`` is there."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        body = (await client.get(f"{P}/errors/patterns")).json()
        found: list[dict[str, Any]] = [p for p in body["patterns"] if p["error_type"] == error_type]
        if found:
            return found[0]
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {error_type} pattern within {within_s:.0f} s")


async def test_scan_and_periodic_monitor_through_the_api(kafka_settings: Settings, tmp_path: Path) -> None:
    await ensure_topics(kafka_settings)
    async with FakeLoki() as loki:
        add_lines(loki, traceback_lines("KeyError: 'user-7'", "load_user"), time.time() - 600)
        env = {**API_ENV, "STREAMFIX_LOKI_URL": loki.url, "STREAMFIX_LOKI_QUERY": '{app="api"}'}
        with running_worker(kafka_settings, tmp_path / "worker.log", **env):
            base = f"http://127.0.0.1:{kafka_settings.web_port}"
            async with httpx.AsyncClient(base_url=base, timeout=30) as client:
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    try:
                        if (await client.get(f"{P}/health")).status_code == 200:
                            break
                    except httpx.TransportError:
                        await asyncio.sleep(0.2)

                resp = await client.post(f"{P}/monitor/scan?hours=1&auto_fix=false", headers=AUTH)
                assert resp.status_code == 200, resp.text
                validate(resp.json(), f"{P}/monitor/scan", "post", 200)
                assert resp.json()["lines"] == 6 and loki.requests
                pattern = await wait_for_error(client, "KeyError", 60)
                assert pattern["function"] == "load_user" and pattern["count"] == 1

                resp = await client.post(f"{P}/monitor/start?interval=10", headers=AUTH)
                assert resp.status_code == 202 and resp.json() == {"status": "started", "interval": 10.0}
                validate(resp.json(), f"{P}/monitor/start", "post", 202)
                resp = await client.post(f"{P}/monitor/start?interval=10", headers=AUTH)
                assert resp.json()["status"] == "restarted"
                add_lines(loki, traceback_lines("ValueError: bad amount", "charge"), time.time())
                later = await wait_for_error(client, "ValueError", 60)
                assert later["function"] == "charge"
                keyerror = await wait_for_error(client, "KeyError", 1)
                assert keyerror["count"] == 1  # the periodic scans did not read the old traceback again
    assert "API request failed" not in (tmp_path / "worker.log").read_text()
