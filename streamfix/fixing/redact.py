"""Redaction at the process edge: :func:`streamfix.core.redact.redact` plus the REDACTIONS metric.

Call :func:`scrub` on every string that leaves the process (prompts, commit messages, PR bodies).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from streamfix.core.redact import find_secrets, redact
from streamfix.kafka.wire import FixRequest
from streamfix.runtime.metrics import REDACTIONS

log = logging.getLogger(__name__)


__all__ = ["find_secrets", "scrub", "secrets_of"]


def scrub(text: str, *, where: str = "", known: Iterable[str] = ()) -> str:
    """Redact ``text`` (and the ``known`` secret values), count removals by kind, log only the counts."""
    cleaned, counts = redact(text, known=known)
    for kind, n in counts.items():
        REDACTIONS.labels(kind=kind).inc(n)
    if counts:
        log.info("redacted secrets", extra={"where": where, "redactions": counts})
    return cleaned


def secrets_of(request: FixRequest) -> set[str]:
    """Secret values in the request's texts; removed verbatim from everything derived later."""
    text = "\n".join(
        [request.message, request.sample_traceback, request.suggested_fix, request.function or ""]
    )
    return find_secrets(text)
