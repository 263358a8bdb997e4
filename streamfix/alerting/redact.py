"""The one place alert payloads are scrubbed of secrets before they leave the process."""

from __future__ import annotations

from typing import Any

from streamfix.core.redact import redact
from streamfix.runtime import metrics


def scrub(text: str) -> str:
    """``text`` with every secret the core redaction rules know replaced."""
    cleaned, counts = redact(text)
    for kind, n in counts.items():
        metrics.REDACTIONS.labels(kind=kind).inc(n)
    return cleaned


def scrub_all(value: Any) -> Any:
    """Scrub every string inside a JSON-like value (keys included)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(str(k)): scrub_all(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_all(v) for v in value]
    return value
