"""Domain types of the core: plain, immutable records (frozen dataclasses, one named tuple) with no I/O.

Wire schemas (what travels on Kafka) live in :mod:`streamfix.kafka.wire`; conversion between the two is
explicit there.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple


class Severity(StrEnum):
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"
    INFO = "INFO"


class Category(StrEnum):
    PROVIDER = "provider_error"
    DATABASE = "database_error"
    RATE_LIMIT = "rate_limit_error"
    TIMEOUT = "timeout_error"
    AUTH = "auth_error"
    VALIDATION = "validation_error"
    CACHE = "cache_error"
    EXTERNAL_SERVICE = "external_service_error"
    INTERNAL = "internal_error"


@dataclass(frozen=True, slots=True)
class Frame:
    """One stack frame, innermost last in a ``tuple[Frame, ...]`` (Python's order)."""

    file: str
    line: int | None
    function: str
    in_app: bool = True
    module: str | None = None
    code: str | None = None


LEVELS: tuple[str, ...] = ("TRACE", "DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
"""Normalised level names, lowest first. :attr:`ParsedLine.level` is one of these or ``None``."""

ERROR_LEVELS: frozenset[str] = frozenset({"ERROR", "CRITICAL"})


class ParsedLine(NamedTuple):
    """One input line after parsing, whatever its format.

    ``text`` is the log message without any envelope (the ``message`` of a JSON line, the ``line`` of
    a Loki entry, the whole of a plain text line); ``message`` is ``text`` without its plain-text header
    (timestamp, level, logger, pid...). ``exc_text`` holds a traceback carried inside a structured field
    (``exc_info``, ``exception``, ``stack``, ``err.stack``).

    A named tuple rather than a frozen dataclass: one is built for every line that reaches full
    parsing, and a tuple is built several times faster. It is just as immutable.
    """

    index: int  # type: ignore[assignment]  # shadows tuple.index on purpose: the line number
    fmt: str
    text: str
    message: str
    level: str | None = None
    timestamp: str | None = None
    logger: str | None = None
    service: str | None = None
    deployment: str | None = None
    stream: str = ""
    exc_text: str | None = None
    labels: tuple[tuple[str, str], ...] = ()

    @property
    def is_error_level(self) -> bool:
        return self.level in ERROR_LEVELS

    def to_dict(self) -> dict[str, object]:
        """Plain JSON-able form, used for serialising assembly state."""
        return {
            "index": self.index,
            "fmt": self.fmt,
            "text": self.text,
            "message": self.message,
            "level": self.level,
            "timestamp": self.timestamp,
            "logger": self.logger,
            "service": self.service,
            "deployment": self.deployment,
            "stream": self.stream,
            "exc_text": self.exc_text,
            "labels": [list(pair) for pair in self.labels],
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> ParsedLine:
        def opt(key: str) -> str | None:
            value = data.get(key)
            return None if value is None else str(value)

        raw_labels = data.get("labels") or []
        labels: list[tuple[str, str]] = []
        if isinstance(raw_labels, list):
            labels = [(str(pair[0]), str(pair[1])) for pair in raw_labels if isinstance(pair, list | tuple)]
        index = data.get("index", 0)
        return cls(
            index=index if isinstance(index, int) else int(str(index)),
            fmt=str(data.get("fmt", "text")),
            text=str(data.get("text", "")),
            message=str(data.get("message", "")),
            level=opt("level"),
            timestamp=opt("timestamp"),
            logger=opt("logger"),
            service=opt("service"),
            deployment=opt("deployment"),
            stream=str(data.get("stream", "")),
            exc_text=opt("exc_text"),
            labels=tuple(labels),
        )


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """One error found in the logs: a traceback or stack trace, or an error-level line without one.

    ``line_start`` and ``line_end`` are the 0-based indexes of the first and last input line of the
    event (inclusive). ``frames`` is innermost last; ``file``, ``line`` and ``function`` are those of the
    innermost in-app frame (or the innermost frame when none is in-app). ``incomplete`` is set when the
    traceback was cut off by the end of input, a quiet period or a missing line.
    """

    error_type: str
    message: str
    line_start: int
    line_end: int
    file: str | None = None
    line: int | None = None
    function: str | None = None
    frames: tuple[Frame, ...] = ()
    language: str = "log"
    logger: str | None = None
    level: str | None = None
    timestamp: str | None = None
    service: str | None = None
    deployment: str | None = None
    stream: str = ""
    log_message: str | None = None
    incomplete: bool = False
    chained: tuple[str, ...] = ()
    category: Category = Category.INTERNAL
    severity: Severity = Severity.MEDIUM
    fixable: bool = True
    suggested_fix: str = ""
    fingerprint: str = ""
    title: str = ""
    rule: str = ""

    def to_dict(self) -> dict[str, object]:
        """JSON-able form (enums as their values, frames as dicts)."""
        return {
            "line_start": self.line_start,
            "line_end": self.line_end,
            "error_type": self.error_type,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "function": self.function,
            "category": self.category.value,
            "severity": self.severity.value,
            "fixable": self.fixable,
            "suggested_fix": self.suggested_fix,
            "fingerprint": self.fingerprint,
            "title": self.title,
            "rule": self.rule,
            "language": self.language,
            "logger": self.logger,
            "level": self.level,
            "timestamp": self.timestamp,
            "service": self.service,
            "deployment": self.deployment,
            "stream": self.stream,
            "log_message": self.log_message,
            "incomplete": self.incomplete,
            "chained": list(self.chained),
            "frames": [
                {
                    "file": f.file,
                    "line": f.line,
                    "function": f.function,
                    "in_app": f.in_app,
                    "module": f.module,
                    "code": f.code,
                }
                for f in self.frames
            ],
        }
