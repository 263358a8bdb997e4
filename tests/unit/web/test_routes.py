"""Every route on an in-process app over plain-dict tables: shapes (against the OpenAPI document),
filters, fix requests and the JSON errors of bad input."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from .conftest import AUTH, NOW, Api, ApiFactory, event
from .schema import validate

P = "/error-monitor"


async def get_json(api: Api, path: str, status: int = 200) -> Any:
    resp = await api.client.get(path)
    assert resp.status == status, await resp.text()
    assert resp.content_type == "application/json"
    return await resp.json()


@pytest.mark.parametrize(
    ("url", "doc_path"),
    [
        pytest.param(f"{P}/health", f"{P}/health", id="health"),
        pytest.param(f"{P}/errors/recent?hours=24", f"{P}/errors/recent", id="recent"),
        pytest.param(f"{P}/errors/critical?hours=1", f"{P}/errors/critical", id="critical"),
        pytest.param(f"{P}/errors/fixable?hours=0.5&limit=1", f"{P}/errors/fixable", id="fixable"),
        pytest.param(f"{P}/errors/patterns", f"{P}/errors/patterns", id="patterns"),
        pytest.param(f"{P}/errors/timeline?hours=6", f"{P}/errors/timeline", id="timeline"),
        pytest.param(f"{P}/patterns/fp1:aa01", f"{P}/patterns/{{fingerprint}}", id="pattern-detail"),
        pytest.param(f"{P}/dashboard", f"{P}/dashboard", id="dashboard"),
        pytest.param(f"{P}/fixes/generated", f"{P}/fixes/generated", id="fixes"),
        pytest.param(f"{P}/fixes/fix-1", f"{P}/fixes/{{fix_id}}", id="fix-detail"),
    ],
)
async def test_read_routes_match_the_document(make_api: ApiFactory, url: str, doc_path: str) -> None:
    api = await make_api()
    validate(await get_json(api, url), doc_path, "get", 200)


async def test_health_shape(make_api: ApiFactory) -> None:
    api = await make_api()
    health = await get_json(api, f"{P}/health")
    assert {k: health[k] for k in ("status", "monitoring_enabled", "error_patterns_tracked")} == {
        "status": "healthy",
        "monitoring_enabled": True,
        "error_patterns_tracked": 4,
    }
    validate(health, f"{P}/health", "get", 200)


async def test_error_lists_filter_by_period_severity_and_fixable(make_api: ApiFactory) -> None:
    api = await make_api()
    recent = await get_json(api, f"{P}/errors/recent?hours=1")
    assert [e["fingerprint"] for e in recent] == ["fp1:aa01", "fp1:aa02"]  # CRITICAL first
    everything = await get_json(api, f"{P}/errors/recent?hours=100")
    assert {e["fingerprint"] for e in everything} == {"fp1:aa01", "fp1:aa02", "fp1:aa03", "fp1:aa04"}
    critical = await get_json(api, f"{P}/errors/critical?hours=24")
    assert [e["fingerprint"] for e in critical] == ["fp1:aa01"]
    fixable = await get_json(api, f"{P}/errors/fixable?hours=24")
    assert [(e["fingerprint"], e["fixable"]) for e in fixable] == [("fp1:aa01", True), ("fp1:aa02", True)]
    network = await get_json(api, f"{P}/errors/patterns?category=network")
    assert network["total"] == 2


async def test_count_is_occurrences_in_the_period(make_api: ApiFactory) -> None:
    api = await make_api(
        events=[
            event("fp1:bb01", ts=NOW - 60, offset=1),
            event("fp1:bb01", ts=NOW - 5 * 3600, offset=2, occurrences=3),
        ]
    )
    [short] = await get_json(api, f"{P}/errors/recent?hours=1")
    [long] = await get_json(api, f"{P}/errors/recent?hours=24")
    assert (short["count"], short["total_count"], long["count"]) == (1, 4, 4)


async def test_dashboard_summary(make_api: ApiFactory) -> None:
    api = await make_api()
    body = await get_json(api, f"{P}/dashboard")
    assert (body["timestamp"], body["timestamp_epoch"]) == ("2025-11-28T10:00:00Z", NOW)
    assert body["summary"] == {
        "total_patterns": 4,
        "critical_errors": 1,
        "fixable_errors": 2,
        "generated_fixes": 1,
        "patterns_by_category": {"database": 1, "network": 2, "validation": 1},
    }
    assert [e["fingerprint"] for e in body["recent_critical"]] == ["fp1:aa01"]
    assert [f["fix_id"] for f in body["recent_fixes"]] == ["fix-1"]


async def test_timeline_sums_window_counts_per_category(make_api: ApiFactory) -> None:
    api = await make_api()
    body = await get_json(api, f"{P}/errors/timeline?hours=3")
    assert {k: sum(v) for k, v in body["series"].items()} == {"database": 2, "network": 5}
    assert len(body["buckets"]) <= 120 and body["bucket_seconds"] % 60 == 0


async def test_pattern_detail_has_the_sample_traceback(make_api: ApiFactory) -> None:
    api = await make_api()
    body = await get_json(api, f"{P}/patterns/fp1:aa01")
    assert body["traceback"].startswith("Traceback (most recent call last):")
    assert body["fix_state"]["status"] == "pr_open" and [f["fix_id"] for f in body["fixes"]] == ["fix-1"]
    assert (await get_json(api, f"{P}/patterns/fp1:nope", 404))["error"] == "not_found"


async def test_generate_for_a_fingerprint_publishes_one_request(make_api: ApiFactory) -> None:
    api = await make_api()
    resp = await api.client.post(
        f"{P}/fixes/generate-for-error?error_id=fp1:aa02&create_pr=false", headers=AUTH
    )
    assert resp.status == 202
    body = await resp.json()
    validate(body, f"{P}/fixes/generate-for-error", "post", 202)
    assert body["request_ids"] == ["fp1:aa02#1"] and body["kind"] == "pattern"
    [(role, key, value)] = api.published
    assert (role, key) == ("fix_requests", "fp1:aa02")
    assert (value["trigger"], value["request_id"], value["create_pr"], value["occurrences"]) == (
        "api",
        "fp1:aa02#1",
        False,
        4,
    )


async def test_generate_for_a_category_takes_its_fixable_patterns(make_api: ApiFactory) -> None:
    api = await make_api()
    resp = await api.client.post(f"{P}/fixes/generate-for-error?error_id=network", headers=AUTH)
    body = await resp.json()
    assert resp.status == 202 and body["kind"] == "category"
    assert body["request_ids"] == ["fp1:aa02#1"]  # fp1:aa03 is not fixable
    assert body["create_pr"] is True and api.published[0][2]["create_pr"] is True


async def test_attempt_follows_the_fix_state(make_api: ApiFactory) -> None:
    api = await make_api()
    resp = await api.client.post(f"{P}/fixes/generate-for-error?error_id=fp1:aa01", headers=AUTH)
    assert (await resp.json())["request_ids"] == ["fp1:aa01#2"]


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        pytest.param("", 400, "missing_parameter", id="missing-id"),
        pytest.param("error_id=fp1:zzzz", 404, "not_found", id="unknown-id"),
        pytest.param("error_id=validation", 404, "no_fixable_patterns", id="category-without-fixable"),
        pytest.param("error_id=fp1:aa01&create_pr=maybe", 422, "invalid_parameter", id="bad-bool"),
        pytest.param("error_id=" + "x" * 300, 422, "invalid_parameter", id="too-long"),
    ],
)
async def test_generate_for_error_refuses_bad_input(
    make_api: ApiFactory, query: str, status: int, error: str
) -> None:
    api = await make_api()
    resp = await api.client.post(f"{P}/fixes/generate-for-error?{query}", headers=AUTH)
    assert resp.status == status
    assert (await resp.json())["error"] == error
    assert api.published == []


async def test_generate_batch(make_api: ApiFactory) -> None:
    api = await make_api()
    resp = await api.client.post(
        f"{P}/fixes/generate-batch?error_ids=fp1:aa02,database,nope,fp1:aa02", headers=AUTH
    )
    body = await resp.json()
    assert resp.status == 202, body
    validate(body, f"{P}/fixes/generate-batch", "post", 202)
    assert sorted(body["request_ids"]) == ["fp1:aa01#2", "fp1:aa02#1"] and body["not_found"] == ["nope"]
    resp = await api.client.post(f"{P}/fixes/generate-batch?error_ids=nope,other", headers=AUTH)
    assert resp.status == 404
    resp = await api.client.post(f"{P}/fixes/generate-batch?error_ids=,,", headers=AUTH)
    assert resp.status == 400


@pytest.mark.parametrize(
    "url",
    [
        pytest.param(f"{P}/errors/recent?hours=abc", id="not-a-number"),
        pytest.param(f"{P}/errors/recent?hours=0", id="zero"),
        pytest.param(f"{P}/errors/critical?hours=-1", id="negative"),
        pytest.param(f"{P}/errors/fixable?hours=nan", id="nan"),
        pytest.param(f"{P}/errors/recent?hours=1e9", id="too-long"),
        pytest.param(f"{P}/errors/recent?limit=0", id="limit-zero"),
        pytest.param(f"{P}/errors/patterns?offset=-1", id="offset"),
        pytest.param(f"{P}/fixes/generated?status=bogus", id="status"),
        pytest.param(f"{P}/dashboard?hours=inf", id="inf"),
    ],
)
async def test_bad_parameters_are_422(make_api: ApiFactory, url: str) -> None:
    api = await make_api()
    body = await get_json(api, url, 422)
    validate(body, url.split("?")[0], "get", 422)
    assert body["error"] == "invalid_parameter" and body["detail"]["message"]


async def test_unknown_fix_and_route_and_method(make_api: ApiFactory) -> None:
    api = await make_api()
    assert (await get_json(api, f"{P}/fixes/nope", 404))["error"] == "not_found"
    assert (await get_json(api, f"{P}/nowhere", 404))["error"] == "not_found"
    resp = await api.client.get(f"{P}/fixes/generate-batch")
    assert resp.status == 405 and resp.headers["Allow"] == "POST"
    resp = await api.client.post(f"{P}/errors/recent", headers=AUTH)
    assert resp.status == 405 and "GET" in resp.headers["Allow"]
    assert (await resp.json())["error"] == "method_not_allowed"


async def test_monitor_routes_say_loki_is_not_configured(make_api: ApiFactory) -> None:
    api = await make_api()
    for path in ("monitor/start?interval=60", "monitor/scan?hours=1&auto_fix=false"):
        resp = await api.client.post(f"{P}/{path}", headers=AUTH)
        body = await resp.json()
        assert resp.status == 409 and body["error"] == "loki_not_configured"
        assert "STREAMFIX_LOKI_URL" in body["detail"]
    resp = await api.client.post(f"{P}/monitor/start?interval=1", headers=AUTH)
    assert resp.status == 422


async def test_unexpected_exception_is_a_logged_generic_500(
    make_api: ApiFactory, caplog: pytest.LogCaptureFixture
) -> None:
    api = await make_api()

    class Broken:
        def values(self, table: str) -> list[Any]:
            raise RuntimeError("table gone")

        def get(self, table: str, key: str) -> Any:
            raise RuntimeError("table gone")

    api.ctx.reader = Broken()
    with caplog.at_level(logging.ERROR, logger="streamfix.web.middleware"):
        body = await get_json(api, f"{P}/dashboard", 500)
    assert body == {"error": "internal_error", "detail": "the server failed; see its log"}
    assert "table gone" not in str(body) and any("API request failed" in r.message for r in caplog.records)


async def test_read_answers_are_cached_for_the_configured_time(make_api: ApiFactory) -> None:
    api = await make_api(api_cache_seconds=60.0)
    first = await get_json(api, f"{P}/errors/recent")
    api.tables["patterns"].clear()
    assert await get_json(api, f"{P}/errors/recent") == first
    assert await get_json(api, f"{P}/errors/recent?limit=5") == []


async def test_ui_page_and_assets(make_api: ApiFactory) -> None:
    api = await make_api()
    page = await api.client.get(f"{P}/ui")
    assert page.status == 200 and page.content_type == "text/html"
    js = await api.client.get(f"{P}/ui/dashboard.js")
    assert js.status == 200 and js.content_type == "text/javascript" and "innerHTML" not in await js.text()
    assert (await api.client.get(f"{P}/ui/../settings.py")).status == 404
    assert (await api.client.get(f"{P}/ui/secrets.txt")).status == 404


async def test_read_cache_shares_one_computation_and_serves_stale_while_refreshing() -> None:
    import asyncio
    import threading

    from streamfix.web.context import ReadCache

    now = [0.0]
    cache = ReadCache(ttl=1.0, clock=lambda: now[0], max_stale=10.0)
    release = threading.Event()
    calls: list[int] = []

    def compute(snapshot: int) -> bytes:
        calls.append(snapshot)
        release.wait(5)
        return str(snapshot).encode()

    try:
        first = [asyncio.ensure_future(cache.get("k", lambda: 1, compute)) for _ in range(20)]
        await asyncio.sleep(0)
        release.set()
        assert set(await asyncio.gather(*first)) == {b"1"} and calls == [1]  # one computation for 20 requests
        release.clear()
        now[0] = 2.0  # expired: the old answer is served while the refresh runs
        assert await cache.get("k", lambda: 2, compute) == b"1"
        now[0] = 30.0  # too old to serve: join the refresh that is running
        release.set()
        assert await cache.get("k", lambda: 3, compute) == b"2" and calls == [1, 2]
        assert await cache.get("k", lambda: 4, compute) == b"4"  # stamped when it started: too old again
    finally:
        release.set()
        cache.close()


async def test_a_broker_failure_is_503_not_500(make_api: ApiFactory) -> None:
    from aiokafka.errors import KafkaTimeoutError

    api = await make_api()
    api.transport.fail = KafkaTimeoutError()
    resp = await api.client.post(f"{P}/fixes/generate-for-error?error_id=fp1:aa02", headers=AUTH)
    body = await resp.json()
    assert resp.status == 503 and body["error"] == "broker_unavailable" and resp.headers["Retry-After"] == "5"
    validate(body, f"{P}/fixes/generate-for-error", "post", 503)


def test_reader_copies_plain_dicts_in_one_step() -> None:
    from types import SimpleNamespace

    from streamfix.web.context import FaustReader

    view = SimpleNamespace(data={"a": 1, "b": 2})  # a changelog view: values in .data
    store = SimpleNamespace(data=SimpleNamespace(data={"c": 3}))  # a Faust table over the in-memory store
    reader = FaustReader({"view": view, "table": store, "plain": {"d": 4}})
    assert (reader.values("view"), reader.values("table"), reader.values("plain")) == ([1, 2], [3], [4])


async def test_effectiveness_route(make_api: ApiFactory) -> None:
    """A merged fix whose pattern stayed quiet for the after window counts as stopped; the route matches
    its document and rejects an unknown grouping."""
    from .conftest import fix_result

    merged = {
        **fix_result("fp1:aa03", "fix-3", "merged", NOW - 2 * 86400 - 700),
        "merged_at": NOW - 2 * 86400 - 700,
        "model": "claude-a",
        "attempt": 1,
    }
    api = await make_api(fixes={"fp1:aa03": {"fix-3": merged}})
    body = await get_json(api, f"{P}/fixes/effectiveness")
    validate(body, f"{P}/fixes/effectiveness", "get", 200)
    assert [(f["fix_id"], f["judged"], f["stopped"]) for f in body["fixes"]] == [("fix-3", True, True)]
    assert body["by"]["model"]["claude-a"]["stopped"] == 1
    assert body["ab"]["winner"] is None and body["ab"]["reason"] == "fewer than two arms"
    bad = await api.client.get(f"{P}/fixes/effectiveness?ab_by=colour")
    assert bad.status == 422


async def test_archived_patterns_hidden_unless_asked(make_api: ApiFactory) -> None:
    api = await make_api(pattern_archive_days=2.0)
    default = await get_json(api, f"{P}/errors/patterns")
    assert "fp1:aa04" not in {p["fingerprint"] for p in default["patterns"]}  # last seen 3 days ago
    only = await get_json(api, f"{P}/errors/patterns?archived=only")
    assert [(p["fingerprint"], p["status"]) for p in only["patterns"]] == [("fp1:aa04", "archived")]
    included = await get_json(api, f"{P}/errors/patterns?archived=include")
    assert included["total"] == default["total"] + 1
    bad = await api.client.get(f"{P}/errors/patterns?archived=maybe")
    assert bad.status == 422


async def test_error_objects_use_iso_times_and_lowercase_severities(make_api: ApiFactory) -> None:
    api = await make_api()
    [first, *_] = await get_json(api, f"{P}/errors/recent?hours=1")
    assert first["severity"] == "critical"
    assert (first["last_seen"], first["last_seen_epoch"]) == ("2025-11-28T09:59:00Z", NOW - 60)
    assert first["timestamp"] == first["last_seen"] and first["timestamp_epoch"] == first["last_seen_epoch"]
    first_seen = (first["first_seen"], first["first_seen_epoch"])
    assert first_seen == ("2025-11-28T09:50:00Z", NOW - 600)
    detail = await get_json(api, f"{P}/patterns/fp1:aa01")
    assert (detail["error"]["severity"], detail["error"]["last_seen"]) == ("critical", "2025-11-28T09:59:00Z")
    fix = await get_json(api, f"{P}/fixes/fix-1")
    assert isinstance(fix["created_at"], str) and fix["created_at"].endswith("Z")
    assert isinstance(fix["created_at_epoch"], float) and fix["severity"].islower()


@pytest.mark.parametrize(
    ("query", "fingerprints"),
    [
        pytest.param("severity=critical", ["fp1:aa01"], id="lowercase"),
        pytest.param("severity=CRITICAL", ["fp1:aa01"], id="uppercase"),
        pytest.param("severity=High,critical", ["fp1:aa01", "fp1:aa02"], id="mixed-list"),
        pytest.param("severity=low", [], id="none-recent"),
        pytest.param("severity=", ["fp1:aa01", "fp1:aa02"], id="empty-is-all"),
    ],
)
async def test_severity_parameter_accepts_either_case(make_api: ApiFactory, query: str,
                                                      fingerprints: list[str]) -> None:
    api = await make_api()
    body = await get_json(api, f"{P}/errors/recent?hours=1&{query}")
    assert [e["fingerprint"] for e in body] == fingerprints
    page = await get_json(api, f"{P}/errors/patterns?{query}")
    assert {e["fingerprint"] for e in page["patterns"]} >= set(fingerprints)


async def test_critical_route_with_another_severity_is_empty(make_api: ApiFactory) -> None:
    api = await make_api()
    assert await get_json(api, f"{P}/errors/critical?hours=24&severity=high") == []
    assert len(await get_json(api, f"{P}/errors/critical?hours=24&severity=Critical")) == 1


async def test_unknown_severity_is_a_422(make_api: ApiFactory) -> None:
    api = await make_api()
    body = await get_json(api, f"{P}/errors/recent?severity=urgent", status=422)
    assert body["error"] == "invalid_parameter" and body["detail"]["parameter"] == "severity"


async def test_timeline_buckets_are_iso_with_epochs(make_api: ApiFactory) -> None:
    api = await make_api()
    body = await get_json(api, f"{P}/errors/timeline?hours=3")
    assert len(body["buckets"]) == len(body["buckets_epoch"])
    assert all(isinstance(b, str) and b.endswith("Z") for b in body["buckets"])
    assert body["start_epoch"] == body["buckets_epoch"][0] and body["start"] == body["buckets"][0]
