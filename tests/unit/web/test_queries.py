"""The query functions behind the API (streamfix.core.queries), over pattern dicts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamfix.core import queries
from streamfix.core.patterns import count_since

from .conftest import NOW, build_patterns, event, fix_result, sample_events


def test_fix_targets() -> None:
    patterns = build_patterns(sample_events())
    values = list(patterns.values())
    assert queries.fix_targets("fp1:aa02", patterns["fp1:aa02"], values) == (
        "pattern",
        [patterns["fp1:aa02"]],
    )
    kind, found = queries.fix_targets("network", None, values) or ("", [])
    assert (kind, [p.fingerprint for p in found]) == ("category", ["fp1:aa02"])
    assert queries.fix_targets("validation", None, values) == ("category", [])
    assert queries.fix_targets("nothing", None, values) is None


def test_fix_list_latest_first_and_find() -> None:
    maps = [
        {"a": fix_result("fp1:1", "a", "pr_open", 10.0), "b": fix_result("fp1:1", "b", "merged", 30.0)},
        None,
        {"c": fix_result("fp1:2", "c", "pending", 20.0)},
    ]
    assert [f["fix_id"] for f in queries.fix_list(maps)] == ["b", "c", "a"]
    assert [f["fix_id"] for f in queries.fix_list(maps, status="pending")] == ["c"]
    assert queries.fix_list(maps, limit=1)[0]["fix_id"] == "b"
    assert (queries.find_fix(maps, "c") or {})["fingerprint"] == "fp1:2"
    assert queries.find_fix(maps, "zzz") is None


@pytest.mark.parametrize(("hours", "bucket", "points"), [
    pytest.param(1, 60, 60, id="1h-minutes"),
    pytest.param(24, 720, 120, id="24h"),
    pytest.param(0.01, 60, 1, id="shorter-than-a-window"),
    pytest.param(720, 21600, 120, id="30d"),
])
def test_timeline_buckets(hours: float, bucket: int, points: int) -> None:
    body = queries.timeline([], now=NOW, hours=hours, window_seconds=60)
    assert (body["bucket_seconds"], len(body["buckets"])) == (bucket, points)
    assert body["end"] - body["start"] == bucket * points and body["end"] > NOW


@settings(max_examples=60, deadline=None)
@given(
    ages=st.lists(st.integers(min_value=0, max_value=48 * 3600), min_size=1, max_size=30),
    hours=st.floats(min_value=0.1, max_value=48),
)
def test_timeline_counts_what_count_since_counts(ages: list[int], hours: float) -> None:
    events = [event("fp1:cc01", ts=NOW - age, offset=i + 1) for i, age in enumerate(ages)]
    pattern: dict[str, Any] = build_patterns(events)["fp1:cc01"]
    body = queries.timeline([pattern], now=NOW, hours=hours, window_seconds=60)
    total = sum(body["series"].get("database", []))
    assert total == count_since(pattern, body["start"], 60)


def test_dashboard_counts_and_limits() -> None:
    patterns = list(
        build_patterns(
            [event(f"fp1:d{i:03d}", severity="CRITICAL", offset=i + 1) for i in range(30)]
        ).values()
    )
    body = queries.dashboard(patterns, [], now=NOW, hours=24, window_seconds=60, limit=10)
    assert body["summary"]["critical_errors"] == 30 and len(body["recent_critical"]) == 10
    assert body["summary"]["generated_fixes"] == 0 and body["recent_fixes"] == []


@pytest.mark.parametrize(
    ("epoch", "text"),
    [
        pytest.param(0.0, "1970-01-01T00:00:00Z", id="epoch-zero"),
        pytest.param(1731752700.0, "2024-11-16T10:25:00Z", id="seed-example"),
        pytest.param(1731752700.999, "2024-11-16T10:25:00Z", id="fraction-cut-not-rounded"),
        pytest.param(NOW, "2025-11-28T10:00:00Z", id="now"),
    ],
)
def test_iso_utc(epoch: float, text: str) -> None:
    assert queries.iso_utc(epoch) == text


API_JSON_CASES: list[tuple[str, Any, Any]] = [
    ("error-object", {"timestamp": 1731752700.5, "severity": "MEDIUM", "first_seen": 0, "count": 3},
     {"timestamp": "2024-11-16T10:25:00Z", "timestamp_epoch": 1731752700.5, "severity": "medium",
      "first_seen": "1970-01-01T00:00:00Z", "first_seen_epoch": 0, "count": 3}),
    ("null-time", {"timestamp": None}, {"timestamp": None, "timestamp_epoch": None}),
    ("suffix-at", {"created_at": 1731752700.0, "pr_opened_at": None, "merged_at": 1.5},
     {"created_at": "2024-11-16T10:25:00Z", "created_at_epoch": 1731752700.0, "pr_opened_at": None,
      "pr_opened_at_epoch": None, "merged_at": "1970-01-01T00:00:01Z",
      "merged_at_epoch": 1.5}),
    ("nested", {"fixes": [{"severity": "CRITICAL", "updated_at": 60}]},
     {"fixes": [{"severity": "critical", "updated_at": "1970-01-01T00:01:00Z",
                 "updated_at_epoch": 60}]}),
    ("bucket-list", {"buckets": [0, 60]},
     {"buckets": ["1970-01-01T00:00:00Z", "1970-01-01T00:01:00Z"], "buckets_epoch": [0, 60]}),
    ("already-converted", {"timestamp": "2024-11-16T10:25:00Z", "timestamp_epoch": 1.0},
     {"timestamp": "2024-11-16T10:25:00Z", "timestamp_epoch": 1.0}),
    ("not-a-time", {"count_at_most": "x", "start_ns": 5, "line": 3, "ok": True},
     {"count_at_most": "x", "start_ns": 5, "line": 3, "ok": True}),
    ("bool-is-not-a-time", {"created_at": True}, {"created_at": True}),
    ("other-keys-kept", {"category": "AUTH_ERROR", "status": "OPEN"},
     {"category": "AUTH_ERROR", "status": "OPEN"}),
]


@pytest.mark.parametrize(("tree", "expected"), [pytest.param(t, e, id=i) for i, t, e in API_JSON_CASES])
def test_api_json(tree: Any, expected: Any) -> None:
    assert queries.api_json(tree) == expected
    assert queries.api_json(queries.api_json(tree)) == expected  # idempotent


@pytest.mark.parametrize(
    ("values", "chosen"),
    [pytest.param(["critical"], {"CRITICAL"}, id="lower"),
     pytest.param(["HIGH", " low "], {"HIGH", "LOW"}, id="mixed"),
     pytest.param(["", " "], set(), id="blank")],
)
def test_severity_filter(values: list[str], chosen: set[str]) -> None:
    assert queries.severity_filter(values) == chosen


@pytest.mark.parametrize(
    ("statuses", "generated"),
    [
        pytest.param([], 0, id="none"),
        pytest.param(["pending", "analyzing"], 0, id="in-progress-is-not-generated"),
        pytest.param(["skipped_budget", "skipped_no_api_key", "analysis_failed", "fix_invalid"], 0,
                     id="skipped-or-refused-made-no-change"),
        pytest.param(["fix_generated", "branch_pushed", "pr_open"], 3, id="a-change-was-made"),
        pytest.param(["pr_failed", "merged", "closed", "fix_invalid"], 3, id="mixed"),
    ],
)
def test_generated_fixes_counts_only_fixes_that_produced_a_change(
    statuses: list[str], generated: int
) -> None:
    history = {f"fix-{n}": {"fix_id": f"fix-{n}", "status": s, "updated_at": NOW - n}
               for n, s in enumerate(statuses)}
    body = queries.dashboard([], [history], now=NOW, hours=24, window_seconds=60)
    assert body["summary"]["generated_fixes"] == generated
    assert len(body["recent_fixes"]) == min(len(statuses), 10)  # every fix is still listed
