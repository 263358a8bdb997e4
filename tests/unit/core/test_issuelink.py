from __future__ import annotations

import pytest

from streamfix.core.issuelink import (
    ErrorSignature,
    IssueCandidate,
    IssueLinks,
    match_issues,
    search_terms,
)

FP = "fp1:5f2c0e9a4b7d1c3e"
SIG = ErrorSignature(
    fingerprint=FP,
    pattern_id="a1b2c3d4e5f6",
    error_type="KeyError",
    file="/app/shop/pricing.py",
    line=14,
    function="compute_total",
)


def issue(number: int, title: str, body: str = "", **kw: object) -> IssueCandidate:
    return IssueCandidate(number, title, body, **kw)  # type: ignore[arg-type]


CASES = [
    ("fingerprint-in-body", [issue(3, "Crash", f"pattern {FP} keeps firing")], (), IssueLinks((3,), ())),
    ("pattern-id-in-title", [issue(4, "auto-fix a1b2c3d4e5f6 failing")], (), IssueLinks((4,), ())),
    ("type-and-file", [issue(5, "KeyError in pricing.py")], (), IssueLinks((), (5,))),
    ("type-and-function", [issue(6, "compute_total raises KeyError")], (), IssueLinks((), (6,))),
    ("type-only", [issue(7, "KeyError somewhere")], (), IssueLinks()),
    ("file-only", [issue(8, "pricing.py is slow")], (), IssueLinks()),
    ("function-only", [issue(9, "compute_total rounding")], (), IssueLinks()),
    ("closed-exact", [issue(10, FP, state="closed")], (), IssueLinks()),
    ("closed-related", [issue(11, "KeyError in pricing.py", state="closed")], (), IssueLinks()),
    ("pull-request", [issue(12, FP, is_pull_request=True)], (), IssueLinks()),
    ("longer-hash-is-not-the-id", [issue(13, "sha a1b2c3d4e5f6aa")], (), IssueLinks()),
    ("longer-fingerprint", [issue(14, FP + "ff")], (), IssueLinks()),
    ("type-inside-longer-name", [issue(15, "MyKeyError in pricing.py")], (), IssueLinks()),
    ("file-inside-longer-name", [issue(16, "KeyError in oldpricing.py")], (), IssueLinks()),
    ("label", [issue(17, "unrelated", labels=("Prod-Errors",))], ("prod-errors",), IssueLinks((), (17,))),
    ("label-not-configured", [issue(18, "unrelated", labels=("bug",))], ("prod-errors",), IssueLinks()),
    (
        "ranked-location-before-label-newest-first",
        [
            issue(20, "x", labels=("prod-errors",)),
            issue(21, "KeyError in pricing.py"),
            issue(22, 'KeyError File "pricing.py", line 14, in compute_total'),
            issue(23, "KeyError in pricing.py"),
        ],
        ("prod-errors",),
        IssueLinks((), (22, 23, 21, 20)),
    ),
    (
        "exact-not-repeated-in-related",
        [issue(30, f"KeyError in pricing.py {FP}"), issue(31, "KeyError at pricing.py:14")],
        (),
        IssueLinks((30,), (31,)),
    ),
    ("duplicates-once", [issue(40, FP), issue(40, FP)], (), IssueLinks((40,), ())),
]


@pytest.mark.parametrize(("candidates", "labels", "want"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_match(candidates: list[IssueCandidate], labels: tuple[str, ...], want: IssueLinks) -> None:
    assert match_issues(candidates, SIG, labels=labels) == want


def test_related_is_capped() -> None:
    many = [issue(n, "KeyError in pricing.py") for n in range(1, 20)]
    assert match_issues(many, SIG).related == (19, 18, 17, 16, 15)


def test_vague_function_and_module_are_no_location() -> None:
    sig = ErrorSignature(FP, "a1b2c3d4e5f6", "KeyError", file=None, function="<module>")
    assert match_issues([issue(1, "KeyError in <module>")], sig) == IssueLinks()
    sig = ErrorSignature(FP, "a1b2c3d4e5f6", "KeyError", file=None, function="main")
    assert match_issues([issue(1, "KeyError in main")], sig) == IssueLinks()


def test_dotted_error_type_matches_its_class_name() -> None:
    sig = ErrorSignature(FP, "a1b2c3d4e5f6", "psycopg2.errors.UniqueViolation", file="app/db.py")
    assert match_issues([issue(2, "UniqueViolation from db.py")], sig).related == (2,)


@pytest.mark.parametrize(
    ("sig", "want"),
    [
        (SIG, [(FP,), ("a1b2c3d4e5f6",), ("KeyError", "pricing.py"), ("KeyError", "compute_total")]),
        (
            ErrorSignature(
                'fp1:x" repo:evil/x', "a1b2c3d4e5f6", 'Key"Error repo:x', file="a b.py", function="f"
            ),
            [("a1b2c3d4e5f6",)],
        ),
    ],
    ids=["all", "no-injected-qualifiers"],
)
def test_search_terms(sig: ErrorSignature, want: list[tuple[str, ...]]) -> None:
    assert search_terms(sig) == want
