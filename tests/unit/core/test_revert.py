"""When a merged fix is due for a revert pull request."""

from __future__ import annotations

from typing import Any

import pytest

from streamfix.core.records import PATTERNS, Pattern
from streamfix.core.revert import RevertPolicy, changed_paths, revert_due

MERGE = 60_000_000.0
POLICY = RevertPolicy(enabled=True, window_seconds=3600, threshold=5, grace_seconds=300, width=60)
DIFF = "--- a/shop/pricing.py\n+++ b/shop/pricing.py\n@@ -1 +1,3 @@\n-x\n+y\n"


def at(offset: float, n: int) -> dict[str, int]:
    return {str(int((MERGE + offset) // 60) * 60): n}


def pattern(fp: str, windows: dict[str, int], file: str = "/app/shop/other.py", **kw: Any) -> Pattern:
    return PATTERNS.decode(
        {
            "fingerprint": fp,
            "file": file,
            "windows": windows,
            "frames": [{"file": file, "line": 3, "function": "f"}],
            **kw,
        }
    )


CASES: list[tuple[str, list[Pattern], float, RevertPolicy, tuple[str, int] | None]] = [
    ("own-pattern-over-threshold", [pattern("fp1:own", at(900, 5))], MERGE + 1000, POLICY, ("regressed", 5)),
    ("own-pattern-under-threshold", [pattern("fp1:own", at(900, 4))], MERGE + 1000, POLICY, None),
    ("within-grace-not-counted", [pattern("fp1:own", at(120, 50))], MERGE + 1000, POLICY, None),
    ("before-merge-not-counted", [pattern("fp1:own", at(-600, 50))], MERGE + 1000, POLICY, None),
    ("after-window-not-counted", [pattern("fp1:own", at(5000, 50))], MERGE + 6000, POLICY, None),
    (
        "changed-file-errors-add-up",
        [
            pattern("fp1:a", at(900, 3), "/app/shop/pricing.py"),
            pattern("fp1:b", at(1200, 2), "shop/pricing.py"),
        ],
        MERGE + 2000,
        POLICY,
        ("errors_in_changed_files", 5),
    ),
    (
        "other-files-do-not-count",
        [pattern("fp1:a", at(900, 30), "/app/shop/cart.py")],
        MERGE + 2000,
        POLICY,
        None,
    ),
    (
        "suffix-must-be-a-path",
        [pattern("fp1:a", at(900, 30), "/app/myshop/pricing.py")],
        MERGE + 2000,
        POLICY,
        None,
    ),
    (
        "exact-count-of-the-fix-snapshot",
        [pattern("fp1:own", at(30, 1), outcomes={"fix-1": [MERGE, 9.0, 5.0]})],
        MERGE + 1000,
        POLICY,
        ("regressed", 5),
    ),
    (
        "snapshot-of-another-fix-ignored",
        [pattern("fp1:own", {}, outcomes={"fix-0": [MERGE, 9.0, 5.0]})],
        MERGE + 1000,
        POLICY,
        None,
    ),
    ("off-by-default", [pattern("fp1:own", at(900, 50))], MERGE + 1000, RevertPolicy(), None),
    (
        "merged-alias-ignored",
        [pattern("fp1:a", at(900, 30), "/app/shop/pricing.py", alias_of="fp1:z")],
        MERGE + 2000,
        POLICY,
        None,
    ),
]


@pytest.mark.parametrize(
    ("patterns", "now", "policy", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_revert_due(
    patterns: list[Pattern], now: float, policy: RevertPolicy, expected: tuple[str, int] | None
) -> None:
    due = revert_due("fp1:own", MERGE, DIFF, patterns, now, policy, "fix-1")
    assert (None if due is None else (due.reason, due.occurrences)) == expected


def test_changed_paths() -> None:
    diff = DIFF + "--- a/a.py\n+++ b/a.py\n--- a/gone.py\n+++ /dev/null\n--- a/a.py\n+++ b/a.py\n"
    assert changed_paths(diff) == ["shop/pricing.py", "a.py"]
