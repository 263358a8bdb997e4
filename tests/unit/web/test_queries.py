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
