"""Candidate fixes of several models: checks in an isolated checkout, score, choice."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from streamfix.core.editpolicy import EditContext
from streamfix.fixing import candidates
from streamfix.fixing.apply import Edit
from streamfix.fixing.candidates import Candidate
from streamfix.fixing.claude import Analysis
from streamfix.runtime.settings import Settings
from tests.unit.fixing.helpers import GOOD_EDIT, SAMPLE

GOOD = Edit(**GOOD_EDIT)
DOC = Edit(path="shop/pricing.py", search='"""Order statistics."""\n', replace='"""Order stats."""\n')
BROKEN = Edit(path="shop/pricing.py", search="    return total / len(orders)\n", replace="    return total /\n")
BLOCKED = Edit(path="config/secrets.env", search="a", replace="b")
CTX = EditContext(frame_files=frozenset({"shop/pricing.py"}))


def analysis(*edits: Edit, confidence: float = 0.9) -> Analysis:
    return Analysis(root_cause="r", explanation="e", confidence=confidence, fixability=0.9, edits=edits)


@pytest.fixture
def base(tmp_path: Path) -> Path:
    return candidates.snapshot(SAMPLE, tmp_path)


def settings(**over: object) -> Settings:
    values: dict[str, object] = {"fix_test_command": f"{sys.executable} -m shop.main", "fix_max_diff_lines": 200}
    values.update(over)
    return Settings(**values)  # type: ignore[arg-type]


CASES = [
    ("fixes-and-passes", analysis(GOOD), (True, True, True)),
    ("harmless-but-tests-fail", analysis(DOC), (True, True, False)),
    ("does-not-compile", analysis(BROKEN), (True, False, None)),
    ("blocked-path", analysis(BLOCKED), (False, False, None)),
]


@pytest.mark.parametrize(("a", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_check(base: Path, a: Analysis, expected: tuple[bool, bool, bool | None]) -> None:
    before = (base / "shop" / "pricing.py").read_text()
    checked = candidates.check(base, Candidate(model="m", analysis=a), settings(), context=CTX)
    assert (checked.policy, checked.compiles, checked.tests) == expected
    assert (base / "shop" / "pricing.py").read_text() == before  # each candidate in its own copy
    assert checked.score == candidates.score(checked, 200)


def test_without_test_command_tests_are_not_run(base: Path) -> None:
    checked = candidates.check(
        base, Candidate(model="m", analysis=analysis(GOOD)), settings(fix_test_command=None), context=CTX
    )
    assert (checked.tests, checked.detail) == (None, "no test command configured")
    assert checked.eligible


def test_test_time_limit(base: Path) -> None:
    slow = settings(fix_test_command=f"{sys.executable} -c 'import time; time.sleep(30)'", fix_test_timeout_seconds=0.5)
    checked = candidates.check(base, Candidate(model="m", analysis=analysis(GOOD)), slow, context=CTX)
    assert checked.tests is False and "timed out" in checked.detail


def test_test_command_gets_no_secrets(base: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_secret")
    probe = settings(fix_test_command=f"{sys.executable} -c 'import os, sys; sys.exit(\"GITHUB_TOKEN\" in os.environ)'")
    checked = candidates.check(base, Candidate(model="m", analysis=analysis(GOOD)), probe, context=CTX)
    assert checked.tests is True


def test_choice_prefers_passing_tests_over_confidence() -> None:
    def c(model: str, tests: bool | None, confidence: float, lines: int = 2) -> Candidate:
        made = Candidate(model=model, analysis=analysis(GOOD, confidence=confidence), policy=True, compiles=True,
                         tests=tests, changed_lines=lines)
        return Candidate(**{**{f: getattr(made, f) for f in made.__dataclass_fields__},
                            "score": candidates.score(made, 200)})

    confident_failing, passing = c("a", False, 0.99), c("b", True, 0.5)
    assert candidates.choose([confident_failing, passing]) is passing
    small, big = c("a", True, 0.8, lines=2), c("b", True, 0.8, lines=150)
    assert candidates.choose([big, small]) is small
    tie_first, tie_second = c("a", None, 0.8), c("b", None, 0.8)
    assert candidates.choose([tie_first, tie_second]) is tie_first
    assert candidates.choose([confident_failing]) is None
    assert candidates.score(Candidate(model="x", analysis=None, error="overloaded"), 200) == 0.0


def test_markdown_lists_every_candidate() -> None:
    records = [{"model": "a", "policy": True, "compiles": True, "tests": False, "changed_lines": 1,
                "confidence": 0.97, "score": 12.5},
               {"model": "b", "policy": False, "compiles": False, "tests": None, "changed_lines": 0,
                "confidence": None, "score": 0.0}]
    table = candidates.markdown(records, "a")
    assert "| `a` | yes | yes | no | 1 | 0.97 | 12.50 | chosen |" in table
    assert "| `b` | no | no | n/a | 0 | n/a | 0.00 |  |" in table


@pytest.mark.parametrize(
    "path",
    ["shop/other.py", "tests/test_pricing.py", "conftest.py", "Makefile", ".github/workflows/ci.yml", "setup.py"],
)
def test_an_edit_outside_the_allowlist_is_refused_before_the_test_command_runs(base: Path, path: str) -> None:
    """The test command runs the candidate's code: an edit the pushed fix could not make (a file outside
    the error's frames, a test, a build or CI file) must not reach it either."""
    target = base / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("value = 1\n")
    marker = base.parent / "ran"
    probe = settings(fix_test_command=f"{sys.executable} -c 'open(\"{marker}\", \"w\").close()'")
    hostile = Edit(path=path, search="value = 1\n", replace="value = 2\n")
    checked = candidates.check(base, Candidate(model="m", analysis=analysis(GOOD, hostile)), probe, context=CTX)
    assert checked.policy is False and checked.tests is None
    assert not marker.exists()
