"""Pattern aggregation: folding error events into the per-fingerprint pattern summary.

Pure functions over plain JSON-able dicts (the value stored in the worker's ``patterns`` table).
Aggregation is idempotent: every event carries a marker ``(source_partition, source_offset,
event_index)`` that names where it came from on the raw topic, and the pattern remembers the highest
marker applied per source partition, in the same value as the counts. A redelivered event is
recognised and skipped, so at-least-once delivery still counts every occurrence exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_SERVICES = 32
MAX_SAMPLE_CHARS = 16_000

Pattern = dict[str, Any]


def marker_of(event: Mapping[str, Any]) -> tuple[str, int, int]:
    """Where an event came from: raw partition (and the merged pattern it was forwarded from), offset, index."""
    partition = str(event.get("source_partition", -1))
    if event.get("via"):
        partition = f"{partition}/via/{event['via']}"
    return (partition, int(event.get("source_offset", -1)), int(event.get("event_index", 0)))


def is_duplicate(pattern: Mapping[str, Any] | None, event: Mapping[str, Any]) -> bool:
    """True when ``event`` (or a later one from the same raw partition) was already applied."""
    if pattern is None:
        return False
    partition, offset, index = marker_of(event)
    if offset < 0:
        return False
    seen = pattern.get("applied", {}).get(partition)
    return seen is not None and (offset, index) <= (seen[0], seen[1])


def window_start(ts: float, width: int) -> int:
    """Start (s) of the tumbling window of ``width`` seconds that contains ``ts``."""
    return int(ts // width) * width


def apply_event(
    pattern: Mapping[str, Any] | None,
    event: Mapping[str, Any],
    *,
    window_seconds: int,
    retention_seconds: int,
) -> Pattern | None:
    """Fold one error event into its pattern. Returns the new pattern, or None for a duplicate."""
    if is_duplicate(pattern, event):
        return None
    occurrences = max(1, int(event.get("occurrences", 1)))
    seen_at = float(event.get("timestamp") or event["detected_at"])
    if pattern is None:
        new: Pattern = {
            "fingerprint": event["fingerprint"],
            "error_type": event["error_type"],
            "message": event["message"],
            "title": event.get("title") or "",
            "category": event["category"],
            "severity": event["severity"],
            "fixable": bool(event["fixable"]),
            "suggested_fix": event.get("suggested_fix", ""),
            "file": event.get("file"),
            "line": event.get("line"),
            "function": event.get("function"),
            "frames": list(event.get("frames", [])),
            "traceback": str(event.get("traceback", ""))[:MAX_SAMPLE_CHARS],
            "incomplete": bool(event.get("incomplete", False)),
            "first_seen": seen_at,
            "last_seen": seen_at,
            "count": 0,
            "services": [],
            "auto_fix": False,
            "status": "active",
            "windows": {},
            "applied": {},
        }
    else:
        new = dict(pattern)
        new["services"] = list(pattern.get("services", []))
        new["windows"] = dict(pattern.get("windows", {}))
        new["applied"] = dict(pattern.get("applied", {}))
        new["first_seen"] = min(float(pattern["first_seen"]), seen_at)
        new["last_seen"] = max(float(pattern["last_seen"]), seen_at)
        if new.get("incomplete") and not event.get("incomplete"):
            # prefer a complete sample traceback over a cut-off one
            new.update(
                traceback=str(event.get("traceback", ""))[:MAX_SAMPLE_CHARS], incomplete=False,
                frames=list(event.get("frames", [])), file=event.get("file"), line=event.get("line"),
                function=event.get("function"), message=event["message"],
            )
    new["count"] = int(new["count"]) + occurrences
    service = event.get("service")
    if service and service not in new["services"] and len(new["services"]) < MAX_SERVICES:
        new["services"].append(service)
    new["auto_fix"] = bool(new.get("auto_fix")) or bool(event.get("auto_fix"))
    _add_window(new["windows"], seen_at, occurrences, window_seconds, retention_seconds)
    partition, offset, index = marker_of(event)
    if offset >= 0:
        new["applied"][partition] = [offset, index]
    return new


def _add_window(windows: dict[str, int], ts: float, n: int, width: int, retention: int) -> None:
    key = str(window_start(ts, width))
    windows[key] = windows.get(key, 0) + n
    newest = max(int(k) for k in windows)
    for stale in [k for k in windows if int(k) <= newest - retention]:
        del windows[stale]


def count_since(pattern: Mapping[str, Any], since: float, width: int) -> int:
    """Occurrences in the windows that overlap ``[since, ∞)``."""
    first = window_start(since, width)
    return sum(n for start, n in pattern.get("windows", {}).items() if int(start) >= first)


def public_view(pattern: Mapping[str, Any]) -> dict[str, Any]:
    """The pattern without its bookkeeping (idempotence markers, raw window map)."""
    return {k: v for k, v in pattern.items() if k not in ("applied", "windows")}


def apply_window_count(value: Mapping[str, Any] | None, event: Mapping[str, Any]) -> dict[str, Any] | None:
    """Add an event's occurrences to one window's count value ``{"n", "applied"}``; None for a duplicate."""
    if is_duplicate(value, event):
        return None
    applied = dict(value.get("applied", {})) if value else {}
    partition, offset, index = marker_of(event)
    if offset >= 0:
        applied[partition] = [offset, index]
    n = int(value.get("n", 0)) if value else 0
    return {"n": n + max(1, int(event.get("occurrences", 1))), "applied": applied}


def alias_pattern(pattern: Mapping[str, Any] | None, fingerprint: str, target: str) -> Pattern | None:
    """Mark ``fingerprint``'s pattern as merged into ``target``; None when it already is."""
    if pattern is not None and pattern.get("alias_of"):
        return None
    if pattern is None:
        return {"fingerprint": fingerprint, "alias_of": target, "count": 0, "status": "merged"}
    return {**pattern, "alias_of": target, "status": "merged"}


def merge_pattern(pattern: Mapping[str, Any] | None, merged: Mapping[str, Any], fingerprint: str) -> Pattern | None:
    """Fold the counts of pattern ``merged`` into ``pattern`` (of ``fingerprint``); None when done before."""
    source = str(merged["fingerprint"])
    if pattern is not None and source in pattern.get("merged_from", []):
        return None
    if pattern is None:
        new: Pattern = {k: v for k, v in merged.items() if k not in ("alias_of", "applied", "merged_from")}
        new.update(fingerprint=fingerprint, status="active", applied={}, merged_from=[source])
        new["windows"] = dict(merged.get("windows", {}))
        return new
    new = dict(pattern)
    new["merged_from"] = [*pattern.get("merged_from", []), source]
    new["count"] = int(pattern.get("count", 0)) + int(merged.get("count", 0))
    windows = dict(pattern.get("windows", {}))
    for start, n in merged.get("windows", {}).items():
        windows[start] = windows.get(start, 0) + int(n)
    new["windows"] = windows
    if merged.get("first_seen") is not None:
        new["first_seen"] = min(float(pattern.get("first_seen", merged["first_seen"])), float(merged["first_seen"]))
    if merged.get("last_seen") is not None:
        new["last_seen"] = max(float(pattern.get("last_seen", merged["last_seen"])), float(merged["last_seen"]))
    services = list(pattern.get("services", []))
    for service in merged.get("services", []):
        if service not in services and len(services) < MAX_SERVICES:
            services.append(service)
    new["services"] = services
    return new
