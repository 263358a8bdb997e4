"""Secrets known from a fix request, removed verbatim from everything the fixer derives from it."""

from __future__ import annotations

from streamfix.core.redact import find_secrets
from streamfix.kafka.wire import FixRequest
from streamfix.runtime.redaction import all_rules


def secrets_of(request: FixRequest) -> set[str]:
    """Secret values in the request's texts; removed verbatim from everything derived later."""
    parts = [request.message, request.sample_traceback, request.suggested_fix, request.function or ""]
    parts += [f"{f.file} {f.function}" for f in request.frames]
    return find_secrets("\n".join(parts), all_rules())
