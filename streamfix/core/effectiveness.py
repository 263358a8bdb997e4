"""Did a merged fix work? Per fix, per group, per A/B arm. Pure functions over records and times.

A fix is judged by two equal windows of ``window_seconds`` around its merge: occurrences (event time)
in ``[merge - W, merge)`` before, and in ``(merge + grace, merge + grace + W]`` after (the deploy grace
period is left out, as in :mod:`streamfix.core.lifecycle`). Once the after window has ended the fix
is *judged*; it *stopped* the pattern when the after window holds no occurrence.

The counts come from the pattern's per-window counts. Those are pruned as newer occurrences arrive,
so the group agent keeps a small snapshot per merged fix on the pattern (:func:`record_occurrence`):
the before count taken at the first occurrence after the merge, and the after count it adds up. A
pattern that never came back has no snapshot and needs none: without newer occurrences its windows
are not pruned.

Rates carry a 95 % Wilson score interval. An A/B arm is declared better only when every arm has at
least ``min_fixes`` judged fixes and the best arm's interval lies wholly above every other arm's.
Requests are assigned to arms by a stable hash of the fingerprint (:func:`arm_for`), so a pattern
stays in one arm across attempts and workers.
"""

from __future__ import annotations

import hashlib
import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import msgspec

from streamfix.core.records import FixState, Pattern

Z95 = 1.959963984540054
MAX_OUTCOMES = 8
"""Snapshots kept per pattern (the latest merged fixes)."""
GROUPS = ("category", "error_type", "model", "strategy", "trigger")


@dataclass(frozen=True, slots=True)
class EffectPolicy:
    window_seconds: float = 86400.0
    grace_seconds: float = 600.0
    width: int = 60
    """Width of the pattern's count windows (s)."""


