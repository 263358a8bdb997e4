"""Structured logging for every streamfix process.

:func:`configure_logging` installs one stderr handler (JSON through python-json-logger, or text) on
the root logger, and, when ``LOKI_ENABLED`` and ``LOKI_PUSH_URL`` are set, a
:class:`~streamfix.runtime.shiplogs.LokiShipHandler`. Every record gets ``trace_id`` (from
:func:`trace`, a context variable, so it follows asyncio tasks) and ``process``. A redaction filter
removes the configured secrets and anything that looks like a token from the message and from
string fields before any handler sees them.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import secrets
import sys
from collections.abc import Iterator
from typing import Any, TextIO

from pydantic import SecretStr
from pythonjsonlogger.json import JsonFormatter

from streamfix.core.redact import redact
from streamfix.runtime.settings import Settings

_trace_id: contextvars.ContextVar[str] = contextvars.ContextVar("streamfix_trace_id", default="")
_INSTALLED = "_streamfix_handler"
REDACTED = "[REDACTED]"
_TOKEN_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/=]{8,}"),
    re.compile(r"()sk-ant-[A-Za-z0-9_-]{8,}"),
    re.compile(r"()(?:ghp|gho|ghs|ghu|ghr)_[A-Za-z0-9]{20,}"),
    re.compile(r"()github_pat_[A-Za-z0-9_]{20,}"),
    re.compile(r"(://[^/\s:@]+:)[^/\s@]+(?=@)"),
    re.compile(r"(?i)((?:password|passwd|secret|token|api[_-]?key)[\"']?\s*[=:]\s*[\"']?)[^\s\"',;&]{4,}"),
)
_STANDARD = frozenset(vars(logging.makeLogRecord({})).keys()) | {
    "message",
    "asctime",
    "trace_id",
    "process_name",
}


def new_trace_id() -> str:
    """A random trace id (32 lowercase hex digits, the W3C trace-id shape)."""
    return secrets.token_hex(16)


def current_trace_id() -> str:
    return _trace_id.get()


@contextlib.contextmanager
def trace(trace_id: str | None = None) -> Iterator[str]:
    """Run a block under a trace id (a new one unless given); records logged inside carry it."""
    value = trace_id or new_trace_id()
    token = _trace_id.set(value)
    try:
        yield value
    finally:
        _trace_id.reset(token)


class Redactor:
    """Replaces known secret values and token-shaped strings with ``[REDACTED]``."""

    def __init__(self, values: list[str]) -> None:
        self._values = sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        for pattern in _TOKEN_PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        return redact(text)[0]  # the project's whole rule table (streamfix.core.redact)


def secret_values(settings: Settings) -> list[str]:
    out = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            out.append(value.get_secret_value())
    return out


class ContextFilter(logging.Filter):
    """Adds ``trace_id`` and ``process_name`` and redacts secrets from the message and extras."""

    def __init__(self, process: str, redact: Redactor) -> None:
        super().__init__()
        self.process = process
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_streamfix_filtered", False):
            return True
        record.trace_id = _trace_id.get() or getattr(record, "trace_id", "")
        record.process_name = self.process
        message = record.getMessage()
        record.msg, record.args = self.redact(message), None
        for key, value in list(vars(record).items()):
            if key not in _STANDARD and isinstance(value, str):
                setattr(record, key, self.redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
            record.exc_info = None  # formatters fall back to the redacted exc_text
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        record._streamfix_filtered = True
        return True


def json_formatter() -> logging.Formatter:
    return JsonFormatter(
        "{asctime}{levelname}{name}{message}{trace_id}{process_name}",
        style="{",
        rename_fields={"levelname": "level", "name": "logger", "asctime": "time", "process_name": "process"},
        json_ensure_ascii=False,
    )


def configure_logging(settings: Settings, *, process: str = "streamfix", stream: TextIO | None = None,
                      level: str | None = None) -> logging.Handler | None:
    """Set up the root logger; returns the Loki ship handler when shipping is enabled."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _INSTALLED, False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel((level or settings.log_level).upper())
    context = ContextFilter(process, Redactor(secret_values(settings)))
    console = logging.StreamHandler(stream or sys.stderr)
    console.setFormatter(json_formatter() if settings.log_format == "json" else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(trace_id)s] %(message)s"))
    handlers: list[logging.Handler] = [console]
    shipper: logging.Handler | None = None
    if settings.loki_enabled and settings.loki_push_url:
        from streamfix.runtime.shiplogs import LokiShipHandler, auth_headers

        shipper = LokiShipHandler(
            settings.loki_push_url,
            labels={"app": "streamfix", "process": process},
            headers=auth_headers(settings, settings.loki_org_id),
            queue_size=settings.log_ship_queue,
        )
        shipper.setFormatter(json_formatter())
        handlers.append(shipper)
    for handler in handlers:
        handler.addFilter(context)
        setattr(handler, _INSTALLED, True)
        root.addHandler(handler)
    for noisy in ("aiokafka", "httpx", "httpcore", "websockets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # These print request bodies (prompts, PR bodies) at DEBUG: never below INFO, whatever the level.
    for chatty in ("anthropic", "github", "urllib3", "git.cmd"):
        logging.getLogger(chatty).setLevel(max(logging.INFO, root.level))
    # Retried internally (e.g. NotLeaderForPartition right after a topic is created); failures that
    # matter surface as BrokerError.
    logging.getLogger("aiokafka.consumer.fetcher").setLevel(logging.CRITICAL)
    return shipper


def log_fields(**fields: Any) -> dict[str, Any]:
    """``extra=`` helper that keeps field names out of LogRecord's reserved attributes."""
    return {k if k not in _STANDARD else f"{k}_": v for k, v in fields.items()}
