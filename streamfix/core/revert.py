"""When should a merged fix be reverted? A pure decision over the fix, the patterns and the clock.

A merged fix is due for a revert pull request when, within ``window_seconds`` after its merge and the
deploy grace period (event time), either its own pattern occurred ``threshold`` times or more (it
regressed badly), or the patterns whose frames lie in the files the fix changed occurred ``threshold``
times or more together (the fix broke something else). The revert is proposed, never merged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from streamfix.core.effectiveness import count_between
from streamfix.core.records import Pattern

_DIFF_PATH = re.compile(r"^\+\+\+ b/(?P<path>.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class RevertPolicy:
    enabled: bool = False
    window_seconds: float = 86400.0
    threshold: int = 10
    grace_seconds: float = 600.0
    width: int = 60


@dataclass(frozen=True, slots=True)
class RevertDue:
    reason: str
    """``regressed`` (the fix's own pattern) or ``errors_in_changed_files``."""
    occurrences: int
    patterns: tuple[str, ...]
    """The fingerprints counted, most occurrences first."""


def changed_paths(diff: str) -> list[str]:
    """Repository paths a unified diff changes (its ``+++ b/...`` lines), in order, without repeats."""
    return list(dict.fromkeys(m["path"] for m in _DIFF_PATH.finditer(diff) if m["path"] != "/dev/null"))


def _touches(pattern: Pattern, paths: Iterable[str]) -> bool:
    files = {f.file for f in pattern.frames} | ({pattern.file} if pattern.file else set())
    return any(file == path or file.endswith("/" + path) for file in files for path in paths)


def revert_due(
    fingerprint: str,
    merged_at: float,
    diff: str,
    patterns: Iterable[Pattern],
    now: float,
    policy: RevertPolicy,
    fix_id: str = "",
) -> RevertDue | None:
    """The reason to revert the fix ``fix_id`` of ``fingerprint`` merged at ``merged_at``, or None.

    Occurrences are read from the patterns' count windows that start after the grace period ends
    (window granularity: the window in which it ends is left out, so nothing from before counts). The
    fix's own pattern also carries an exact per-event count since the merge (its effectiveness
    snapshot, :mod:`streamfix.core.effectiveness`); the larger of the two is used.
    """
    if not policy.enabled:
        return None
    start = merged_at + policy.grace_seconds
    if now <= start:
        return None
    end = start + policy.window_seconds
    paths = changed_paths(diff)
    own = 0
    touched: list[tuple[int, str]] = []
    for pattern in patterns:
        if pattern.alias_of:
            continue
        n = count_between(pattern.windows, start + policy.width, end, policy.width)
        if pattern.fingerprint == fingerprint:
            snapshot = pattern.outcomes.get(fix_id) if isinstance(pattern.outcomes, dict) else None
            own = max(n, int(snapshot[2]) if snapshot is not None else 0)
        if n and paths and _touches(pattern, paths):
            touched.append((n, pattern.fingerprint))
    if own >= policy.threshold:
        return RevertDue("regressed", own, (fingerprint,))
    total = sum(n for n, _ in touched)
    if total >= policy.threshold:
        return RevertDue(
            "errors_in_changed_files", total, tuple(fp for _, fp in sorted(touched, reverse=True))
        )
    return None
