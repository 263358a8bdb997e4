"""The one list of log formats a raw batch may name, and of the kinds of stream keys sources give.

A *stream key* (the raw topic's key, :attr:`streamfix.kafka.wire.RawBatch.stream`) names the lines
of one process, in order: the unit within which tracebacks are assembled. Each source builds its
keys from one template here.
"""

from __future__ import annotations

from typing import Literal, get_args

Format = Literal["auto", "railway", "loki", "json", "text"]
FORMATS: tuple[Format, ...] = get_args(Format)

STREAM_KEYS: dict[str, str] = {
    "railway": "railway/{service}/{deployment}/{replica}",
    "loki": "loki/{{{labels}}}",
    "file": "file/{path}",
    "stdin": "{name}",
}
"""Stream-key template per source kind (``labels`` of Loki: ``k="v"`` pairs, sorted, comma-separated)."""

MAX_STREAM_KEY = 512


def stream_key(kind: str, **parts: str) -> str:
    """The stream key of a source of ``kind`` (one of :data:`STREAM_KEYS`), cut to the wire's limit."""
    return STREAM_KEYS[kind].format(**parts)[:MAX_STREAM_KEY]
