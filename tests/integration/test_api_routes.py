"""Every route of the REST API on a real worker fed by a replayed log (the bundled Railway sample).

The sample's timestamps are shifted to end a minute ago, so "recent" means the same whatever day the
test runs. Also home of the replay helpers the other API tests use.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from streamfix.kafka.clients import Publisher, ensure_topics
from streamfix.kafka.wire import FixRequest
from streamfix.runtime.settings import Settings
from streamfix.tools.demo import expected_occurrences, split_by_service
from streamfix.tools.replay import batches, read_lines
from streamfix.web import openapi
from tests.unit.web.schema import validate

from .helpers import REPO_ROOT, read_topic, running_worker, wait_http_json

pytestmark = pytest.mark.kafka

SAMPLE = REPO_ROOT / "streamfix" / "samples" / "railway_sample.jsonl"
TOKEN = "integration-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
API_ENV = {"STREAMFIX_API_TOKEN": TOKEN, "STREAMFIX_API_RATE_LIMIT": "0", "STREAMFIX_API_CACHE_SECONDS": "0"}
P = "/error-monitor"


def _parse_ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def shifted_sample(now: float, path: Path = SAMPLE) -> list[str]:
    """The sample's lines with every JSON ``timestamp`` moved so that the last one is a minute before ``now``."""  # noqa: E501
    objects: list[Any] = []
    newest = 0.0
    for line in read_lines(path):
        obj = orjson.loads(line) if line.startswith("{") else None
        if isinstance(obj, dict) and isinstance(obj.get("timestamp"), str):
            newest = max(newest, _parse_ts(obj["timestamp"]))
        objects.append(obj if isinstance(obj, dict) else line)
    shift = (now - 60.0) - newest
    out = []
    for obj in objects:
        if isinstance(obj, dict) and isinstance(obj.get("timestamp"), str):
            moved = datetime.fromtimestamp(_parse_ts(obj["timestamp"]) + shift, tz=UTC)
            obj["timestamp"] = moved.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            out.append(orjson.dumps(obj).decode())
        else:
            out.append(obj if isinstance(obj, str) else orjson.dumps(obj).decode())
    return out


async def publish_lines(settings: Settings, lines: list[str]) -> int:
    """Publish the lines one stream per service; returns how many error occurrences the worker must count."""
    await ensure_topics(settings)
    streams = split_by_service(lines)
    run = uuid.uuid4().hex[:8]
    async with Publisher(settings) as pub:
        for service, service_lines in streams.items():
            for batch in batches(service_lines, stream=f"replay:{service}", source="replay",
                                 labels={"service": service}, size=200, fmt="railway", run_id=run):
                await pub.send_batch(batch)
        await pub.flush()
    return expected_occurrences(streams)


def prepare_topics(settings: Settings) -> None:
    """Create the topics before a worker starts: one that joins its group first is assigned nothing."""
    asyncio.run(ensure_topics(settings))


def replay_sample(settings: Settings, now: float) -> int:
    return asyncio.run(publish_lines(settings, shifted_sample(now)))


def wait_for_patterns(
    port: int, expected: int, timeout: float = 90.0, log: Path | None = None
) -> dict[str, Any]:
    """Poll the patterns route until the worker has counted ``expected`` occurrences."""
    url = f"http://127.0.0.1:{port}{P}/errors/patterns?limit=10000"
    try:
        body: dict[str, Any] = wait_http_json(
            url, lambda b: sum(int(p["count"]) for p in b["patterns"]) >= expected, timeout=timeout)
    except TimeoutError as exc:
        tail = log.read_text(errors="replace")[-4000:] if log is not None and log.exists() else ""
        raise AssertionError(f"{exc}\n--- worker log tail ---\n{tail}") from None
    return body


def get_ok(client: httpx.Client, path: str, doc_path: str | None = None) -> Any:
    resp = client.get(path)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    validate(body, doc_path or path.split("?")[0], "get", 200)
    return body


