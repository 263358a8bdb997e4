"""Line parsing: every supported shape, table-driven."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamfix.core.parse import detect_format, normalize_level, parse_line, split_header


def _json(**fields: Any) -> str:
    return orjson.dumps(fields).decode()


# id, raw line, expected fields of the ParsedLine
CASES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "railway-basic",
        _json(message="GET /health 200", timestamp="2026-11-28T12:00:00Z", level="info", service="api"),
        {"fmt": "railway", "message": "GET /health 200", "level": "INFO", "service": "api", "stream": "service=api"},
    ),
    (
        "railway-keys-any-order-lvl",
        '{"service":"worker","lvl":"error","deploymentId":"d-1","timestamp":"2026-11-28T12:00:01Z","message":"boom"}',
        {"fmt": "railway", "level": "ERROR", "deployment": "d-1", "timestamp": "2026-11-28T12:00:01Z"},
    ),
    (
        "railway-severity-nested-attrs",
        _json(timestamp="t", severity="WARN", message="slow", ctx={"route": "/x", "ms": 900}),
        {"fmt": "railway", "level": "WARNING", "message": "slow"},
    ),
    (
        "railway-stderr-line-with-own-info-header",
        _json(message="INFO:     127.0.0.1:5000 - \"GET / HTTP/1.1\" 200 OK", timestamp="t", level="error"),
        {"level": "INFO", "message": "127.0.0.1:5000 - \"GET / HTTP/1.1\" 200 OK"},
    ),
    (
        "railway-traceback-line-keeps-indent",
        _json(message='  File "/app/main.py", line 3, in run', timestamp="t", level="error"),
        {"level": "ERROR", "message": '  File "/app/main.py", line 3, in run'},
    ),
    (
        "railway-ansi-colours",
        _json(message="\x1b[32mINFO\x1b[0m:     started", timestamp="t", level="error"),
        {"level": "INFO", "message": "started"},
    ),
    (
        "loki-logcli-jsonl",
        _json(labels={"service_name": "api", "pod": "api-1"}, line="2026-11-28 12:00:00 ERROR app.db: down", timestamp="1"),
        {"fmt": "loki", "level": "ERROR", "logger": "app.db", "message": "down", "service": "api"},
    ),
    (
        "loki-stream-values",
        _json(stream={"job": "worker", "level": "error"}, values=[["1732795200000000000", "plain text failure"]]),
        {"fmt": "loki", "level": "ERROR", "message": "plain text failure", "timestamp": "1732795200000000000"},
    ),
    (
        "loki-line-is-json",
        _json(labels={"app": "api"}, line=_json(level="info", msg="ok", time=1)),
        {"fmt": "loki", "level": "INFO", "message": "ok", "service": "api"},
    ),
    (
        "structlog",
        _json(event="payment failed", level="error", logger="shop.pay", timestamp="2026-11-28T12:00:00Z",
              exception="Traceback (most recent call last):\n  File \"/app/p.py\", line 1, in f\nKeyError: 'x'"),
        {"fmt": "json", "message": "payment failed", "level": "ERROR", "logger": "shop.pay"},
    ),
    (
        "python-json-logger",
        _json(asctime="2026-11-28 12:00:00,001", name="app.db", levelname="CRITICAL", message="pool exhausted",
              exc_info="Traceback (most recent call last):\n  File \"/app/db.py\", line 9, in get\nTimeoutError"),
        {"fmt": "json", "level": "CRITICAL", "logger": "app.db", "timestamp": "2026-11-28 12:00:00,001"},
    ),
    (
        "pino-numeric-error",
        '{"level":50,"time":1732795200000,"pid":7,"hostname":"h","msg":"request failed",'
        '"err":{"type":"TypeError","message":"x is undefined","stack":"TypeError: x is undefined\\n    at f (/app/a.js:1:2)"}}',
        {"fmt": "json", "level": "ERROR", "message": "request failed"},
    ),
    (
        "pino-numeric-info",
        '{"level":30,"time":1732795200000,"msg":"listening"}',
        {"level": "INFO", "exc_text": None},
    ),
    (
        "bunyan",
        '{"name":"api","hostname":"h","pid":1,"level":60,"msg":"fatal crash","time":"2026-11-28T12:00:00.000Z","v":0}',
        {"level": "CRITICAL", "logger": "api", "timestamp": "2026-11-28T12:00:00.000Z"},
    ),
    (
        "numeric-under-other-key-is-not-a-level",
        '{"severity":50,"message":"x","timestamp":"t"}',
        {"level": None},
    ),
    (
        "json-array-is-text",
        "[1, 2, 3]",
        {"fmt": "text", "message": "[1, 2, 3]", "level": None},
    ),
    (
        "broken-json-is-text",
        '{"message": "unterminated',
        {"fmt": "text", "level": None},
    ),
]


@pytest.mark.parametrize(("raw", "expected"), [pytest.param(r, e, id=i) for i, r, e in CASES])
def test_parse_line(raw: str, expected: dict[str, Any]) -> None:
    parsed = parse_line(raw, index=7)
    assert parsed.index == 7
    for key, value in expected.items():
        assert getattr(parsed, key) == value, key


def test_structured_exception_text_is_kept() -> None:
    raw = _json(event="x", level="error", exception="Traceback (most recent call last):\nValueError: v")
    assert parse_line(raw, index=0).exc_text == "Traceback (most recent call last):\nValueError: v"


def test_pino_err_stack_is_kept() -> None:
    raw = '{"level":50,"msg":"m","err":{"stack":"Error: e\\n    at f (/a.js:1:1)"}}'
    assert (parse_line(raw, index=0).exc_text or "").startswith("Error: e")


def test_structlog_dict_tracebacks_are_rendered() -> None:
    exception = [
        {"exc_type": "KeyError", "exc_value": "'k'", "is_cause": False,
         "frames": [{"filename": "/app/a.py", "lineno": 4, "name": "get", "line": "d['k']"}]},
    ]
    parsed = parse_line(_json(event="e", level="error", exception=exception), index=0)
    assert parsed.exc_text == (
        'Traceback (most recent call last):\n  File "/app/a.py", line 4, in get\n    d[\'k\']\nKeyError: \'k\''
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2026-11-28 12:00:00,123 ERROR app.db: boom", ("ERROR", "2026-11-28 12:00:00,123", "app.db", "boom"), id="python-asctime"),
        pytest.param("ERROR:root:boom here", ("ERROR", None, "root", "boom here"), id="python-basicconfig"),
        pytest.param("2026-11-28 12:00:00,123 - app.db - WARNING - slow", ("WARNING", "2026-11-28 12:00:00,123", "app.db", "slow"), id="python-dashes"),
        pytest.param("[2026-11-28 12:00:00 +0000] [1] [INFO] Starting gunicorn", ("INFO", "2026-11-28 12:00:00 +0000", None, "Starting gunicorn"), id="gunicorn"),
        pytest.param("INFO:     Application startup complete.", ("INFO", None, None, "Application startup complete."), id="uvicorn"),
        pytest.param("Nov 28 12:54:14 web1 myapp[123]: disk full", (None, "Nov 28 12:54:14", "myapp", "disk full"), id="syslog"),
        pytest.param("1732795200 WARN cache miss", ("WARNING", "1732795200", None, "cache miss"), id="epoch"),
        pytest.param("1732795200123 [main] ERROR com.shop.Cart - empty", ("ERROR", "1732795200123", "com.shop.Cart", "empty"), id="epoch-ms-log4j"),
        pytest.param("2026-11-28T10:00:00Z [worker-1] CRITICAL jobs.export: failed", ("CRITICAL", "2026-11-28T10:00:00Z", "jobs.export", "failed"), id="thread-bracket"),
        pytest.param("2026-11-28 12:00:00.000 | ERROR    | app.main:run:42 - job crashed", ("ERROR", "2026-11-28 12:00:00.000", "app.main", "job crashed"), id="loguru"),
        pytest.param("level=error msg=\"bad\"", ("ERROR", None, None, "msg=\"bad\""), id="logfmt"),
        pytest.param("2026/11/28 12:00:00 [error] 31#31: *1 connect() failed", ("ERROR", "2026/11/28 12:00:00", None, "*1 connect() failed"), id="nginx"),
        pytest.param("12:00:01.123 [pool-2] WARN  c.e.Svc - slow", ("WARNING", "12:00:01.123", "c.e.Svc", "slow"), id="time-only"),
        pytest.param("I found an error in there", (None, None, None, "I found an error in there"), id="no-header"),
        pytest.param("ERROR Failed to connect: refused", ("ERROR", None, None, "Failed to connect: refused"), id="capitalised-word-not-logger"),
        pytest.param("Error: Cannot find module 'x'", (None, None, None, "Error: Cannot find module 'x'"), id="node-error-line-not-a-level"),
        pytest.param("KeyError: 'pear'", (None, None, None, "KeyError: 'pear'"), id="exception-line"),
        pytest.param("    return d[k]", (None, None, None, "    return d[k]"), id="code-line"),
    ],
)
def test_split_header(text: str, expected: tuple[Any, ...]) -> None:
    assert split_header(text) == expected


@pytest.mark.parametrize(
    ("value", "level"),
    [
        pytest.param("warn", "WARNING", id="warn"),
        pytest.param("ERROR", "ERROR", id="upper"),
        pytest.param("Fatal", "CRITICAL", id="fatal"),
        pytest.param(50, "ERROR", id="pino-50"),
        pytest.param(60, "CRITICAL", id="pino-60"),
        pytest.param(30, "INFO", id="pino-30"),
        pytest.param(55, None, id="not-a-pino-level"),
        pytest.param("verbose", None, id="unknown"),
        pytest.param(True, None, id="bool"),
    ],
)
def test_normalize_level(value: object, level: str | None) -> None:
    assert normalize_level(value) == level


@pytest.mark.parametrize(
    ("lines", "fmt"),
    [
        pytest.param([_json(message="m", timestamp="t", level="info")] * 3, "railway", id="railway"),
        pytest.param(["plain", "text"], "text", id="text"),
        pytest.param([_json(labels={"a": "b"}, line="x")], "loki", id="loki"),
        pytest.param([_json(msg="m", level=30)], "json", id="json"),
        pytest.param([], "text", id="empty"),
    ],
)
def test_detect_format(lines: list[str], fmt: str) -> None:
    assert detect_format(lines) == fmt


def test_forced_text_format_does_not_decode_json() -> None:
    raw = _json(message="m", timestamp="t", level="error")
    parsed = parse_line(raw, index=0, fmt="text")
    assert parsed.fmt == "text"
    assert parsed.message == raw


@settings(derandomize=True, max_examples=400, deadline=None)
@given(st.one_of(
    st.text(max_size=200),
    st.dictionaries(st.sampled_from(["message", "msg", "level", "lvl", "severity", "timestamp", "labels", "line",
                                     "stream", "values", "exception", "err", "stack", "service", "pid"]),
                    st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=30),
                                 lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                                 max_leaves=6),
                    max_size=6).map(lambda d: orjson.dumps(d).decode()),
))
def test_parse_line_never_raises(raw: str) -> None:
    for fmt in ("auto", "railway", "loki", "json", "text"):
        parsed = parse_line(raw, index=1, fmt=fmt)
        assert isinstance(parsed.message, str)
        assert isinstance(parsed.text, str)
