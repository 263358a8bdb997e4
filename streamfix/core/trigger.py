"""When does a pattern become a fix request? Pure decision over the pattern and its fix state.

A fixable pattern of a source with auto-fix enabled triggers once it crosses the threshold (default
5 occurrences within 1 hour) or at once when it is CRITICAL. It never triggers twice, unless the
earlier fix failed, or the pattern came back after its fix was merged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streamfix.core.patterns import count_since

FAILED_STATES = frozenset({"fix_invalid", "analysis_failed", "pr_failed", "closed", "skipped_budget"})
DONE_STATES = frozenset({"merged"})


@dataclass(frozen=True, slots=True)
class TriggerPolicy:
    threshold: int = 5
    window_seconds: int = 3600
    count_window_width: int = 60
    auto_fix_enabled: bool = False


def decide(
    pattern: Mapping[str, Any], fix: Mapping[str, Any] | None, now: float, policy: TriggerPolicy
) -> str | None:
    """Return the trigger (``"critical"`` or ``"threshold"``) when a fix request is due, else None.

    ``fix`` is the pattern's fix state: ``{"attempt": n, "status": s, "updated_at": t}`` or None.
    """
    if not (policy.auto_fix_enabled or pattern.get("auto_fix")) or not pattern.get("fixable"):
        return None
    if fix is not None:
        status = fix.get("status")
        if status in DONE_STATES:
            # came back after the fix was merged: only occurrences after the merge count
            if float(pattern.get("last_seen", 0)) <= float(fix.get("updated_at", 0)):
                return None
        elif status not in FAILED_STATES:
            return None  # a fix is pending, in progress, or its PR is open
    if pattern.get("severity") == "CRITICAL":
        return "critical"
    since = now - policy.window_seconds
    if fix is not None and fix.get("status") in DONE_STATES:
        since = max(since, float(fix.get("updated_at", 0)))
    if count_since(pattern, since, policy.count_window_width) >= policy.threshold:
        return "threshold"
    return None


def next_attempt(fix: Mapping[str, Any] | None) -> int:
    return 1 if fix is None else int(fix.get("attempt", 0)) + 1
