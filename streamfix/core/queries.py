"""Queries over patterns, shared by every route of the REST API, the dashboard and the CLI.

Pure functions over pattern dicts (the values of the ``patterns`` table, see
:mod:`streamfix.core.patterns`); the web layer passes in the table's values and the clock.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from streamfix.core.patterns import count_since, public_view

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
