"""Typed records of the worker's tables: a pattern, its fix state; one codec each.

The tables (and their changelog topics, which other tools read) hold these records as JSON objects.
Their field order is the order the JSON has always had, and a field that is unset (``UNSET``) is left
out, so the encoded bytes are what they were before the records were typed. Values written by older
versions decode with defaults for what they lack.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Generic, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

__all__ = [
    "FIX_STATES",
    "PATTERNS",
    "UNSET",
    "Codec",
    "FixState",
    "Pattern",
    "PatternFrame",
    "RecordError",
    "UnsetType",
]


class RecordError(ValueError):
    """A stored value does not decode as its record type."""


class PatternFrame(msgspec.Struct, frozen=True):
    """One stack frame of a pattern's sample (innermost last)."""

    file: str
    line: int | None = None
    function: str = ""
    in_app: bool = True


class Pattern(msgspec.Struct, frozen=True, kw_only=True):
    """The summary of one error pattern (value of the ``patterns`` table, keyed by fingerprint).

    ``applied`` holds the highest ``(offset, index)`` applied per source partition (the idempotence
    marker), ``windows`` the occurrences per window start. A pattern merged into another carries
    ``alias_of`` (and status ``merged``); one that absorbed others lists them in ``merged_from``.
    """

    fingerprint: str
    error_type: str = ""
    message: str = ""
    title: str = ""
    category: str = "internal_error"
    severity: str = "MEDIUM"
    fixable: bool = False
    suggested_fix: str = ""
    file: str | None = None
    line: int | None = None
    function: str | None = None
    frames: list[PatternFrame] = msgspec.field(default_factory=list)
    traceback: str = ""
    incomplete: bool = False
    first_seen: float | None = None
    last_seen: float | None = None
    count: int = 0
    services: list[str] = msgspec.field(default_factory=list)
    auto_fix: bool = False
    status: str = "active"
    windows: dict[str, int] = msgspec.field(default_factory=dict)
    applied: dict[str, tuple[int, int]] = msgspec.field(default_factory=dict)
    alias_of: str | UnsetType = UNSET
    merged_from: list[str] | UnsetType = UNSET
    regressed_at: float | UnsetType = UNSET
    regressions: int | UnsetType = UNSET
    outcomes: dict[str, list[float]] | UnsetType = UNSET
    """Per merged fix id: ``[merged_at, before, after]`` occurrences
    (see :mod:`streamfix.core.effectiveness`)."""
    trace_id: str | UnsetType = UNSET
    """Trace id of the latest occurrence folded in: a fix request it triggers carries it on."""

    @property
    def regression_count(self) -> int:
        """How many times the pattern came back after a merged fix or from the archive."""
        return 0 if isinstance(self.regressions, UnsetType) else self.regressions

    @property
    def merged(self) -> bool:
        """Merged into another pattern (its occurrences are counted there)."""
        return bool(self.alias_of)

    @property
    def stub(self) -> bool:
        """Only a forwarding address: merged into another pattern before any occurrence was seen here."""
        return bool(self.alias_of) and self.first_seen is None and not self.error_type and not self.count


class FixState(msgspec.Struct, frozen=True, kw_only=True):
    """Where a pattern's latest fix stands (value of the ``fix_state`` table, keyed by fingerprint)."""

    attempt: int | UnsetType = UNSET
    status: str
    updated_at: float = 0.0
    request_id: str | None = None
    fix_id: str | UnsetType = UNSET
    merged_at: float | UnsetType = UNSET
    """When the pattern's latest merged fix merged (kept while later attempts run)."""

    @property
    def attempts(self) -> int:
        return 0 if isinstance(self.attempt, UnsetType) else self.attempt


R = TypeVar("R", bound=msgspec.Struct)


class Codec(Generic[R]):
    """The one way a record type is read from and written to JSON (bytes or a decoded object)."""

    def __init__(self, kind: type[R]) -> None:
        self.kind = kind
        self._decoder = msgspec.json.Decoder(kind)
        self._encoder = msgspec.json.Encoder()

    def decode(self, value: bytes | Mapping[str, Any]) -> R:
        try:
            if isinstance(value, bytes | bytearray | memoryview):
                return self._decoder.decode(value)
            return msgspec.convert(value, self.kind)
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            raise RecordError(f"{self.kind.__name__}: {exc}") from None

    def decode_optional(self, value: bytes | Mapping[str, Any] | None) -> R | None:
        return None if value is None else self.decode(value)

    def to_obj(self, record: R) -> dict[str, Any]:
        """The JSON object (a dict) of ``record``, fields in order, unset fields left out."""
        obj: dict[str, Any] = msgspec.to_builtins(record)
        return obj

    def dumps(self, record: R) -> bytes:
        return self._encoder.encode(record)


STUB_FIELDS = ("fingerprint", "alias_of", "count", "status")


class PatternCodec(Codec[Pattern]):
    """A forwarding stub (:attr:`Pattern.stub`) is written as just ``fingerprint``, ``alias_of``,
    ``count`` and ``status``, as it always was."""

    def to_obj(self, record: Pattern) -> dict[str, Any]:
        obj = super().to_obj(record)
        return {name: obj[name] for name in STUB_FIELDS} if record.stub else obj

    def dumps(self, record: Pattern) -> bytes:
        return self._encoder.encode(self.to_obj(record)) if record.stub else super().dumps(record)


PATTERNS: Codec[Pattern] = PatternCodec(Pattern)
FIX_STATES: Codec[FixState] = Codec(FixState)
