"""The one place alert payloads are scrubbed of secrets before they leave the process: the same
redaction as every other exit (:mod:`streamfix.runtime.redaction`: streamfix's rules plus the
detectors of detect-secrets), counted under ``where="alert"``."""

from __future__ import annotations

from typing import Any

from streamfix.runtime import redaction


def scrub(text: str) -> str:
    """``text`` with every secret the redaction knows replaced (a pattern's texts repeat with each of its
    events, so results are remembered: :func:`streamfix.runtime.redaction.scrub_repeated`)."""
    return redaction.scrub_repeated(text, where="alert")


def scrub_all(value: Any) -> Any:
    """Scrub every string inside a JSON-like value (keys included)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, dict):
        return {scrub(str(k)): scrub_all(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_all(v) for v in value]
    return value