def test_every_route_on_a_replayed_log(kafka_settings: Settings, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    prepare_topics(kafka_settings)
    with running_worker(kafka_settings, log, **API_ENV):
        expected = replay_sample(kafka_settings, time.time())
        assert expected > 10
        patterns = wait_for_patterns(kafka_settings.web_port, expected, log=log)
        with httpx.Client(base_url=f"http://127.0.0.1:{kafka_settings.web_port}", timeout=10.0) as client:
            health = get_ok(client, f"{P}/health")
            assert {k: health[k] for k in ("status", "monitoring_enabled", "error_patterns_tracked")} == {
                "status": "healthy", "monitoring_enabled": True, "error_patterns_tracked": patterns["total"]}
            assert health["sources"]["replay"]["seen"] and health["sources"]["replay"]["lines"] > 0
            validate(health, f"{P}/health", "get", 200)
            validate(patterns, f"{P}/errors/patterns", "get", 200)
            recent = get_ok(client, f"{P}/errors/recent?hours=24&limit=1000")
            critical = get_ok(client, f"{P}/errors/critical?hours=24&limit=1000")
            fixable = get_ok(client, f"{P}/errors/fixable?hours=24&limit=1000")
            assert len(recent) == patterns["total"] and sum(e["count"] for e in recent) == expected
            assert {e["fingerprint"] for e in critical} <= {e["fingerprint"] for e in recent}
            assert all(e["severity"] == "critical" for e in critical)
            assert get_ok(client, f"{P}/errors/recent?hours=24&limit=1000&severity=CRITICAL") == critical
            assert all(e["severity"] in {"critical", "high", "medium", "low", "info"} for e in recent)
            for e in recent:  # ISO 8601 UTC strings, with the epoch values alongside
                for key in ("timestamp", "first_seen", "last_seen"):
                    assert e[key] == datetime.fromtimestamp(int(e[f"{key}_epoch"]), tz=UTC).strftime(
                        "%Y-%m-%dT%H:%M:%SZ"), (key, e)
            assert fixable and all(e["fixable"] for e in fixable)
            for e in recent[:3]:
                for key in (
                    "timestamp",
                    "error_type",
                    "message",
                    "category",
                    "severity",
                    "file",
                    "line",
                    "function",
                    "count",
                    "fixable",
                    "suggested_fix",
                    "fingerprint",
                    "first_seen",
                    "last_seen",
                    "services",
                ):
                    assert key in e
            dash = get_ok(client, f"{P}/dashboard")
            assert dash["summary"]["total_patterns"] == patterns["total"]
            assert sum(dash["summary"]["patterns_by_category"].values()) == patterns["total"]
            assert dash["summary"]["critical_errors"] == len(critical)
            timeline = get_ok(client, f"{P}/errors/timeline?hours=24")
            assert sum(sum(v) for v in timeline["series"].values()) == expected
            detail = get_ok(
                client, f"{P}/patterns/{fixable[0]['fingerprint']}", f"{P}/patterns/{{fingerprint}}"
            )
            assert detail["traceback"]
            assert get_ok(client, f"{P}/fixes/generated") == {"fixes": [], "total": 0}
            assert client.get(f"{P}/fixes/nope").status_code == 404
            assert client.get("/metrics").status_code == 200
            assert client.get(f"{P}/openapi.json").json() == openapi.document()
            assert "Generate fix" in client.get(f"{P}/ui/dashboard.js").text

            # mutating routes: closed without the token, fix requests on the topic with it
            assert (
                client.post(f"{P}/fixes/generate-for-error?error_id={fixable[0]['fingerprint']}").status_code
                == 401
            )
            target = fixable[0]
            resp = client.post(
                f"{P}/fixes/generate-for-error?error_id={target['fingerprint']}&create_pr=false", headers=AUTH
            )
            assert resp.status_code == 202, resp.text
            validate(resp.json(), f"{P}/fixes/generate-for-error", "post", 202)
            one = resp.json()["request_ids"]
            resp = client.post(f"{P}/fixes/generate-for-error?error_id={target['category']}", headers=AUTH)
            assert resp.status_code == 202 and resp.json()["kind"] == "category"
            in_category = resp.json()["request_ids"]
            assert in_category == sorted(
                f"{e['fingerprint']}#1" for e in fixable if e["category"] == target["category"]
            )
            resp = client.post(
                f"{P}/fixes/generate-batch?error_ids={target['fingerprint']},nope", headers=AUTH
            )
            assert resp.status_code == 202 and resp.json()["not_found"] == ["nope"]
            batch = resp.json()["request_ids"]
            assert client.post(f"{P}/monitor/start?interval=60", headers=AUTH).status_code == 409
            assert client.post(f"{P}/monitor/scan?hours=1", headers=AUTH).status_code == 409
            for bad in ("errors/recent?hours=-1", "errors/critical?hours=abc", "dashboard?limit=0"):
                resp = client.get(f"{P}/{bad}")
                assert resp.status_code == 422 and resp.json()["error"] == "invalid_parameter"

        records = asyncio.run(read_topic(kafka_settings, f"{kafka_settings.topic_prefix}.fix-requests",
                                         len(one) + len(in_category) + len(batch), wait_s=30))
        requests = [FixRequest.from_obj(orjson.loads(r.value)) for r in records]
        assert sorted(r.request_id for r in requests) == sorted(
            one + in_category + batch
        )  # across partitions
        assert all(r.trigger == "api" for r in requests)
        assert [rec.key.decode() for rec in records] == [r.fingerprint for r in requests]
        first = next(r for r in requests if r.request_id == one[0] and not r.create_pr)
        assert first.sample_traceback and first.occurrences == target["total_count"]
        assert sum(r.create_pr for r in requests) == len(in_category) + len(batch)
    assert "API request failed" not in log.read_text()