def arm_for(fingerprint: str, arms: Sequence[str]) -> str:
    """The A/B arm of a pattern: stable across processes, restarts and attempts."""
    if not arms:
        raise ValueError("no arms to choose from")
    digest = hashlib.sha256(fingerprint.encode("utf-8")).digest()
    return arms[int.from_bytes(digest[:8], "big") % len(arms)]


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson score interval of a proportion; (0, 1) when there is no observation."""
    if n <= 0:
        return 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def count_between(windows: Mapping[str, int], start: float, end: float, width: int) -> int:
    """Occurrences in the count windows whose start lies in ``[start, end)`` (window-start granularity)."""
    low = math.floor(start / width) * width
    return sum(int(n) for key, n in windows.items() if low <= int(key) < end)


def record_occurrence(
    previous: Pattern | None,
    updated: Pattern,
    fix: FixState | None,
    event_time: float,
    occurrences: int,
    policy: EffectPolicy,
) -> Pattern:
    """``updated`` with the snapshot of the pattern's merged fix brought up to date for one occurrence."""
    if previous is None or fix is None or fix.status != "merged" or not isinstance(fix.fix_id, str):
        return updated
    merge = fix.merged_at if isinstance(fix.merged_at, float | int) else fix.updated_at
    if event_time <= merge:
        return updated
    outcomes = dict(previous.outcomes) if isinstance(previous.outcomes, dict) else {}
    entry = outcomes.get(fix.fix_id)
    if entry is None:
        before = count_between(previous.windows, merge - policy.window_seconds, merge, policy.width)
        entry = [float(merge), float(before), 0.0]
    start = merge + policy.grace_seconds
    if start < event_time <= start + policy.window_seconds:
        entry = [entry[0], entry[1], entry[2] + occurrences]
    outcomes[fix.fix_id] = entry
    if len(outcomes) > MAX_OUTCOMES:
        for stale in sorted(outcomes, key=lambda k: outcomes[k][0])[: len(outcomes) - MAX_OUTCOMES]:
            del outcomes[stale]
    return msgspec.structs.replace(updated, outcomes=outcomes)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One merged fix, judged or still waiting."""

    fix_id: str
    fingerprint: str
    attempt: int
    category: str
    error_type: str
    model: str
    strategy: str
    trigger: str
    merged_at: float
    before: int
    after: int
    judged: bool
    stopped: bool | None
    time_to_pr: float | None
    time_to_merge: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def outcome_of(
    fix: Mapping[str, Any], pattern: Pattern | None, now: float, policy: EffectPolicy
) -> Outcome | None:
    """The outcome of a fix (a ``fixes`` table entry: a FixResult's JSON object); None unless merged."""
    if fix.get("status") != "merged":
        return None
    merged = _number(fix.get("merged_at")) or _number(fix.get("updated_at"))
    if merged is None:
        return None
    fix_id = str(fix.get("fix_id", ""))
    snapshot = None
    if pattern is not None and isinstance(pattern.outcomes, dict):
        snapshot = pattern.outcomes.get(fix_id)
    start = merged + policy.grace_seconds
    if snapshot is not None:
        before, after = int(snapshot[1]), int(snapshot[2])
    elif pattern is not None:
        before = count_between(pattern.windows, merged - policy.window_seconds, merged, policy.width)
        after = count_between(
            pattern.windows, start + policy.width, start + policy.window_seconds, policy.width
        )
    else:
        before = after = 0
    judged = now >= start + policy.window_seconds
    created = _number(fix.get("created_at"))
    opened = _number(fix.get("pr_opened_at"))
    attempt = fix.get("attempt")
    if not isinstance(attempt, int):
        tail = str(fix.get("request_id", "")).rpartition("#")[2]
        attempt = int(tail) if tail.isdigit() else 1
    return Outcome(
        fix_id=fix_id,
        fingerprint=str(fix.get("fingerprint", "")),
        attempt=attempt,
        category=str(fix.get("category") or "unknown"),
        error_type=str(fix.get("error_type") or "unknown"),
        model=str(fix.get("model") or "unknown"),
        strategy=str(fix.get("strategy") or "default"),
        trigger=str(fix.get("trigger") or "unknown"),
        merged_at=merged,
        before=before,
        after=after,
        judged=judged,
        stopped=(after == 0) if judged else None,
        time_to_pr=None if created is None or opened is None else max(0.0, opened - created),
        time_to_merge=None if created is None else max(0.0, merged - created),
    )


@dataclass(frozen=True, slots=True)
class Stats:
    fixes: int
    judged: int
    stopped: int
    rate: float | None
    low: float
    high: float
    median_time_to_pr: float | None
    median_time_to_merge: float | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def stats(outcomes: Sequence[Outcome]) -> Stats:
    judged = [o for o in outcomes if o.judged]
    stopped = sum(1 for o in judged if o.stopped)
    low, high = wilson(stopped, len(judged))
    return Stats(
        fixes=len(outcomes),
        judged=len(judged),
        stopped=stopped,
        rate=stopped / len(judged) if judged else None,
        low=low,
        high=high,
        median_time_to_pr=_median(o.time_to_pr for o in outcomes),
        median_time_to_merge=_median(o.time_to_merge for o in outcomes),
    )


def grouped(outcomes: Sequence[Outcome], by: str) -> dict[str, Stats]:
    """Stats per value of ``by`` (one of :data:`GROUPS`)."""
    if by not in GROUPS:
        raise ValueError(f"cannot group by {by!r}")
    groups: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault(str(getattr(outcome, by)), []).append(outcome)
    return {value: stats(members) for value, members in sorted(groups.items())}


def ab_report(outcomes: Sequence[Outcome], by: str, min_fixes: int) -> dict[str, Any]:
    """Arms (values of ``by``) with counts, rates and intervals, and the better arm when there is one."""
    arms = grouped(outcomes, by)
    report: dict[str, Any] = {
        "by": by,
        "min_fixes": min_fixes,
        "arms": {arm: s.to_dict() for arm, s in arms.items()},
        "winner": None,
    }
    if len(arms) < 2:
        report["reason"] = "fewer than two arms"
        return report
    short = sorted(arm for arm, s in arms.items() if s.judged < min_fixes)
    if short:
        report["reason"] = f"too few judged fixes (< {min_fixes}) in: {', '.join(short)}"
        return report
    best = max(arms, key=lambda arm: (arms[arm].rate or 0.0, arm))
    if all(arms[best].low > s.high for arm, s in arms.items() if arm != best):
        report["winner"] = best
        report["reason"] = "its 95 % interval lies above every other arm's"
    else:
        report["reason"] = "the 95 % intervals overlap"
    return report


def report(
    fixes: Iterable[Mapping[str, Any]],
    patterns: Mapping[str, Pattern],
    now: float,
    policy: EffectPolicy,
    *,
    ab_by: str,
    min_fixes: int,
) -> dict[str, Any]:
    """The effectiveness report: every merged fix, overall and grouped stats, the A/B comparison."""
    outcomes = [
        o
        for fix in fixes
        if (o := outcome_of(fix, patterns.get(str(fix.get("fingerprint", ""))), now, policy)) is not None
    ]
    outcomes.sort(key=lambda o: (-o.merged_at, o.fix_id))
    return {
        "window_seconds": policy.window_seconds,
        "grace_seconds": policy.grace_seconds,
        "overall": stats(outcomes).to_dict(),
        "by": {by: {value: s.to_dict() for value, s in grouped(outcomes, by).items()} for by in GROUPS},
        "ab": ab_report(outcomes, ab_by, min_fixes),
        "fixes": [o.to_dict() for o in outcomes],
    }
