"""Queries over patterns, shared by every route of the REST API, the dashboard and the CLI.

Pure functions over pattern dicts (the values of the ``patterns`` table, see
:mod:`streamfix.core.patterns`); the web layer passes in the table's values and the clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from streamfix.core.patterns import count_since, public_view, window_start

SEVERITY_ORDER = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFO": 4}


def error_object(pattern: Mapping[str, Any], *, count: int | None = None) -> dict[str, Any]:
    """The documented error object: one pattern as the API shows it."""
    view = public_view(pattern)
    return {
        "timestamp": view.get("last_seen"),
        "error_type": view.get("error_type"),
        "message": view.get("message"),
        "category": view.get("category"),
        "severity": view.get("severity"),
        "file": view.get("file"),
        "line": view.get("line"),
        "function": view.get("function"),
        "count": view.get("count", 0) if count is None else count,
        "total_count": view.get("count", 0),
        "fixable": view.get("fixable", False),
        "suggested_fix": view.get("suggested_fix", ""),
        "fingerprint": view.get("fingerprint"),
        "first_seen": view.get("first_seen"),
        "last_seen": view.get("last_seen"),
        "services": view.get("services", []),
        "status": view.get("status", "active"),
        "title": view.get("title", ""),
    }


def select(
    patterns: Iterable[Mapping[str, Any] | None],
    *,
    now: float,
    hours: float | None = None,
    window_seconds: int = 60,
    severities: frozenset[str] | None = None,
    fixable: bool | None = None,
    category: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Patterns seen within the last ``hours`` (all when None), most severe and most frequent first.

    With ``hours``, ``count`` is the number of occurrences in that period; otherwise the total.
    """
    since = None if hours is None else now - hours * 3600.0
    out: list[dict[str, Any]] = []
    for pattern in patterns:
        if pattern is None:
            continue
        if since is not None and float(pattern.get("last_seen", 0)) < since:
            continue
        if severities is not None and pattern.get("severity") not in severities:
            continue
        if fixable is not None and bool(pattern.get("fixable")) != fixable:
            continue
        if category is not None and pattern.get("category") != category:
            continue
        count = None if since is None else count_since(pattern, since, window_seconds)
        out.append(error_object(pattern, count=count))
    out.sort(key=lambda e: (SEVERITY_ORDER.get(str(e["severity"]), 9), -int(e["count"]), str(e["fingerprint"])))
    return out if limit is None else out[:limit]


def by_category(patterns: Iterable[Mapping[str, Any] | None]) -> dict[str, int]:
    return dict(Counter(str(p.get("category")) for p in patterns if p is not None))


def count_by(patterns: Iterable[Mapping[str, Any] | None], *, severities: frozenset[str] | None = None,
             fixable: bool | None = None) -> int:
    """How many patterns match the severity and fixable filters."""
    return sum(
        1 for p in patterns
        if p is not None
        and (severities is None or p.get("severity") in severities)
        and (fixable is None or bool(p.get("fixable")) == fixable)
    )


def fix_list(
    fix_maps: Iterable[Mapping[str, Any] | None], *, status: str | None = None, limit: int | None = None
) -> list[dict[str, Any]]:
    """Every fix of every pattern (the values of the ``fixes`` table), latest update first."""
    out = [
        dict(fix)
        for history in fix_maps if history
        for fix in history.values()
        if isinstance(fix, Mapping) and (status is None or fix.get("status") == status)
    ]
    out.sort(key=lambda f: (-float(f.get("updated_at") or 0), str(f.get("fix_id"))))
    return out if limit is None else out[:limit]


def find_fix(fix_maps: Iterable[Mapping[str, Any] | None], fix_id: str) -> dict[str, Any] | None:
    """The fix with this id, or None."""
    for history in fix_maps:
        if history and isinstance(history.get(fix_id), Mapping):
            return dict(history[fix_id])
    return None


def fix_targets(
    error_id: str, found: Mapping[str, Any] | None, patterns: Iterable[Mapping[str, Any] | None]
) -> tuple[str, list[Mapping[str, Any]]] | None:
    """What ``error_id`` names: ``("pattern", [found])`` when it is a fingerprint (``found`` is its
    pattern), ``("category", its fixable patterns)`` when some pattern has that category, else None."""
    if found is not None:
        return "pattern", [found]
    in_category = [p for p in patterns if p is not None and p.get("category") == error_id]
    if not in_category:
        return None
    fixable = sorted((p for p in in_category if p.get("fixable")), key=lambda p: str(p.get("fingerprint")))
    return "category", fixable


def timeline(
    patterns: Iterable[Mapping[str, Any] | None], *, now: float, hours: float, window_seconds: int,
    max_points: int = 120,
) -> dict[str, Any]:
    """Occurrences per category over the last ``hours``, summed from the patterns' per-window counts.

    Buckets are whole multiples of the count window, at most ``max_points`` of them; ``series`` maps a
    category to one count per bucket, oldest first.
    """
    span = max(1, int(hours * 3600))
    bucket = max(window_seconds, -(-span // max_points // window_seconds) * window_seconds)
    end = window_start(now, bucket) + bucket
    n = max(1, -(-span // bucket))
    start = end - n * bucket
    series: dict[str, list[int]] = {}
    for pattern in patterns:
        if pattern is None or float(pattern.get("last_seen", 0)) < start:
            continue
        row: list[int] | None = None
        for key, count in pattern.get("windows", {}).items():
            ts = int(key)
            if start <= ts < end:
                if row is None:
                    row = series.setdefault(str(pattern.get("category")), [0] * n)
                row[(ts - start) // bucket] += int(count)
    return {"start": start, "end": end, "bucket_seconds": bucket,
            "buckets": [start + i * bucket for i in range(n)], "series": dict(sorted(series.items()))}


def dashboard(
    patterns: Sequence[Mapping[str, Any] | None], fix_maps: Iterable[Mapping[str, Any] | None], *, now: float,
    hours: float, window_seconds: int, limit: int = 10,
) -> dict[str, Any]:
    """The dashboard: summary counts over every pattern, the recent critical and fixable ones, the latest fixes."""
    fixes = fix_list(fix_maps)
    critical = frozenset({"CRITICAL"})
    return {
        "timestamp": now,
        "summary": {
            "total_patterns": sum(1 for p in patterns if p is not None),
            "critical_errors": count_by(patterns, severities=critical),
            "fixable_errors": count_by(patterns, fixable=True),
            "generated_fixes": len(fixes),
            "patterns_by_category": dict(sorted(by_category(patterns).items())),
        },
        "recent_critical": select(patterns, now=now, hours=hours, window_seconds=window_seconds,
                                  severities=critical, limit=limit),
        "recent_fixable": select(patterns, now=now, hours=hours, window_seconds=window_seconds, fixable=True,
                                 limit=limit),
        "recent_fixes": fixes[:limit],
    }
