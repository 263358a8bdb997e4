"""Which open GitHub issues a fix pull request should link: pure matching over candidate issues.

An issue is an **exact** match when its title or body names the pattern: the fingerprint or the
pattern id (the short hash used in branch names), as a whole token. Exact matches are closed by the
pull request (``Fixes #N``). An issue is **related** when it names the error type *and* the location
(the file's base name or the function), or when it carries one of the configured labels; related
issues are only listed. Closed issues and pull requests are never linked.

Issue text is untrusted: it is only searched here, and nothing of it but the issue number leaves this
module. :func:`search_terms` gives the free-text terms for GitHub's search; they are restricted to
identifier characters so a log line cannot add a search qualifier.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_EXACT = 3
MAX_RELATED = 5
MAX_TEXT = 65536  # GitHub's own limit on an issue body
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_FINGERPRINT = re.compile(r"[A-Za-z0-9_:.-]+")
_VAGUE_FUNCTIONS = frozenset({"main", "run", "wrapper", "inner", "handle", "__init__", "__call__", "call"})


@dataclass(frozen=True, slots=True)
class IssueCandidate:
    """One issue as GitHub listed it (title and body are untrusted)."""

    number: int
    title: str
    body: str
    labels: tuple[str, ...] = ()
    state: str = "open"
    is_pull_request: bool = False


@dataclass(frozen=True, slots=True)
class ErrorSignature:
    """What identifies the error a fix is for."""

    fingerprint: str
    pattern_id: str
    error_type: str
    file: str | None = None
    line: int | None = None
    function: str | None = None


@dataclass(frozen=True, slots=True)
class IssueLinks:
    exact: tuple[int, ...] = ()
    related: tuple[int, ...] = ()


def _token(text: str, word: str, *, ignore_case: bool = False) -> bool:
    """``word`` appears in ``text`` as a whole token (not inside a longer name or hash)."""
    if not word:
        return False
    flags = re.IGNORECASE if ignore_case else 0
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(word)}(?![A-Za-z0-9_])", text, flags) is not None


def type_name(error_type: str) -> str:
    """The class name of an error type (``psycopg2.errors.UniqueViolation`` → ``UniqueViolation``)."""
    name = error_type.strip().rsplit(".", 1)[-1]
    return name if _IDENT.fullmatch(name) else ""


def file_name(path: str | None) -> str:
    name = (path or "").replace("\\", "/").rsplit("/", 1)[-1]
    return name if _FILE.fullmatch(name) and "." in name else ""


def function_name(function: str | None) -> str:
    """A function name specific enough to point at a place (not ``<module>``, ``f``, ``main``...)."""
    name = (function or "").rsplit(".", 1)[-1]
    if not _IDENT.fullmatch(name) or len(name) < 3 or name in _VAGUE_FUNCTIONS:
        return ""
    return name


def _pattern_names(sig: ErrorSignature) -> list[str]:
    return [n for n in (sig.fingerprint, sig.pattern_id) if n and _FINGERPRINT.fullmatch(n)]


def search_terms(sig: ErrorSignature) -> list[tuple[str, ...]]:
    """The free-text searches that can find a candidate: each tuple is one query (terms ANDed)."""
    queries: list[tuple[str, ...]] = [(name,) for name in dict.fromkeys(_pattern_names(sig))]
    kind = type_name(sig.error_type)
    if kind:
        queries += [(kind, where) for where in (file_name(sig.file), function_name(sig.function)) if where]
    return queries


def _related_score(issue: IssueCandidate, sig: ErrorSignature, labels: frozenset[str]) -> int:
    text = f"{issue.title}\n{issue.body}"[:MAX_TEXT]
    kind, file, func = type_name(sig.error_type), file_name(sig.file), function_name(sig.function)
    score = 0
    if kind and _token(text, kind):
        at_file = bool(file) and _token(text, file, ignore_case=True)
        at_func = bool(func) and _token(text, func)
        if at_file or at_func:
            score = 10 + 2 * at_file + 2 * at_func
            if at_file and sig.line is not None and re.search(
                rf"{re.escape(file)}(?:\"?,\s*line\s+|:){int(sig.line)}(?![0-9])", text, re.IGNORECASE
            ):
                score += 3
    if labels and any(label.lower() in labels for label in issue.labels):
        score = max(score, 1)
    return score


def match_issues(
    candidates: Iterable[IssueCandidate],
    sig: ErrorSignature,
    *,
    labels: Sequence[str] = (),
    max_exact: int = MAX_EXACT,
    max_related: int = MAX_RELATED,
) -> IssueLinks:
    """Exact and related open issues, best first (then newest first), each list capped."""
    wanted = frozenset(label.strip().lower() for label in labels if label.strip())
    names = _pattern_names(sig)
    exact: list[tuple[int, int]] = []
    related: list[tuple[int, int]] = []
    seen: set[int] = set()
    for issue in candidates:
        if issue.number <= 0 or issue.number in seen or issue.is_pull_request or issue.state != "open":
            continue
        seen.add(issue.number)
        text = f"{issue.title}\n{issue.body}"[:MAX_TEXT]
        hits = [i for i, name in enumerate(names) if _token(text, name)]
        if hits:
            exact.append((len(names) - hits[0], issue.number))
            continue
        score = _related_score(issue, sig, wanted)
        if score:
            related.append((score, issue.number))
    exact.sort(reverse=True)
    related.sort(reverse=True)
    return IssueLinks(
        exact=tuple(n for _, n in exact[:max_exact]), related=tuple(n for _, n in related[:max_related])
    )
