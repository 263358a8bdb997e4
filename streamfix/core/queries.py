"""Queries over patterns, shared by every route of the REST API, the dashboard and the CLI.

Pure functions over :class:`~streamfix.core.records.Pattern` records (the values of the ``patterns``
table); the web layer passes in the table's values and the clock.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from streamfix.core.patterns import count_since, window_start
from streamfix.core.records import Pattern

SEVERITY_ORDER = {"CRITICAL": 0, "HIGH": 1, "MEDIUM": 2, "LOW": 3, "INFO": 4}
SEVERITY_NAMES = tuple(name.lower() for name in SEVERITY_ORDER)
"""Severities as the API shows them (lowercase); the tables and topics keep the uppercase names."""
TIME_KEYS = frozenset({"timestamp", "first_seen", "last_seen", "start", "end", "buckets"})
"""Keys (besides every ``*_at``) whose epoch-second values the API shows as ISO 8601 UTC strings."""
EPOCH_SUFFIX = "_epoch"


def iso_utc(epoch: float) -> str:
    """``epoch`` seconds as ISO 8601 UTC with second precision (``2024-11-16T10:25:00Z``), cut down."""
    return datetime.fromtimestamp(math.floor(epoch), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def is_time_key(key: Any) -> bool:
    return isinstance(key, str) and (key in TIME_KEYS or key.endswith("_at"))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _api_time(value: Any) -> Any:
    if _is_number(value):
        return iso_utc(value)
    if isinstance(value, list) and all(_is_number(v) for v in value):
        return [iso_utc(v) for v in value]
    return value


def api_json(value: Any) -> Any:
    """The REST API's representation of a JSON tree built from the tables: the one place it is made.

    Every timestamp (``timestamp``, ``first_seen``, ``last_seen``, ``start``, ``end``, ``buckets`` and
    every ``*_at`` key holding epoch seconds) becomes an ISO 8601 UTC string with second precision,
    and its epoch value stays under ``<key>_epoch``, unrounded (null stays null in both). Every
    ``severity`` is lowercase. Other values are kept as they are; a tree already converted is kept.
    """
    if isinstance(value, dict):
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if is_time_key(key) and (item is None or _is_number(item) or (
                    isinstance(item, list) and all(_is_number(v) for v in item))):
                out[key] = _api_time(item)
                epoch_key = f"{key}{EPOCH_SUFFIX}"
                if epoch_key not in value:
                    out[epoch_key] = item
            elif key == "severity" and isinstance(item, str):
                out[key] = item.lower()
            else:
                out[key] = api_json(item)
        return out
    if isinstance(value, list):
        return [api_json(item) for item in value]
    return value


def severity_filter(values: Iterable[str]) -> frozenset[str]:
    """The stored (uppercase) severities named by query values in any case (``critical``, ``HIGH``)."""
    return frozenset(v.strip().upper() for v in values if v.strip())


def error_object(p: Pattern, *, count: int | None = None, status: str | None = None) -> dict[str, Any]:
    """The documented error object: one pattern as the API shows it (no bookkeeping, no traceback).

    ``status`` is the pattern's lifecycle status (:func:`streamfix.core.lifecycle.status_of`) when the
    caller knows it, else the stored one."""
    return {
        "timestamp": p.last_seen, "error_type": p.error_type, "message": p.message, "category": p.category,
        "severity": p.severity, "file": p.file, "line": p.line, "function": p.function,
        "count": p.count if count is None else count, "total_count": p.count, "fixable": p.fixable,
        "suggested_fix": p.suggested_fix, "fingerprint": p.fingerprint, "first_seen": p.first_seen,
        "last_seen": p.last_seen, "services": p.services, "status": status or p.status, "title": p.title,
    }


Row = tuple[tuple[int, int, str], int, Pattern, str]
"""``(sort key, count, pattern, lifecycle status)``."""
ARCHIVED_FILTERS = ("exclude", "include", "only")


def matching(
    patterns: Iterable[Pattern | None],
    *,
    now: float,
    hours: float | None = None,
    window_seconds: int = 60,
    severities: frozenset[str] | None = None,
    fixable: bool | None = None,
    category: str | None = None,
    status_of: Callable[[Pattern], str] | None = None,
    archived: str = "include",
    status: str | None = None,
) -> list[Row]:
    """``(sort key, count, pattern, status)`` of the patterns that pass the filters, unsorted.

    The sort key orders most severe, then most frequent, then by fingerprint. Only the patterns a
    caller shows need turning into error objects, so a page of 100 out of 10k stays cheap.
    ``status_of`` gives a pattern's lifecycle status; ``archived`` (``exclude``, ``include`` or
    ``only``) keeps archived patterns out, in, or alone; ``status`` keeps only that status.
    """
    since = -math.inf if hours is None else now - hours * 3600.0
    first_window = since if hours is None else float(window_start(since, window_seconds))
    out = []
    for pattern in patterns:
        if pattern is None or pattern.alias_of:  # merged into another pattern
            continue
        if (pattern.last_seen or 0.0) < since:
            continue
        if severities is not None and pattern.severity not in severities:
            continue
        if fixable is not None and pattern.fixable != fixable:
            continue
        if category is not None and pattern.category != category:
            continue
        shown = pattern.status if status_of is None else status_of(pattern)
        if (archived == "exclude" and shown == "archived") or (archived == "only" and shown != "archived"):
            continue
        if status is not None and shown != status:
            continue
        if (pattern.first_seen or 0.0) >= first_window:
            count = pattern.count  # every occurrence is in the period
        else:
            count = count_since(pattern, since, window_seconds)
        key = (SEVERITY_ORDER.get(pattern.severity, 9), -count, pattern.fingerprint)
        out.append((key, count, pattern, shown))
    return out


def page(
    rows: list[Row], *, offset: int = 0, limit: int | None = None
) -> list[dict[str, Any]]:
    """Error objects of ``rows[offset:offset+limit]`` in sort order."""
    if limit is not None and offset + limit < len(rows):
        chosen = heapq.nsmallest(offset + limit, rows, key=itemgetter(0))[offset:]
    else:
        chosen = sorted(rows, key=itemgetter(0))[offset:]
    return [error_object(pattern, count=count, status=shown) for _, count, pattern, shown in chosen]


def select(
    patterns: Iterable[Pattern | None],
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


def by_category(patterns: Iterable[Pattern | None]) -> dict[str, int]:
    return dict(Counter(p.category for p in patterns if p is not None and not p.alias_of))


def count_by(patterns: Iterable[Pattern | None], *, severities: frozenset[str] | None = None,
             fixable: bool | None = None) -> int:
    """How many patterns match the severity and fixable filters."""
    return sum(
        1 for p in patterns
        if p is not None and not p.alias_of
        and (severities is None or p.severity in severities)
        and (fixable is None or p.fixable == fixable)
    )


CHANGE_MADE = frozenset({"fix_generated", "branch_pushed", "pr_open", "pr_failed", "merged", "closed"})
"""Fix states reached only after the fix produced a change (what ``generated_fixes`` counts): not the
ones still pending or analyzing, refused, failed before a change, or skipped."""


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
    error_id: str, found: Pattern | None, patterns: Iterable[Pattern | None]
) -> tuple[str, list[Pattern]] | None:
    """What ``error_id`` names: ``("pattern", [found])`` when it is a fingerprint (``found`` is its
    pattern), ``("category", its fixable patterns)`` when some pattern has that category, else None."""
    if found is not None:
        return "pattern", [found]
    in_category = [p for p in patterns if p is not None and p.category == error_id]
    if not in_category:
        return None
    fixable = sorted((p for p in in_category if p.fixable), key=lambda p: p.fingerprint)
    return "category", fixable


def timeline(
    patterns: Iterable[Pattern | None], *, now: float, hours: float, window_seconds: int,
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
        if pattern is None or pattern.alias_of or (pattern.last_seen or 0.0) < start:
            continue
        row: list[int] | None = None
        for key, count in pattern.windows.items():
            ts = int(key)
            if start <= ts < end:
                if row is None:
                    row = series.setdefault(pattern.category, [0] * n)
                row[(ts - start) // bucket] += int(count)
    return {"start": start, "end": end, "bucket_seconds": bucket,
            "buckets": [start + i * bucket for i in range(n)], "series": dict(sorted(series.items()))}


def dashboard(
    patterns: Sequence[Pattern | None], fix_maps: Iterable[Mapping[str, Any] | None], *, now: float,
    hours: float, window_seconds: int, limit: int = 10,
) -> dict[str, Any]:
    """The dashboard: summary counts over every pattern, the recent critical and fixable ones, the latest fixes."""  # noqa: E501
    fixes = fix_list(fix_maps)
    critical = frozenset({"CRITICAL"})
    return {
        "timestamp": now,
        "summary": {
            "total_patterns": sum(1 for p in patterns if p is not None),
            "critical_errors": count_by(patterns, severities=critical),
            "fixable_errors": count_by(patterns, fixable=True),
            "generated_fixes": sum(1 for f in fixes if f.get("status") in CHANGE_MADE),
            "patterns_by_category": dict(sorted(by_category(patterns).items())),
        },
        "recent_critical": select(patterns, now=now, hours=hours, window_seconds=window_seconds,
                                  severities=critical, limit=limit),
        "recent_fixable": select(patterns, now=now, hours=hours, window_seconds=window_seconds, fixable=True,
                                 limit=limit),
        "recent_fixes": fixes[:limit],
    }
