"""Redaction at the process edge: :func:`streamfix.core.redact.redact` plus the REDACTIONS metric.

Call :func:`scrub` on every string that leaves the process (prompts, commit messages, PR bodies).
"""

from __future__ import annotations

import logging

from streamfix.core.redact import redact
from streamfix.metrics import REDACTIONS

log = logging.getLogger(__name__)


def scrub(text: str, *, where: str = "") -> str:
    """Redact ``text``, count what was removed by kind, and log only the counts."""
    cleaned, counts = redact(text)
    for kind, n in counts.items():
        REDACTIONS.labels(kind=kind).inc(n)
    if counts:
        log.info("redacted secrets", extra={"where": where, "redactions": counts})
    return cleaned
