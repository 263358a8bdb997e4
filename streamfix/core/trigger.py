"""When does a pattern become a fix request? Pure decision over the pattern and its fix state.

A fixable pattern of a source with auto-fix enabled triggers once it crosses the threshold (default
5 occurrences within 1 hour) or at once when it is CRITICAL. It never triggers twice, unless the
earlier fix failed, or the pattern came back after its fix was merged: then only occurrences whose
event time is past the merge and its deploy grace period count (:mod:`streamfix.core.lifecycle`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from streamfix.core.lifecycle import merged_at
from streamfix.core.patterns import count_since
from streamfix.core.records import FixState, Pattern

FAILED_STATES = frozenset({"fix_invalid", "analysis_failed", "pr_failed", "closed", "skipped_budget"})
DONE_STATES = frozenset({"merged"})


@dataclass(frozen=True, slots=True)
class TriggerPolicy:
    threshold: int = 5
    window_seconds: int = 3600
    count_window_width: int = 60
    auto_fix_enabled: bool = False
    regression_grace_seconds: float = 600.0


AutoTrigger = Literal["critical", "threshold"]


def decide(pattern: Pattern, fix: FixState | None, now: float, policy: TriggerPolicy) -> AutoTrigger | None:
    """Return the trigger (``"critical"`` or ``"threshold"``) when a fix request is due, else None.

    ``fix`` is the pattern's fix state, None when no fix was ever requested.
    """
    if not (policy.auto_fix_enabled or pattern.auto_fix) or not pattern.fixable:
        return None
    since = now - policy.window_seconds
    if fix is not None:
        merge = merged_at(fix)
        if merge is not None:
            # came back after the fix was merged: only occurrences past the merge and its grace count
            since = max(since, merge + policy.regression_grace_seconds)
            if (pattern.last_seen or 0.0) <= merge + policy.regression_grace_seconds:
                return None
        elif fix.status not in FAILED_STATES:
            return None  # a fix is pending, in progress, or its PR is open
    if pattern.severity == "CRITICAL":
        return "critical"
    if count_since(pattern, since, policy.count_window_width) >= policy.threshold:
        return "threshold"
    return None


def next_attempt(fix: FixState | None) -> int:
    return 1 if fix is None else fix.attempts + 1
