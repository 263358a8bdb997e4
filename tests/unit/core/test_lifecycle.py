"""A pattern's life after its fix: regressed, resolved, archived."""

from __future__ import annotations

from typing import Any

import pytest

from streamfix.core import lifecycle
from streamfix.core.lifecycle import LifecyclePolicy, after_occurrence, status_of
from streamfix.core.records import FIX_STATES, PATTERNS, FixState, Pattern

MERGE = 100_000.0
DAY = 86400.0
POLICY = LifecyclePolicy(grace_seconds=600, resolve_seconds=3 * DAY, archive_seconds=30 * DAY)


def pattern(last_seen: float, **kw: Any) -> Pattern:
    return PATTERNS.decode(
        {"fingerprint": "fp1:x", "first_seen": 0.0, "last_seen": last_seen, "count": 3, **kw}
    )


def fix(status: str, **kw: Any) -> FixState:
    return FIX_STATES.decode({"status": status, "attempt": 1, "updated_at": MERGE, **kw})


STATUS_CASES: list[tuple[str, Pattern, FixState | None, float, str]] = [
    ("no-fix-active", pattern(MERGE), None, MERGE + 10, "active"),
    ("pending-fix-active", pattern(MERGE), fix("pending"), MERGE + 10, "active"),
    ("merged-quiet-fixed", pattern(MERGE - 5), fix("merged"), MERGE + DAY, "fixed"),
    ("merged-quiet-long-resolved", pattern(MERGE - 5), fix("merged"), MERGE + 3 * DAY, "resolved"),
    (
        "late-line-within-grace-not-regressed",
        pattern(MERGE + 300),
        fix("merged"),
        MERGE + 3 * DAY,
        "resolved",
    ),
    ("recurred-after-grace-regressed", pattern(MERGE + 601), fix("merged"), MERGE + 700, "regressed"),
    (
        "merge-time-field-wins",
        pattern(MERGE + 601),
        fix("merged", updated_at=MERGE + 5000, merged_at=MERGE),
        MERGE + 5000,
        "regressed",
    ),
    (
        "stored-regressed-while-attempt-2-runs",
        pattern(MERGE + 700, status="regressed", regressed_at=MERGE + 700),
        fix("pending", attempt=2),
        MERGE + 800,
        "regressed",
    ),
    (
        "regressed-then-next-fix-merged",
        pattern(MERGE + 700, status="regressed", regressed_at=MERGE + 700),
        fix("merged", attempt=2, merged_at=MERGE + 2000),
        MERGE + 2100,
        "fixed",
    ),
    ("quiet-30-days-archived", pattern(MERGE), None, MERGE + 30 * DAY, "archived"),
    ("resolved-then-archived", pattern(MERGE - 5), fix("merged"), MERGE + 31 * DAY, "archived"),
    ("alias-merged", pattern(MERGE, alias_of="fp1:y", status="merged"), None, MERGE, "merged"),
]


@pytest.mark.parametrize(
    ("p", "state", "now", "expected"), [c[1:] for c in STATUS_CASES], ids=[c[0] for c in STATUS_CASES]
)
def test_status_of(p: Pattern, state: FixState | None, now: float, expected: str) -> None:
    assert status_of(p, state, now, POLICY) == expected


def occur(previous: Pattern, state: FixState | None, at: float, now: float | None = None) -> Pattern:
    updated = PATTERNS.decode(
        {
            **PATTERNS.to_obj(previous),
            "last_seen": max(at, previous.last_seen or 0),
            "count": previous.count + 1,
        }
    )
    return after_occurrence(previous, updated, state, at, at if now is None else now, POLICY)


OCCURRENCE_CASES: list[tuple[str, Pattern, FixState | None, float, float | None, str, int]] = [
    ("first-recurrence-after-merge", pattern(MERGE - 5), fix("merged"), MERGE + 601, None, "regressed", 1),
    ("within-grace-stays", pattern(MERGE - 5), fix("merged"), MERGE + 599, None, "active", 0),
    (
        "late-old-event-processed-after-grace",
        pattern(MERGE - 5),
        fix("merged"),
        MERGE - 1,
        MERGE + 5000,
        "active",
        0,
    ),
    ("no-fix-stays-active", pattern(MERGE - 5), None, MERGE + 601, None, "active", 0),
    ("archived-comes-back-regressed", pattern(MERGE), None, MERGE + 31 * DAY, None, "regressed", 1),
    (
        "archived-after-fix-comes-back-regressed",
        pattern(MERGE - 5),
        fix("merged"),
        MERGE + 40 * DAY,
        None,
        "regressed",
        1,
    ),
    (
        "resolved-comes-back-regressed",
        pattern(MERGE - 5),
        fix("merged"),
        MERGE + 4 * DAY,
        None,
        "regressed",
        1,
    ),
]


@pytest.mark.parametrize(
    ("p", "state", "at", "now", "expected", "regressions"),
    [c[1:] for c in OCCURRENCE_CASES],
    ids=[c[0] for c in OCCURRENCE_CASES],
)
def test_after_occurrence(
    p: Pattern, state: FixState | None, at: float, now: float | None, expected: str, regressions: int
) -> None:
    out = occur(p, state, at, now)
    assert out.status == expected
    assert out.regression_count == regressions
    if expected == "regressed":
        assert out.regressed_at == at


def test_regressed_once_per_merge_and_again_after_the_next() -> None:
    first = occur(pattern(MERGE - 5), fix("merged"), MERGE + 700)
    again = occur(first, fix("pending", attempt=2), MERGE + 800)
    assert (again.status, again.regression_count, again.regressed_at) == ("regressed", 1, MERGE + 700)
    second_merge = fix("merged", attempt=2, merged_at=MERGE + 2000)
    quiet = occur(again, second_merge, MERGE + 2100)  # within the second fix's grace period
    assert (quiet.status, quiet.regression_count) == ("active", 1)
    back = occur(quiet, second_merge, MERGE + 2700)
    assert (back.status, back.regression_count, back.regressed_at) == ("regressed", 2, MERGE + 2700)


def test_first_occurrence_is_active() -> None:
    new = pattern(MERGE)
    assert after_occurrence(None, new, None, MERGE, MERGE, POLICY) is new


@pytest.mark.parametrize(
    ("status", "include", "shown"),
    [
        ("active", False, True),
        ("archived", False, False),
        ("archived", True, True),
        ("merged", True, False),
        ("regressed", False, True),
    ],
)
def test_visible(status: str, include: bool, shown: bool) -> None:
    assert lifecycle.visible(status, include_archived=include) is shown


def test_compact_keeps_identity_and_markers() -> None:
    full = pattern(
        MERGE,
        traceback="x" * 5000,
        frames=[{"file": "a.py", "line": 1}],
        windows={"60": 3},
        applied={"0": [5, 1]},
    )
    small = lifecycle.compact(full)
    assert (small.fingerprint, small.count, small.last_seen, small.applied) == (
        full.fingerprint,
        full.count,
        full.last_seen,
        full.applied,
    )
    assert (small.traceback, small.frames, small.windows) == ("", [], {})
    assert len(PATTERNS.dumps(small)) < len(PATTERNS.dumps(full)) // 10
