"""Fix effectiveness: per-fix windows, grouped rates with Wilson intervals, the A/B decision."""

from __future__ import annotations

from typing import Any

import pytest

from streamfix.core import effectiveness as eff
from streamfix.core.effectiveness import EffectPolicy, Outcome
from streamfix.core.records import FIX_STATES, PATTERNS, Pattern

DAY = 86400.0
MERGE = 1_000_000.0 * 60
POLICY = EffectPolicy(window_seconds=DAY, grace_seconds=600.0, width=60)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [
        # reference values of the 95 % Wilson score interval
        (18, 20, 0.6990, 0.9721),
        (5, 10, 0.2366, 0.7634),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (0, 0, 0.0, 1.0),
    ],
)
def test_wilson(k: int, n: int, low: float, high: float) -> None:
    lo, hi = eff.wilson(k, n)
    assert (lo, hi) == (pytest.approx(low, abs=1e-4), pytest.approx(high, abs=1e-4))


def test_arm_is_stable_and_spreads() -> None:
    arms = ["claude-a", "claude-b"]
    assert eff.arm_for("fp1:x", arms) == eff.arm_for("fp1:x", list(arms))
    picks = [eff.arm_for(f"fp1:{i}", arms) for i in range(1000)]
    assert 400 < picks.count("claude-a") < 600
    with pytest.raises(ValueError, match="no arms"):
        eff.arm_for("fp1:x", [])


def fix(**kw: Any) -> dict[str, Any]:
    base = {
        "fix_id": "fix-1",
        "fingerprint": "fp1:x",
        "status": "merged",
        "request_id": "fp1:x#1",
        "category": "cache_error",
        "error_type": "KeyError",
        "model": "m1",
        "trigger": "api",
        "created_at": MERGE - 7200,
        "pr_opened_at": MERGE - 3600,
        "updated_at": MERGE,
        "merged_at": MERGE,
    }
    return {**base, **kw}


