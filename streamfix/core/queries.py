"""Queries over patterns, shared by every route of the REST API, the dashboard and the CLI.

Pure functions over pattern dicts (the values of the ``patterns`` table, see
:mod:`streamfix.core.patterns`); the web layer passes in the table's values and the clock.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from streamfix.core.patterns import count_since, window_start

SEVERITY_ORDER = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFO": 4}


def error_object(pattern: Mapping[str, Any], *, count: int | None = None) -> dict[str, Any]:
    """The documented error object: one pattern as the API shows it (no bookkeeping, no traceback)."""
    get = pattern.get
    total = get("count", 0)
    return {
        "timestamp": get("last_seen"),
        "error_type": get("error_type"),
        "message": get("message"),
        "category": get("category"),
        "severity": get("severity"),
        "file": get("file"),
        "line": get("line"),
        "function": get("function"),
        "count": total if count is None else count,
        "total_count": total,
        "fixable": get("fixable", False),
        "suggested_fix": get("suggested_fix", ""),
        "fingerprint": get("fingerprint"),
        "first_seen": get("first_seen"),
        "last_seen": get("last_seen"),
        "services": get("services", []),
        "status": get("status", "active"),
        "title": get("title", ""),
    }


def matching(
    patterns: Iterable[Mapping[str, Any] | None],
    *,
    now: float,
    hours: float | None = None,
    window_seconds: int = 60,
    severities: frozenset[str] | None = None,
    fixable: bool | None = None,
    category: str | None = None,
) -> list[tuple[tuple[int, int, str], int, Mapping[str, Any]]]:
    """``(sort key, count, pattern)`` of the patterns that pass the filters, unsorted.

    The sort key orders most severe, then most frequent, then by fingerprint. Only the patterns a
    caller shows need turning into error objects, so a page of 100 out of 10k stays cheap.
    """
    since = -math.inf if hours is None else now - hours * 3600.0
    first_window = since if hours is None else float(window_start(since, window_seconds))
    out = []
    for pattern in patterns:
        if pattern is None or pattern.get("alias_of"):  # merged into another pattern
            continue
        get = pattern.get
        if float(get("last_seen", 0)) < since:
            continue
        if severities is not None and get("severity") not in severities:
            continue
        if fixable is not None and bool(get("fixable")) != fixable:
            continue
        if category is not None and get("category") != category:
            continue
        if float(get("first_seen", 0)) >= first_window:
            count = int(get("count", 0))  # every occurrence is in the period
        else:
            count = count_since(pattern, since, window_seconds)
        key = (SEVERITY_ORDER.get(str(get("severity")), 9), -count, str(get("fingerprint")))
        out.append((key, count, pattern))
    return out


def page(
    rows: list[tuple[tuple[int, int, str], int, Mapping[str, Any]]], *, offset: int = 0, limit: int | None = None
) -> list[dict[str, Any]]:
    """Error objects of ``rows[offset:offset+limit]`` in sort order."""
    if limit is not None and offset + limit < len(rows):
        chosen = heapq.nsmallest(offset + limit, rows, key=itemgetter(0))[offset:]
    else:
        chosen = sorted(rows, key=itemgetter(0))[offset:]
    return [error_object(pattern, count=count) for _, count, pattern in chosen]


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
    rows = matching(patterns, now=now, hours=hours, window_seconds=window_seconds, severities=severities,
                    fixable=fixable, category=category)
    return page(rows, limit=limit)


def by_category(patterns: Iterable[Mapping[str, Any] | None]) -> dict[str, int]:
    return dict(Counter(str(p.get("category")) for p in patterns if p is not None and not p.get("alias_of")))


def count_by(patterns: Iterable[Mapping[str, Any] | None], *, severities: frozenset[str] | None = None,
             fixable: bool | None = None) -> int:
    """How many patterns match the severity and fixable filters."""
    return sum(
        1 for p in patterns
        if p is not None and not p.get("alias_of")
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
        if pattern is None or pattern.get("alias_of") or float(pattern.get("last_seen", 0)) < start:
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
