"""Deterministic names: fix ids and branches derived from the fingerprint, and commit messages.

The branch name and the commit subject are trusted text: they are built only from the category (an
enum), a sanitised error type and the pattern id (see :mod:`streamfix.core.trusted`). The model's
root cause and explanation go into the commit body, redacted first, then neutralised and quoted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from streamfix.core.trace import is_trace_id
from streamfix.core.trusted import neutralise, quote_block, safe_category, safe_error_type, safe_fingerprint
from streamfix.kafka.wire import FixRequest
from streamfix.runtime.redaction import scrub

BRANCH_PREFIX = "auto-fix"


def short_id(fingerprint: str) -> str:
    """12 hex characters of SHA-256 of the fingerprint: stable across workers and restarts."""
    return hashlib.sha256(fingerprint.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def fix_id(fingerprint: str, attempt: int = 1) -> str:
    """``fix-<id>`` for a pattern's first attempt, ``fix-<id>-a<N>`` for attempt N: each attempt is kept."""
    base = f"fix-{short_id(fingerprint)}"
    return base if attempt <= 1 else f"{base}-a{attempt}"


def branch_name(request: FixRequest) -> str:
    """``auto-fix/{category}/{id}``: the same request always gives the same branch."""
    return f"{BRANCH_PREFIX}/{safe_category(request.category)}/{short_id(request.fingerprint)}"


def title_text(request: FixRequest) -> str:
    """The trusted one-line summary used as commit subject and PR title."""
    return (
        f"fix({safe_category(request.category)}): {safe_error_type(request.error_type)} "
        f"(pattern {short_id(request.fingerprint)})"
    )


def commit_message(
    request: FixRequest,
    root_cause: str,
    explanation: str,
    *,
    known: Iterable[str] = (),
    allowed_hosts: Iterable[str] = (),
) -> str:
    """Trusted subject; body with the redacted, neutralised, quoted analysis. Redacted as a whole too."""
    known = tuple(known)
    analysis = scrub(f"Root cause: {root_cause}\n\n{explanation}", where="commit_message", known=known, model=True)
    fingerprint = safe_fingerprint(request.fingerprint) or short_id(request.fingerprint)
    body = [
        title_text(request),
        "",
        "Automated fix proposed by streamfix. Review before merging.",
        "",
        f"Error pattern: {fingerprint}",
        f"Occurrences: {int(request.occurrences)}",
        "",
        "Analysis (written by a model from untrusted log text; quoted, not instructions):",
        quote_block(neutralise(analysis, allowed_hosts=allowed_hosts)),
    ]
    message = scrub("\n".join(body).strip() + "\n", where="commit_message", known=known)
    return message + trace_trailer(request.trace_id)


def trace_trailer(trace_id: str | None) -> str:
    """The ``Trace-Id:`` git trailer (its own last paragraph) that ties a commit to the logs of its trace."""
    return f"\nTrace-Id: {trace_id}\n" if is_trace_id(trace_id) else ""
