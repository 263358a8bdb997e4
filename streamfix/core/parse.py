"""Line parsing: any supported log line in, one :class:`ParsedLine` out.

Supported shapes, detected per line without configuration:

* Railway CLI ``railway logs --json`` lines (``message``, ``timestamp``, a level under ``level``,
  ``lvl`` or ``severity``, other attributes flattened into top-level keys in any order);
* Loki entries (``logcli --output=jsonl`` shape ``{"labels": ..., "line": ...}`` or a push/query
  stream ``{"stream": ..., "values": [[ns, line]]}``), whose line is parsed again;
* JSON structured logs (structlog, python-json-logger, pino, bunyan), with a traceback carried in
  ``exc_info``, ``exception``, ``stack`` or ``err.stack``;
* plain text lines with any common header: ISO, syslog or epoch timestamps, level words, logger names,
  PIDs and bracketed thread names.

The entry point is :func:`parse_line`. Plain-text header splitting is exposed as :func:`split_header`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from streamfix.core.formats import FORMATS as FORMATS  # the one list, named here for the parser's callers
from streamfix.core.models import ParsedLine
from streamfix.core.prefix import strip_prefix

_LEVEL_WORDS: dict[str, str] = {
    "trace": "TRACE",
    "debug": "DEBUG",
    "dbg": "DEBUG",
    "info": "INFO",
    "information": "INFO",
    "notice": "INFO",
    "warn": "WARNING",
    "warning": "WARNING",
    "err": "ERROR",
    "error": "ERROR",
    "exception": "ERROR",
    "crit": "CRITICAL",
    "critical": "CRITICAL",
    "fatal": "CRITICAL",
}
_PINO_LEVELS: dict[int, str] = {10: "TRACE", 20: "DEBUG", 30: "INFO", 40: "WARNING", 50: "ERROR", 60: "CRITICAL"}

_MESSAGE_KEYS = ("message", "msg", "event", "@message", "log")
_LEVEL_KEYS = ("level", "lvl", "severity", "levelname", "log.level", "@level", "loglevel", "detected_level")
_TIME_KEYS = ("timestamp", "time", "ts", "@timestamp", "asctime", "date")
_LOGGER_KEYS = ("logger", "logger_name", "log.logger", "name", "loggerName")
_EXC_KEYS = ("exc_info", "exception", "exc_text", "stack", "stack_trace", "traceback", "err", "error")
_SERVICE_KEYS = ("service", "serviceName", "service_name", "railway_service", "app", "job")
_DEPLOYMENT_KEYS = ("deploymentId", "deployment_id", "deployment")
_STREAM_KEYS = ("replica", "replicaId", "replica_id", "pod", "container", "instance", "hostname", "process", "dyno", "pid")
_STREAM_KEY_KEYS = frozenset(_SERVICE_KEYS + _STREAM_KEYS)
_EXC_KEY_SET = frozenset(_EXC_KEYS)
_LOGGER_KEY_SET = frozenset(_LOGGER_KEYS)
_LABEL_KEYS = frozenset(
    _SERVICE_KEYS + _DEPLOYMENT_KEYS + _STREAM_KEYS + ("environment", "env", "namespace", "region")
)

# A header starts with a timestamp (a digit, a month name), a level word or a bracket, never with
# whitespace: traceback lines, code lines and most messages are rejected on their first character.
_HEADER_START = frozenset("0123456789[<(TDINWECFJMASOl")
_PY_WARNING = re.compile(r"\S+:\d+: (?:[A-Za-z_]\w*\.)*[A-Z]\w*Warning: ")
_LEVEL_COLON = re.compile(
    r"(?P<level>TRACE|DEBUG|INFO|NOTICE|WARN(?:ING)?|ERROR|ERR|CRIT(?:ICAL)?|FATAL):(?:(?P<logger>[\w.\-]+):)?\s*"
)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_SEP = re.compile(r"[\s|]*(?:-\s+|:\s*)?")
_TS = re.compile(
    r"\[?(?P<ts>"
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:\s?(?:Z|UTC|[+-]\d{2}:?\d{2}))?"
    r"|\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}(?:[.,]\d+)?"
    r"|\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}(?: [+-]\d{4})?"
    r"|(?P<syslog>(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d{2}:\d{2}:\d{2})"
    r"|\d{10}(?:\.\d+)?|\d{13}"
    r"|\d{2}:\d{2}:\d{2}(?:[.,]\d+)?"
    r")\]?(?=[\s|:,\]]|$)"
)
_SYSLOG_PROG = re.compile(r"\s*[\w.\-]+ (?P<prog>[\w.\-/]+)(?:\[\d+\])?:\s")
_LEVEL = re.compile(
    r"(?:[\[<(](?P<b>(?i:trace|debug|info|notice|warn(?:ing)?|err(?:or)?|crit(?:ical)?|fatal))[\]>)]"
    r"|(?:level|lvl|severity)=\"?(?P<kv>\w+)\"?"
    r"|(?P<u>TRACE|DEBUG|INFO|NOTICE|WARN(?:ING)?|ERROR|ERR|CRIT(?:ICAL)?|FATAL)"
    r")(?=[\s:|,\]\-]|$)"
)
_PID = re.compile(r"(?:\[\d+\]|\(\d+\)|pid[=:]\d+|\d+#\d+:?|\d+(?=\s))")
_BRACKET = re.compile(r"\[(?P<inner>[^\]\s]{1,80}|[^\]]{1,40})\]")
_LOGGER = re.compile(r"(?P<name>[a-z_][\w\-]*(?:\.[\w\-]+)*|[A-Za-z_][\w\-]*(?:\.[\w\-]+)+)(?=:|\s+-\s|\s+\|)")
_LOGURU_TAIL = re.compile(r":[\w<>.]+:\d+(?=\s+-\s)")
_DOTTED = re.compile(r"[A-Za-z_][\w\-]*(?:\.[\w\-$]+)+")


def normalize_level(value: object) -> str | None:
    """Map a level as written by any logger (``"warn"``, ``"ERROR"``, pino's ``50``) to a name in LEVELS.

    Only the words the prefilter (:func:`streamfix.core.assemble.might_open_error`) looks for map to an
    error level: ``err``, ``error``, ``exception``, ``crit``, ``critical``, ``fatal``.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return _PINO_LEVELS.get(int(value))
    return _LEVEL_WORDS.get(str(value).strip().lower())


def split_header(text: str) -> tuple[str | None, str | None, str | None, str]:
    """Split a plain-text header off ``text``: ``(level, timestamp, logger, message)``.

    The header is only cut when a timestamp or a level word is found in it; otherwise the message is
    ``text`` unchanged (so traceback lines keep their indentation).
    """
    if not text or text[0] not in _HEADER_START:
        if "Warning: " in text and _PY_WARNING.match(text):  # Python's warnings module on stderr
            return "WARNING", None, None, text
        return None, None, None, text
    if fast := _LEVEL_COLON.match(text):  # "INFO:     ..." (uvicorn), "ERROR:root:..." (logging.basicConfig)
        return _LEVEL_WORDS[fast.group("level").lower()], None, fast.group("logger"), text[fast.end() :]
    level: str | None = None
    timestamp: str | None = None
    logger: str | None = None
    pos = 0
    end = len(text)
    found = False
    cut = 0
    for _ in range(8):
        pos = _SEP.match(text, pos).end()  # type: ignore[union-attr]
        if pos >= end:
            break
        if timestamp is None and level is None and (m := _TS.match(text, pos)):
            timestamp = m.group("ts")
            pos = m.end()
            if m.group("syslog") and (prog := _SYSLOG_PROG.match(text, pos)):
                logger = prog.group("prog")
                pos = prog.end()
            found = True
            cut = pos
            continue
        if level is None and (m := _LEVEL.match(text, pos)):
            word = m.group("b") or m.group("kv") or m.group("u")
            level = _LEVEL_WORDS.get(word.lower())
            if level is None:
                break
            pos = m.end()
            found = True
            cut = pos
            continue
        if found and (m := _PID.match(text, pos)):
            pos = m.end()
            cut = pos
            continue
        if m := _BRACKET.match(text, pos):
            inner = m.group("inner")
            if logger is None and _DOTTED.fullmatch(inner):
                logger = inner
            pos = m.end()
            if found:
                cut = pos
            continue
        if found and logger is None and (m := _LOGGER.match(text, pos)):
            logger = m.group("name")
            pos = m.end()
            if tail := _LOGURU_TAIL.match(text, pos):  # loguru's "name:function:line - "
                pos = tail.end()
            cut = pos
            continue
        break
    if not found:
        return None, None, None, text
    message = _SEP.match(text, cut).end()  # type: ignore[union-attr]
    return level, timestamp, logger, text[message:]


def _first(obj: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = obj.get(key)
        if value is not None and value != "":
            return value
    return None


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return orjson.dumps(value).decode()


def _render_structlog_frames(stacks: list[Any]) -> str | None:
    """Render structlog's ``dict_tracebacks`` list (outermost exception first) as a Python traceback."""
    parts: list[str] = []
    for position, stack in enumerate(reversed(stacks)):
        if not isinstance(stack, dict):
            return None
        if position:
            parts.append("")
            parts.append(
                "The above exception was the direct cause of the following exception:"
                if stack.get("is_cause")
                else "During handling of the above exception, another exception occurred:"
            )
            parts.append("")
        parts.append("Traceback (most recent call last):")
        for frame in stack.get("frames") or []:
            if isinstance(frame, dict):
                parts.append(f'  File "{frame.get("filename")}", line {frame.get("lineno")}, in {frame.get("name")}')
                if frame.get("line"):
                    parts.append(f"    {frame['line']}")
        value = stack.get("exc_value")
        parts.append(f"{stack.get('exc_type')}: {value}" if value else str(stack.get("exc_type")))
    return "\n".join(parts)


_BARE_STACK_KEYS = frozenset({"stack", "stack_trace"})


def _has_error_word(text: str) -> bool:
    """Whether a stack carried under a key without "err"/"exc" in its name names an error itself.

    Keeps :func:`streamfix.core.assemble.might_open_error` exact: it only looks for those words.
    """
    low = text.lower()
    return "err" in low or "exc" in low or "traceback" in low


def _exception_text(obj: Mapping[str, Any]) -> str | None:
    if _EXC_KEY_SET.isdisjoint(obj):
        return None
    for key in _EXC_KEYS:
        value = obj.get(key)
        if not value:
            continue
        if isinstance(value, str):
            if ("\n" in value or "Traceback" in value) and (key not in _BARE_STACK_KEYS or _has_error_word(value)):
                return value
        elif isinstance(value, dict):
            stack = value.get("stack") or value.get("stack_trace") or value.get("traceback")
            if isinstance(stack, str) and stack:
                return stack
        elif isinstance(value, list) and value and isinstance(value[0], dict) and "exc_type" in value[0]:
            return _render_structlog_frames(value)
    return None


def _labels(obj: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    """The identifying attributes of a line, sorted by key (so the same stream gets the same key)."""
    keys = _LABEL_KEYS.intersection(obj)
    if not keys:
        return ()
    return tuple(
        (key, value if isinstance(value, str) else _as_text(value))
        for key in sorted(keys)
        if (value := obj[key]) is not None and value != ""
    )


def _identity(labels: tuple[tuple[str, str], ...]) -> tuple[str | None, str | None, str]:
    """``(service, deployment, stream key)`` of a line's labels."""
    service = deployment = None
    parts: list[str] = []
    for key, value in labels:
        if key in _STREAM_KEY_KEYS:
            parts.append(f"{key}={value}")
            if service is None and key in _SERVICE_KEYS:
                service = value
        elif deployment is None and key in _DEPLOYMENT_KEYS:
            deployment = value
    return service, deployment, "|".join(parts)


def _from_mapping(obj: Mapping[str, Any], index: int, fmt: str, raw: str = "") -> ParsedLine:
    raw_message = obj.get("message")
    if raw_message is None:
        raw_message = _first(obj, _MESSAGE_KEYS)
    text = raw_message if isinstance(raw_message, str) else _as_text(raw_message)
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if text.endswith("\n"):
        text = text.rstrip("\n")
    level_value = obj.get("level") or _first(obj, _LEVEL_KEYS)
    if type(level_value) is str:
        level = _LEVEL_WORDS.get(level_value.lower())
    elif isinstance(level_value, int | float) and "level" not in obj:
        level = None  # numeric levels are pino's and bunyan's, always under "level"
    else:
        level = normalize_level(level_value)
    timestamp = obj.get("timestamp") or _first(obj, _TIME_KEYS)
    logger = None if _LOGGER_KEY_SET.isdisjoint(obj) else _first(obj, _LOGGER_KEYS)
    labels = _labels(obj)
    if fmt == "auto":
        fmt = "railway" if "message" in obj and "timestamp" in obj and "levelname" not in obj else "json"
    message = text
    if fmt == "railway" or "log" in obj:
        # Plain-text output captured by the platform: the line's own header wins over the platform's level
        # (Railway marks every stderr line as an error).
        own_level, own_ts, own_logger, message = split_header(text)
        level = own_level or level
        logger = logger or own_logger
        timestamp = timestamp or own_ts
    service, deployment, stream = _identity(labels)
    return ParsedLine(
        index,
        fmt,
        text,
        message,
        level,
        None if timestamp is None else timestamp if isinstance(timestamp, str) else _as_text(timestamp),
        logger if isinstance(logger, str) else None,
        service,
        deployment,
        stream,
        None if _EXC_KEY_SET.isdisjoint(obj) else _exception_text(obj),
        labels,
    )


def _from_loki(obj: Mapping[str, Any], index: int) -> ParsedLine | None:
    labels_obj = obj.get("labels") or obj.get("stream")
    if not isinstance(labels_obj, dict):
        return None
    line = obj.get("line")
    timestamp = obj.get("timestamp") or obj.get("ts")
    values = obj.get("values")
    if line is None and isinstance(values, list) and values and isinstance(values[0], list):
        timestamp, line = values[0][0], values[0][1]
    if not isinstance(line, str):
        return None
    inner = parse_line(line, index=index, fmt="auto")
    merged = dict(inner.labels)
    merged.update(_labels(labels_obj))  # the stream's labels win over the line's own attributes
    labels = tuple(sorted(merged.items()))
    service, deployment, stream = _identity(labels)
    return ParsedLine(
        index=index,
        fmt="loki",
        text=inner.text,
        message=inner.message,
        level=inner.level or normalize_level(_first(labels_obj, _LEVEL_KEYS)),
        timestamp=inner.timestamp or (None if timestamp is None else str(timestamp)),
        logger=inner.logger,
        service=service,
        deployment=deployment,
        stream=stream,
        exc_text=inner.exc_text,
        labels=labels,
    )


def parse_text(text: str, *, index: int) -> ParsedLine:
    """Parse one plain text line.

    A platform prefix (docker compose, kubectl, journald, syslog, Heroku, a timestamp; see
    :mod:`streamfix.core.prefix`) is stripped first: ``text`` is what the program printed, the prefix's
    source becomes labels and the stream key, and the prefix's timestamp is the line's time.
    """
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    prefix = strip_prefix(text)
    if prefix is None:
        level, timestamp, logger, message = split_header(text)
        return ParsedLine(
            index=index, fmt="text", text=text, message=message, level=level, timestamp=timestamp, logger=logger
        )
    own_text = prefix.text
    labels = prefix.labels
    if own_text[:1] == "{":  # a JSON log line under a platform prefix (an app logging JSON in docker, k8s)
        inner = parse_line(own_text, index=index)
        if inner.fmt != "text":
            merged = tuple(sorted({**dict(inner.labels), **dict(labels)}.items()))
            service, deployment, stream = _identity(merged)
            return inner._replace(
                timestamp=prefix.timestamp or inner.timestamp,
                level=inner.level or prefix.level,
                service=inner.service or prefix.service or service,
                deployment=inner.deployment or deployment,
                stream=stream,
                labels=merged,
            )
    level, timestamp, logger, message = split_header(own_text)
    return ParsedLine(
        index,
        "text",
        own_text,
        message,
        level or prefix.level,
        prefix.timestamp or timestamp,
        logger,
        prefix.service,
        None,
        "|".join(f"{key}={value}" for key, value in labels),
        None,
        labels,
    )


def parse_line(raw: str, *, index: int, fmt: str = "auto") -> ParsedLine:
    """Parse one input line of any supported format (``fmt`` one of :data:`FORMATS`).

    Never raises on bad input: a line that does not decode as the requested structured format is parsed
    as plain text.
    """
    if raw.endswith(("\n", "\r")):
        raw = raw.rstrip("\r\n")
    if fmt != "text" and raw[:1] == "{":
        try:
            obj = orjson.loads(raw)
        except orjson.JSONDecodeError:
            obj = None
        if isinstance(obj, dict):
            if fmt in ("auto", "loki") and ("labels" in obj or "stream" in obj) and (
                "line" in obj or "values" in obj
            ):
                loki = _from_loki(obj, index)
                if loki is not None:
                    return loki
            return _from_mapping(obj, index, "auto" if fmt in ("auto", "loki") else fmt, raw)
    return parse_text(raw, index=index)


def detect_format(lines: list[str]) -> str:
    """Guess the format of a sample of lines: the most common per-line format."""
    counts: dict[str, int] = {}
    for number, raw in enumerate(lines[:50]):
        if raw.strip():
            parsed = parse_line(raw, index=number)
            counts[parsed.fmt] = counts.get(parsed.fmt, 0) + 1
    return max(counts, key=lambda k: counts[k]) if counts else "text"
