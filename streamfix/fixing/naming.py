"""Deterministic names: fix ids and branches derived from the fingerprint, and commit messages."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from streamfix.fixing.redact import scrub
from streamfix.kafka.wire import FixRequest

BRANCH_PREFIX = "auto-fix"


def short_id(fingerprint: str) -> str:
    """12 hex characters of SHA-256 of the fingerprint: stable across workers and restarts."""
    return hashlib.sha256(fingerprint.encode("utf-8")).hexdigest()[:12]


def fix_id(fingerprint: str, attempt: int = 1) -> str:
    """``fix-<id>`` for a pattern's first attempt, ``fix-<id>-a<N>`` for attempt N: each attempt is kept."""
    base = f"fix-{short_id(fingerprint)}"
    return base if attempt <= 1 else f"{base}-a{attempt}"


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.lower()).strip("-.")
    return (slug or "error")[:40]


def branch_name(request: FixRequest) -> str:
    """``auto-fix/{category}/{id}``: the same request always gives the same branch."""
    return f"{BRANCH_PREFIX}/{_slug(request.category)}/{short_id(request.fingerprint)}"


def commit_message(
    request: FixRequest, root_cause: str, explanation: str, *, known: Iterable[str] = ()
) -> str:
    """Subject with the error summary; body with the root cause. Redacted."""
    message = " ".join(request.message.split())
    subject = f"fix({_slug(request.category)}): {request.error_type}: {message}"
    if len(subject) > 72:
        subject = subject[:71] + "…"
    body = [
        subject,
        "",
        f"Root cause: {root_cause}",
        "",
        explanation,
        "",
        f"Error pattern: {request.fingerprint}",
        f"Occurrences: {request.occurrences}",
    ]
    return scrub("\n".join(body).strip() + "\n", where="commit_message", known=known)