def windows(**at: int) -> dict[str, int]:
    """Counts at offsets (s) from the merge, e.g. ``m3600=4`` → 4 occurrences an hour before it."""
    out: dict[str, int] = {}
    for name, n in at.items():
        offset = -int(name[1:]) if name[0] == "m" else int(name[1:])
        key = str(int((MERGE + offset) // 60) * 60)
        out[key] = out.get(key, 0) + n
    return out


def pattern(**kw: Any) -> Pattern:
    return PATTERNS.decode({"fingerprint": "fp1:x", **kw})


OUTCOME_CASES: list[tuple[str, dict[str, Any], Pattern | None, float, tuple[int, int, bool, bool | None]]] = [
    ("stopped", fix(), pattern(windows=windows(m3600=7, m60=3)), MERGE + 2 * DAY, (10, 0, True, True)),
    ("not-yet-judged", fix(), pattern(windows=windows(m3600=7)), MERGE + DAY, (7, 0, False, None)),
    (
        "within-grace-not-counted",
        fix(),
        pattern(windows=windows(m3600=7, p120=2)),
        MERGE + 2 * DAY,
        (7, 0, True, True),
    ),
    ("came-back", fix(), pattern(windows=windows(m3600=7, p7200=2)), MERGE + 2 * DAY, (7, 2, True, False)),
    (
        "older-than-window-not-counted",
        fix(),
        pattern(windows=windows(m90000=5, m60=1)),
        MERGE + 2 * DAY,
        (1, 0, True, True),
    ),
    (
        "snapshot-wins",
        fix(),
        pattern(outcomes={"fix-1": [MERGE, 12.0, 3.0]}),
        MERGE + 2 * DAY,
        (12, 3, True, False),
    ),
    ("no-pattern", fix(), None, MERGE + 2 * DAY, (0, 0, True, True)),
]


@pytest.mark.parametrize(
    ("entry", "p", "now", "expected"), [c[1:] for c in OUTCOME_CASES], ids=[c[0] for c in OUTCOME_CASES]
)
def test_outcome_of(
    entry: dict[str, Any], p: Pattern | None, now: float, expected: tuple[int, int, bool, bool | None]
) -> None:
    out = eff.outcome_of(entry, p, now, POLICY)
    assert out is not None
    assert (out.before, out.after, out.judged, out.stopped) == expected
    assert (out.time_to_pr, out.time_to_merge) == (3600.0, 7200.0)


def test_open_fix_has_no_outcome() -> None:
    assert eff.outcome_of(fix(status="pr_open"), None, MERGE, POLICY) is None


def test_snapshot_taken_at_first_recurrence_and_after_counted() -> None:
    state = FIX_STATES.decode(
        {"status": "merged", "attempt": 1, "fix_id": "fix-1", "updated_at": MERGE, "merged_at": MERGE}
    )
    before = pattern(windows=windows(m3600=7, m90000=4))
    early = eff.record_occurrence(before, before, state, MERGE + 100, 1, POLICY)  # in the grace period
    assert early.outcomes == {"fix-1": [MERGE, 7.0, 0.0]}
    later = eff.record_occurrence(early, early, state, MERGE + 1000, 2, POLICY)
    assert later.outcomes == {"fix-1": [MERGE, 7.0, 2.0]}
    past = eff.record_occurrence(later, later, state, MERGE + 2 * DAY, 1, POLICY)  # after the after window
    assert past.outcomes == {"fix-1": [MERGE, 7.0, 2.0]}
    pending = FIX_STATES.decode({"status": "pending", "attempt": 2})
    assert eff.record_occurrence(later, later, pending, MERGE + 1000, 1, POLICY) is later


def synthetic(arm: str, stopped: int, failed: int, waiting: int = 0) -> list[Outcome]:
    """A synthetic outcome set: ``stopped`` + ``failed`` judged fixes and ``waiting`` unjudged ones."""
    out = []
    for i in range(stopped + failed + waiting):
        judged = i < stopped + failed
        out.append(
            Outcome(
                fix_id=f"{arm}-{i}",
                fingerprint=f"fp1:{arm}{i}",
                attempt=1,
                category="cache_error",
                error_type="KeyError",
                model=arm,
                strategy="default",
                trigger="threshold",
                merged_at=MERGE,
                before=5,
                after=0 if i < stopped else 3,
                judged=judged,
                stopped=(i < stopped) if judged else None,
                time_to_pr=60.0 * (i + 1),
                time_to_merge=None,
            )
        )
    return out


def test_ab_report_rates_and_intervals() -> None:
    outcomes = synthetic("model-a", 18, 2, waiting=3) + synthetic("model-b", 5, 5)
    report = eff.ab_report(outcomes, "model", min_fixes=10)
    a, b = report["arms"]["model-a"], report["arms"]["model-b"]
    assert (a["fixes"], a["judged"], a["stopped"], a["rate"]) == (23, 20, 18, 0.9)
    assert (b["fixes"], b["judged"], b["stopped"], b["rate"]) == (10, 10, 5, 0.5)
    assert (a["low"], a["high"]) == (pytest.approx(0.6990, abs=1e-4), pytest.approx(0.9721, abs=1e-4))
    assert (b["low"], b["high"]) == (pytest.approx(0.2366, abs=1e-4), pytest.approx(0.7634, abs=1e-4))
    assert a["median_time_to_pr"] == 720.0  # 23 fixes: 60 s .. 1380 s
    assert report["winner"] is None and "overlap" in report["reason"]  # 0.699 < 0.763


@pytest.mark.parametrize(
    ("a", "b", "min_fixes", "winner", "reason"),
    [
        ((40, 0), (10, 30), 20, "model-a", "above"),
        ((10, 0), (0, 10), 20, None, "too few"),
        ((19, 1), (19, 1), 20, None, "overlap"),
        ((40, 0), (0, 0), 1, None, "fewer than two arms"),
    ],
)
def test_winner_needs_enough_fixes_and_separate_intervals(
    a: tuple[int, int], b: tuple[int, int], min_fixes: int, winner: str | None, reason: str
) -> None:
    report = eff.ab_report(synthetic("model-a", *a) + synthetic("model-b", *b), "model", min_fixes)
    assert report["winner"] == winner
    assert reason in report["reason"]


def test_report_groups_every_dimension() -> None:
    entries = [
        fix(),
        fix(fix_id="fix-2", fingerprint="fp1:y", category="database_error", model="m2"),
        fix(fix_id="fix-3", status="pr_open"),
    ]
    patterns = {
        "fp1:x": pattern(windows=windows(m60=2)),
        "fp1:y": pattern(fingerprint="fp1:y", windows=windows(m60=2, p7200=1)),
    }
    body = eff.report(entries, patterns, MERGE + 2 * DAY, POLICY, ab_by="model", min_fixes=1)
    assert body["overall"]["judged"] == 2 and body["overall"]["stopped"] == 1
    assert body["by"]["category"]["cache_error"]["rate"] == 1.0
    assert body["by"]["category"]["database_error"]["rate"] == 0.0
    assert set(body["ab"]["arms"]) == {"m1", "m2"}
    assert [f["fix_id"] for f in body["fixes"]] == ["fix-1", "fix-2"]
