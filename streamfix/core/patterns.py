"""Pattern aggregation: folding error events into the per-fingerprint pattern summary.

Pure functions over :class:`~streamfix.core.records.Pattern` (the value of the worker's ``patterns`` table).
Aggregation is idempotent: every event carries a marker ``(source_partition, source_offset,
event_index)`` that names where it came from on the raw topic, and the pattern remembers the highest
marker applied per source partition, in the same value as the counts. A redelivered event is
recognised and skipped, so at-least-once delivery still counts every occurrence exactly once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from streamfix.core.records import Pattern, PatternFrame

__all__ = [
    "Pattern", "alias_pattern", "apply_event", "apply_window_count", "count_since", "is_duplicate",
    "marker_of", "merge_pattern", "public_view", "window_start",
]

MAX_SERVICES = 32
MAX_SAMPLE_CHARS = 16_000

Marked = Pattern | Mapping[str, Any]
"""Anything that carries idempotence markers: a pattern, or a window count value ``{"n", "applied"}``."""


def marker_of(event: Mapping[str, Any]) -> tuple[str, int, int]:
    """Where an event came from: raw partition (and the merged pattern it was forwarded from), offset, index."""  # noqa: E501
    partition = str(event.get("source_partition", -1))
    if event.get("via"):
        partition = f"{partition}/via/{event['via']}"
    return (partition, int(event.get("source_offset", -1)), int(event.get("event_index", 0)))


def _applied(value: Marked | None) -> Mapping[str, Any]:
    if value is None:
        return {}
    if isinstance(value, Pattern):
        return value.applied
    applied: Mapping[str, Any] = value.get("applied", {})
    return applied


def is_duplicate(pattern: Marked | None, event: Mapping[str, Any]) -> bool:
    """True when ``event`` (or a later one from the same raw partition) was already applied."""
    if pattern is None:
        return False
    partition, offset, index = marker_of(event)
    if offset < 0:
        return False
    seen = _applied(pattern).get(partition)
    return seen is not None and (offset, index) <= (seen[0], seen[1])


def window_start(ts: float, width: int) -> int:
    """Start (s) of the tumbling window of ``width`` seconds that contains ``ts``."""
    return int(ts // width) * width


def _frames(event: Mapping[str, Any]) -> list[PatternFrame]:
    return [
        f if isinstance(f, PatternFrame) else PatternFrame(
            file=str(f.get("file", "")), line=f.get("line"), function=str(f.get("function") or ""),
            in_app=bool(f.get("in_app", True)))
        for f in event.get("frames") or ()
    ]


def apply_event(
    pattern: Pattern | None,
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
    services: list[str]
    if pattern is None:
        base = Pattern(
            fingerprint=event["fingerprint"],
            error_type=event["error_type"],
            message=event["message"],
            title=event.get("title") or "",
            category=event["category"],
            severity=event["severity"],
            fixable=bool(event["fixable"]),
            suggested_fix=event.get("suggested_fix", ""),
            file=event.get("file"),
            line=event.get("line"),
            function=event.get("function"),
            frames=_frames(event),
            traceback=str(event.get("traceback", ""))[:MAX_SAMPLE_CHARS],
            incomplete=bool(event.get("incomplete", False)),
            first_seen=seen_at,
            last_seen=seen_at,
        )
        services, windows, applied = [], {}, {}
    else:
        base = pattern
        services, windows, applied = list(pattern.services), dict(pattern.windows), dict(pattern.applied)
        changes: dict[str, Any] = {
            "first_seen": min(_or(pattern.first_seen, seen_at), seen_at),
            "last_seen": max(_or(pattern.last_seen, seen_at), seen_at),
        }
        if pattern.incomplete and not event.get("incomplete"):
            # prefer a complete sample traceback over a cut-off one
            changes.update(
                traceback=str(event.get("traceback", ""))[:MAX_SAMPLE_CHARS], incomplete=False,
                frames=_frames(event), file=event.get("file"), line=event.get("line"),
                function=event.get("function"), message=event["message"],
            )
        base = msgspec.structs.replace(pattern, **changes)
    service = event.get("service")
    if service and service not in services and len(services) < MAX_SERVICES:
        services.append(service)
    _add_window(windows, seen_at, occurrences, window_seconds, retention_seconds)
    partition, offset, index = marker_of(event)
    if offset >= 0:
        applied[partition] = (offset, index)
    trace_id = event.get("trace_id")
    return msgspec.structs.replace(
        base, count=base.count + occurrences, services=services, windows=windows, applied=applied,
        auto_fix=base.auto_fix or bool(event.get("auto_fix")),
        **({"trace_id": str(trace_id)} if trace_id else {}),
    )


def _or(value: float | None, default: float) -> float:
    return default if value is None else value


def _add_window(windows: dict[str, int], ts: float, n: int, width: int, retention: int) -> None:
    key = str(window_start(ts, width))
    windows[key] = windows.get(key, 0) + n
    newest = max(int(k) for k in windows)
    for stale in [k for k in windows if int(k) <= newest - retention]:
        del windows[stale]


def count_since(pattern: Pattern, since: float, width: int) -> int:
    """Occurrences in the windows that overlap ``[since, ∞)``."""
    first = window_start(since, width)
    return sum(n for start, n in pattern.windows.items() if int(start) >= first)


def public_view(pattern: Pattern) -> dict[str, Any]:
    """The pattern as a JSON object without its bookkeeping (idempotence markers, raw window map)."""
    obj: dict[str, Any] = msgspec.to_builtins(pattern)
    del obj["applied"], obj["windows"]
    return obj


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


def alias_pattern(pattern: Pattern | None, fingerprint: str, target: str) -> Pattern | None:
    """Mark ``fingerprint``'s pattern as merged into ``target``; None when it already is."""
    if pattern is not None and pattern.alias_of:
        return None
    if pattern is None:
        return Pattern(fingerprint=fingerprint, alias_of=target, status="merged")
    return msgspec.structs.replace(pattern, alias_of=target, status="merged")


def merge_pattern(pattern: Pattern | None, merged: Pattern, fingerprint: str) -> Pattern | None:
    """Fold the counts of pattern ``merged`` into ``pattern`` (of ``fingerprint``); None when done before."""
    source = merged.fingerprint
    already = (
        [] if pattern is None or isinstance(pattern.merged_from, msgspec.UnsetType) else pattern.merged_from
    )
    if source in already:
        return None
    if pattern is None:
        return msgspec.structs.replace(
            merged,
            fingerprint=fingerprint,
            status="active",
            applied={},
            merged_from=[source],
            alias_of=msgspec.UNSET,
            windows=dict(merged.windows),
        )
    windows = dict(pattern.windows)
    for start, n in merged.windows.items():
        windows[start] = windows.get(start, 0) + int(n)
    services = list(pattern.services)
    for service in merged.services:
        if service not in services and len(services) < MAX_SERVICES:
            services.append(service)
    first, last = pattern.first_seen, pattern.last_seen
    if merged.first_seen is not None:
        first = min(_or(first, merged.first_seen), merged.first_seen)
    if merged.last_seen is not None:
        last = max(_or(last, merged.last_seen), merged.last_seen)
    return msgspec.structs.replace(
        pattern,
        merged_from=[*already, source],
        count=pattern.count + merged.count,
        windows=windows,
        first_seen=first,
        last_seen=last,
        services=services,
    )
