"""Trace ids: one per raw batch, carried by every record and log line that descends from it.

A trace id has the shape of a W3C Trace Context trace-id (32 lowercase hex digits, not all zero), so it
can also travel in a ``traceparent`` header and be searched for in Grafana Loki.
"""

from __future__ import annotations

import hashlib
import re

TRACE_ID_PATTERN = r"^[0-9a-f]{32}$"
_TRACE_ID = re.compile(TRACE_ID_PATTERN)
_INVALID = "0" * 32


def trace_id_for(key: str) -> str:
    """The trace id of the batch (or other unit) named ``key``: the same key always gives the same id,
    so a redelivered or re-derived batch keeps its trace."""
    digest = hashlib.sha256(b"streamfix-trace\x00" + key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return digest if digest != _INVALID else "0" * 31 + "1"


def is_trace_id(value: object) -> bool:
    """A valid trace id: 32 lowercase hex digits, not all zero (W3C Trace Context)."""
    return isinstance(value, str) and bool(_TRACE_ID.match(value)) and value != _INVALID



def traceparent(trace_id: str, hop: str) -> str:
    """A W3C ``traceparent`` header value (version 00, sampled) for ``trace_id``; the parent id is
    derived from ``hop`` (e.g. topic and key), so a record published again gets the same header."""
    span = hashlib.sha256(f"{trace_id}\x00{hop}".encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"00-{trace_id}-{span if span != '0' * 16 else '0' * 15 + '1'}-01"
