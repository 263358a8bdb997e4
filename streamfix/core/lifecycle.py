"""A pattern's life after its fix: regressed, resolved, archived. Pure functions over records and times.

::

    active ──fix merged──▶ (fixed) ──quiet for resolve_seconds──▶ resolved
       ▲                     │
       │                     └─ an occurrence with event time > merge + grace ──▶ regressed
       │                                                                             │
       └───────────── the next fix merges (its own grace and quiet period follow) ◀──┘
    any ──quiet for archive_seconds──▶ archived ──an occurrence──▶ regressed

``regressed`` is stored on the pattern (it must survive the next attempt's fix state, which is no
longer ``merged``); ``resolved`` and ``archived`` are derived from the clock when the pattern is read,
so no timer has to write them. Only the event time of an occurrence is compared with the merge time:
a late log line of an error that happened before the merge (or within the deploy grace period, while
the old code still ran) is not a regression.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from streamfix.core.records import FixState, Pattern

ACTIVE = "active"
REGRESSED = "regressed"
RESOLVED = "resolved"
ARCHIVED = "archived"
MERGED = "merged"
"""Merged into another pattern (the template miner's alias), not a fix state."""
FIXED = "fixed"
"""The fix merged and no occurrence has come since; not yet quiet long enough to be resolved."""

STATUSES = (ACTIVE, FIXED, REGRESSED, RESOLVED, ARCHIVED)
"""What :func:`status_of` can answer for a pattern that was not merged into another."""


@dataclass(frozen=True, slots=True)
class LifecyclePolicy:
    grace_seconds: float = 600.0
    """After a merge, occurrences within this period (event time) are the old code still running."""
    resolve_seconds: float = 3 * 86400.0
    """A merged fix's pattern quiet this long after the merge is resolved."""
    archive_seconds: float = 30 * 86400.0
    """A pattern quiet this long (since its last occurrence) is archived."""


def merged_at(fix: FixState | None) -> float | None:
    """When the pattern's latest fix merged, while that fix is the pattern's current one."""
    if fix is None or fix.status != "merged":
        return None
    return fix.merged_at if isinstance(fix.merged_at, float | int) else fix.updated_at


def recurs_after(event_time: float | None, merge_time: float, policy: LifecyclePolicy) -> bool:
    """An occurrence at ``event_time`` is a recurrence of a fix merged at ``merge_time``."""
    return event_time is not None and event_time > merge_time + policy.grace_seconds


def archived(pattern: Pattern, now: float, policy: LifecyclePolicy) -> bool:
    return pattern.last_seen is not None and now - pattern.last_seen >= policy.archive_seconds


def status_of(pattern: Pattern, fix: FixState | None, now: float, policy: LifecyclePolicy) -> str:
    """The status a reader sees at ``now``: merged (alias), archived, regressed, resolved, fixed or active."""
    if pattern.alias_of:
        return MERGED
    if archived(pattern, now, policy):
        return ARCHIVED
    merge = merged_at(fix)
    if merge is not None:
        if recurs_after(pattern.last_seen, merge, policy):
            return REGRESSED
        if _regressed_at(pattern) > merge:
            return REGRESSED
        return RESOLVED if now - merge >= policy.resolve_seconds else FIXED
    return REGRESSED if pattern.status == REGRESSED else ACTIVE


def _regressed_at(pattern: Pattern) -> float:
    value = pattern.regressed_at
    return float(value) if isinstance(value, float | int) else float("-inf")


def after_occurrence(
    previous: Pattern | None, updated: Pattern, fix: FixState | None, event_time: float, now: float,
    policy: LifecyclePolicy,
) -> Pattern:
    """``updated`` (``previous`` with one more occurrence at ``event_time``) with its stored status.

    It becomes ``regressed`` when the occurrence comes after its fix merged (past the grace period),
    or when it follows the previous occurrence by the archive period or more (event times, so a
    backlog read late is not mistaken for a quiet pattern); it stays regressed until a later fix merges.
    """
    if previous is None:
        return updated
    merge = merged_at(fix)
    came_back = previous.last_seen is not None and event_time - previous.last_seen >= policy.archive_seconds
    if came_back or (merge is not None and recurs_after(event_time, merge, policy)):
        still = previous.status == REGRESSED and (merge is None or _regressed_at(previous) > merge)
        if still and not came_back:
            return updated  # already regressed: keep the time it first came back
        return msgspec.structs.replace(updated, status=REGRESSED, regressed_at=event_time,
                                       regressions=previous.regression_count + 1)
    if updated.status == REGRESSED and merge is not None and _regressed_at(updated) <= merge:
        return msgspec.structs.replace(updated, status=ACTIVE)  # a later fix merged since
    return updated


def visible(status: str, *, include_archived: bool) -> bool:
    """Whether default lists show a pattern with this status (archived ones only when asked)."""
    return status != MERGED and (include_archived or status != ARCHIVED)


def compacted(pattern: Pattern) -> bool:
    return not pattern.traceback and not pattern.frames and not pattern.windows


def due_for_archive(pattern: Pattern, now: float, policy: LifecyclePolicy) -> bool:
    """Quiet for the archive period and not yet compacted (a pattern merged into another is left alone)."""
    return not pattern.alias_of and archived(pattern, now, policy) and not compacted(pattern)


def compact(pattern: Pattern) -> Pattern:
    """An archived pattern's table value, bounded: the sample traceback, frames and windows are dropped.

    The identity, counts, first and last seen, status and idempotence markers stay, so a recurrence
    is recognised and counted, and the next occurrence brings a fresh sample.
    """
    return msgspec.structs.replace(pattern, traceback="", frames=[], windows={}, incomplete=True)
