"""When a pattern becomes a fix request."""

from __future__ import annotations

from typing import Any

import pytest

from streamfix.core.records import FIX_STATES, PATTERNS
from streamfix.core.trigger import TriggerPolicy, decide, next_attempt

NOW = 10_000.0
ON = TriggerPolicy(threshold=5, window_seconds=3600, count_window_width=60, auto_fix_enabled=True)


def pattern(count_in_window: int, **kw: Any) -> dict[str, Any]:
    p: dict[str, Any] = {
        "fingerprint": "fp1:t",
        "fixable": True,
        "severity": "HIGH",
        "last_seen": NOW,
        "auto_fix": False,
        "windows": {str(int(NOW // 60) * 60): count_in_window},
    }
    p.update(kw)
    return p


CASES: list[tuple[str, dict[str, Any], dict[str, Any] | None, TriggerPolicy, str | None]] = [
    ("below-threshold", pattern(4), None, ON, None),
    ("at-threshold", pattern(5), None, ON, "threshold"),
    ("critical-at-once", pattern(1, severity="CRITICAL"), None, ON, "critical"),
    ("not-fixable", pattern(50, fixable=False), None, ON, None),
    ("auto-fix-off", pattern(50), None, TriggerPolicy(auto_fix_enabled=False), None),
    (
        "auto-fix-from-source",
        pattern(50, auto_fix=True),
        None,
        TriggerPolicy(auto_fix_enabled=False),
        "threshold",
    ),
    ("old-occurrences-do-not-count", pattern(0, windows={"0": 100}), None, ON, None),
    ("pending-fix-no-second", pattern(50), {"status": "pending", "attempt": 1}, ON, None),
    ("pr-open-no-second", pattern(50), {"status": "pr_open", "attempt": 1}, ON, None),
    ("failed-fix-retries", pattern(50), {"status": "fix_invalid", "attempt": 1}, ON, "threshold"),
    ("merged-and-quiet", pattern(50, last_seen=NOW - 10), {"status": "merged", "updated_at": NOW}, ON, None),
    ("came-back-after-merge", pattern(6, last_seen=NOW + 720,
                                      windows={str(int(NOW // 60) * 60 + 720): 6}),
     {"status": "merged", "updated_at": NOW}, ON, "threshold"),
    ("back-within-deploy-grace", pattern(6, last_seen=NOW + 120,
                                         windows={str(int(NOW // 60) * 60 + 120): 6}),
     {"status": "merged", "updated_at": NOW}, ON, None),
    ("critical-within-deploy-grace", pattern(1, last_seen=NOW + 120, severity="CRITICAL"),
     {"status": "merged", "updated_at": NOW}, ON, None),
    ("critical-after-grace", pattern(1, last_seen=NOW + 601, severity="CRITICAL"),
     {"status": "merged", "updated_at": NOW}, ON, "critical"),
    ("merge-time-not-state-time", pattern(6, last_seen=NOW + 720,
                                          windows={str(int(NOW // 60) * 60 + 720): 6}),
     {"status": "merged", "updated_at": NOW + 1000, "merged_at": NOW}, ON, "threshold"),
    ("occurrences-before-merge-do-not-count", pattern(0, last_seen=NOW + 720,
                                                      windows={str(int(NOW // 60) * 60): 9,
                                                               str(int(NOW // 60) * 60 + 720): 1}),
     {"status": "merged", "updated_at": NOW}, ON, None),
]


@pytest.mark.parametrize(
    ("p", "fix", "policy", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_decide(
    p: dict[str, Any], fix: dict[str, Any] | None, policy: TriggerPolicy, expected: str | None
) -> None:
    state = None if fix is None else FIX_STATES.decode(fix)
    assert decide(PATTERNS.decode(p), state, NOW, policy) == expected


def test_attempts_count_up() -> None:
    assert next_attempt(None) == 1
    assert next_attempt(FIX_STATES.decode({"attempt": 2, "status": "pending"})) == 3
    assert next_attempt(FIX_STATES.decode({"status": "pr_open"})) == 1  # written by a fix result alone
