"""Multi-model fixes: ask several models, check every candidate in its own checkout, keep the best.

With two or more models in ``fix_candidate_models``, the fixer asks each of them for the same prompt
(:func:`ask_all`). Every candidate is checked (:func:`check`) in an isolated copy of the repository
(the clone's tree at ``origin/<default branch>``, without ``.git``):

1. **policy**: the edits pass :func:`streamfix.fixing.apply.plan` (allowed paths, unique search
   blocks, diff size cap);
2. **compile**: every changed Python file compiles;
3. **tests**: when ``fix_test_command`` is set, it runs in the candidate's checkout with the edits
   applied, with ``fix_test_timeout_seconds`` as its limit and an environment without any secret.

The score (:func:`score`) is lexicographic in the checks, then prefers confidence and small diffs::

    score = 100·tests passed + 10·compiles + 1·policy passed + confidence − 0.5·changed lines / cap

A candidate that fails the policy, or whose analysis failed, scores 0. The chosen candidate is the
highest score among those that passed the policy and compile (ties: the earlier model in the
setting). Every candidate, with its checks and score, is kept in the fix record (``candidates``)
and listed in the pull request body.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from streamfix.core.editpolicy import EditContext
from streamfix.errors import FixError
from streamfix.fixing import apply
from streamfix.fixing.claude import Analysis
from streamfix.fixing.policy import edit_policy
from streamfix.runtime.redaction import scrub
from streamfix.runtime.settings import Settings

log = logging.getLogger(__name__)

SAFE_ENV_KEYS = ("PATH", "LANG", "LC_ALL", "TZ")
"""The only variables the test command inherits (no token or key reaches the project's tests)."""


class ModelAnalyzer(Protocol):
    async def analyze(self, prompt: str, *, model: str | None = None) -> Analysis: ...


@dataclass(frozen=True, slots=True)
class Candidate:
    model: str
    analysis: Analysis | None
    error: str = ""
    policy: bool = False
    compiles: bool = False
    tests: bool | None = None
    """None: no test command configured (or not reached)."""
    changed_lines: int = 0
    diff: str = ""
    detail: str = ""
    score: float = 0.0

    @property
    def eligible(self) -> bool:
        return self.analysis is not None and self.policy and self.compiles and self.tests is not False

    def record(self) -> dict[str, Any]:
        """What the fix record keeps (no edits, no source)."""
        out = {k: v for k, v in asdict(self).items() if k not in ("analysis", "diff")}
        out["confidence"] = None if self.analysis is None else self.analysis.confidence
        out["score"] = round(self.score, 4)
        return out


def score(c: Candidate, max_diff_lines: int) -> float:
    if c.analysis is None or not c.policy:
        return 0.0
    size = min(1.0, c.changed_lines / max(1, max_diff_lines))
    return 100.0 * bool(c.tests) + 10.0 * c.compiles + 1.0 + c.analysis.confidence - 0.5 * size


def choose(candidates: Sequence[Candidate]) -> Candidate | None:
    """The eligible candidate with the highest score (the earlier one on a tie), or None."""
    best: Candidate | None = None
    for c in candidates:
        if c.eligible and (best is None or c.score > best.score):
            best = c
    return best


async def ask_all(analyzer: ModelAnalyzer, prompt: str, models: Sequence[str]) -> list[Candidate | BaseException]:
    """One analysis per model, concurrently; a failure stays in its slot."""
    answers = await asyncio.gather(*(analyzer.analyze(prompt, model=m) for m in models), return_exceptions=True)
    out: list[Candidate | BaseException] = []
    for model, answer in zip(models, answers, strict=True):
        if isinstance(answer, Analysis):
            out.append(Candidate(model=model, analysis=answer))
        else:
            out.append(answer)
    return out


def snapshot(clone_root: Path, into: Path) -> Path:
    """An isolated copy of the clone's tree (without ``.git``), the base of every candidate's checkout."""
    target = into / "base"
    shutil.copytree(clone_root, target, symlinks=True, ignore=shutil.ignore_patterns(".git"))
    return target


def check(
    base: Path,
    candidate: Candidate,
    settings: Settings,
    *,
    context: EditContext | None = None,
    known: Iterable[str] = (),
) -> Candidate:
    """Check one candidate in a copy of ``base``; returns it with its checks and score.

    The candidate's edits pass the same checks as the edits that get pushed (the edit allowlist and
    content policy of :func:`streamfix.fixing.policy.edit_policy` against ``context``) before anything
    is written or the test command runs, so a model's edit to a test, a build file or CI never runs
    here either."""
    assert candidate.analysis is not None
    cap = settings.fix_max_diff_lines
    with tempfile.TemporaryDirectory(prefix="streamfix-candidate-") as folder:
        checkout = Path(folder) / "checkout"
        shutil.copytree(base, checkout, symlinks=True)
        try:
            planned = apply.plan(checkout, candidate.analysis.edits, blocked=settings.fix_blocked_paths,
                                 max_diff_lines=cap, policy=edit_policy(settings),
                                 context=context or EditContext(), known=known)
        except apply.UnsafeEdit as exc:
            compiles_fail = "does not compile" in str(exc)
            done = Candidate(model=candidate.model, analysis=candidate.analysis, policy=compiles_fail,
                             compiles=False, detail=str(exc)[:300])
            return _scored(done, cap)
        apply.write(checkout, planned, blocked=settings.fix_blocked_paths)
        tests, detail = _run_tests(checkout, settings)
        done = Candidate(model=candidate.model, analysis=candidate.analysis, policy=True, compiles=True,
                         tests=tests, changed_lines=planned.changed_lines, diff=planned.diff, detail=detail)
        return _scored(done, cap)


def _scored(c: Candidate, cap: int) -> Candidate:
    return Candidate(**{**{f: getattr(c, f) for f in c.__dataclass_fields__}, "score": score(c, cap)})


def _run_tests(checkout: Path, settings: Settings) -> tuple[bool | None, str]:
    command = settings.fix_test_command
    if not command:
        return None, "no test command configured"
    env = {k: os.environ[k] for k in SAFE_ENV_KEYS if k in os.environ}
    env["HOME"] = str(checkout)
    try:
        proc = subprocess.run(shlex.split(command), cwd=checkout, env=env, capture_output=True, text=True,
                              timeout=settings.fix_test_timeout_seconds, check=False)
    except subprocess.TimeoutExpired:
        return False, f"tests timed out after {settings.fix_test_timeout_seconds:.0f} s"
    except OSError as exc:
        raise FixError(f"test command could not start: {exc}") from None
    tail = scrub((proc.stdout + proc.stderr)[-300:], where="fix_result")
    return proc.returncode == 0, f"tests exit {proc.returncode}: {tail}".strip()


def markdown(records: Sequence[dict[str, Any]], chosen: str) -> str:
    """The candidates table of the pull request body."""
    def mark(value: Any) -> str:
        return "n/a" if value is None else ("yes" if value else "no")

    lines = ["## Candidates", "", "| model | policy | compiles | tests | changed lines | confidence | score | |",
             "|---|---|---|---|---|---|---|---|"]
    for r in records:
        confidence = "n/a" if r.get("confidence") is None else f"{r['confidence']:.2f}"
        lines.append(f"| `{r['model']}` | {mark(r['policy'])} | {mark(r['compiles'])} | {mark(r['tests'])} | "
                     f"{r['changed_lines']} | {confidence} | {r['score']:.2f} | "
                     f"{'chosen' if r['model'] == chosen else ''} |")
    lines += ["", "Score: 100·tests passed + 10·compiles + 1·policy passed + confidence − 0.5·changed lines / cap."]
    return "\n".join(lines)
