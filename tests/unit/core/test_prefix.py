"""Platform line prefixes: table-driven cases for :func:`strip_prefix`, and genuine tracebacks in every style."""

from __future__ import annotations

import functools

import pytest

from streamfix.core.parse import parse_line
from streamfix.core.pipeline import run_batch
from streamfix.core.prefix import strip_prefix
from tests.unit.core import prefix_corpus
from tests.unit.core.tracebacks import Program

TS = "2026-11-28T12:00:00.123456789Z"

CASES = [
    # (id, line, program text, timestamp, labels, level)
    ("compose", "api-1  | Traceback (most recent call last):", "Traceback (most recent call last):", None,
     (("container", "api-1"),), None),
    ("compose-keeps-indent", 'api-1  |   File "/app/x.py", line 3, in f', '  File "/app/x.py", line 3, in f', None,
     (("container", "api-1"),), None),
    ("compose-empty-line", "api-1  |", "", None, (("container", "api-1"),), None),
    ("compose-v1-underscore", "web_1     | boot", "boot", None, (("container", "web_1"),), None),
    ("compose-timestamps", f"api-2  | {TS}     raise X", "    raise X", TS, (("container", "api-2"),), None),
    ("docker-timestamps", f"{TS}   File \"a.py\", line 1", '  File "a.py", line 1', TS, (), None),
    ("kubectl", f"[pod/api-7d9f/api] {TS}     return f()", "    return f()", TS,
     (("container", "api"), ("pod", "api-7d9f")), None),
    ("kubectl-no-timestamps", "[pod/api-7d9f/sidecar] ready", "ready", None,
     (("container", "sidecar"), ("pod", "api-7d9f")), None),
    ("journald-short", "Nov 28 12:00:00 ip-10-0-0-1 api[123]:     raise X", "    raise X", "Nov 28 12:00:00",
     (("hostname", "ip-10-0-0-1"), ("pid", "123"), ("process", "api")), None),
    ("journald-short-iso", "2026-11-28T12:00:00+0000 host api[12]: KeyError: 'a'", "KeyError: 'a'",
     "2026-11-28T12:00:00+0000", (("hostname", "host"), ("pid", "12"), ("process", "api")), None),
    ("rfc3164-pri", "<11>Nov  8 12:00:00 host api[7]: boom", "boom", "Nov  8 12:00:00",
     (("hostname", "host"), ("pid", "7"), ("process", "api")), "ERROR"),
    ("rfc3164-no-pid", "<14>Nov 28 12:00:00 host cron: started", "started", "Nov 28 12:00:00",
     (("hostname", "host"), ("process", "cron")), "INFO"),
    ("rfc5424", "<11>1 2026-11-28T12:00:00.003Z host api 123 - - KeyError: 'a'", "KeyError: 'a'",
     "2026-11-28T12:00:00.003Z", (("hostname", "host"), ("pid", "123"), ("process", "api")), "ERROR"),
    ("rfc5424-structured-data", '<165>1 2026-11-28T12:00:00Z h app 9 ID47 [x@1 a="\\]"][y@2] msg', "msg",
     "2026-11-28T12:00:00Z", (("hostname", "h"), ("pid", "9"), ("process", "app")), "INFO"),
    ("heroku-app", "2026-11-28T12:00:00.123456+00:00 app[web.1]:   File \"a\"", '  File "a"',
     "2026-11-28T12:00:00.123456+00:00", (("dyno", "web.1"), ("process", "app")), None),
    ("heroku-router-error", "2026-11-28T12:00:00.1+00:00 heroku[router]: at=error code=H12 desc=\"Request timeout\"",
     'at=error code=H12 desc="Request timeout"', "2026-11-28T12:00:00.1+00:00",
     (("dyno", "router"), ("process", "heroku")), "ERROR"),
    ("timestamp-replica", "2026-11-28T12:00:00.123Z 7f3a9c2e   File \"a\"", '  File "a"', "2026-11-28T12:00:00.123Z",
     (("replica", "7f3a9c2e"),), None),
    ("timestamp-word-replica-traceback", "2026-11-28T12:00:00Z web Traceback (most recent call last):",
     "Traceback (most recent call last):", "2026-11-28T12:00:00Z", (("replica", "web"),), None),
    ("timestamp-word-replica-indented", '2026-11-28T12:00:00Z web   File "a.py", line 1', '  File "a.py", line 1',
     "2026-11-28T12:00:00Z", (("replica", "web"),), None),
    ("timestamp-word-replica-exception", "2026-11-28T12:00:00Z worker KeyError: 'x'", "KeyError: 'x'",
     "2026-11-28T12:00:00Z", (("replica", "worker"),), None),
    ("timestamp-word-is-a-message", "2026-11-28T12:00:00Z Starting server: port 8000", "Starting server: port 8000",
     "2026-11-28T12:00:00Z", (), None),
    ("timestamp-bare-exception-is-no-replica", "2026-11-28T12:00:00Z TimeoutError", "TimeoutError",
     "2026-11-28T12:00:00Z", (), None),
    ("timestamp-then-own-header", "2026-11-28T12:00:00Z 2026-11-28 12:00:00,1 ERROR app: x",
     "2026-11-28 12:00:00,1 ERROR app: x", "2026-11-28T12:00:00Z", (), None),
    ("timestamp-then-level-is-no-replica", "2026-11-28T12:00:00Z ERROR x", "ERROR x", "2026-11-28T12:00:00Z", (), None),
]

NO_PREFIX = [
    "Traceback (most recent call last):",
    '  File "/app/x.py", line 3, in f',
    "ValueError: a | b",
    "INFO     | loguru-like level column",
    "2026-11-28 12:00:00.000 | ERROR    | app:run:42 - job crashed",
    "2026-11-28 12:00:00,001 ERROR app.jobs: nightly export failed",
    "[2026-11-28 12:00:00 +0000] [7] [ERROR] Exception in worker process",
    "<html>",
    "",
]


@pytest.mark.parametrize(("line", "text", "timestamp", "labels", "level"),
                         [pytest.param(*case[1:], id=case[0]) for case in CASES])
def test_strip_prefix(line: str, text: str, timestamp: str | None, labels: tuple[tuple[str, str], ...],
                      level: str | None) -> None:
    prefix = strip_prefix(line)
    assert prefix is not None
    assert (prefix.text, prefix.timestamp, prefix.labels, prefix.level) == (text, timestamp, labels, level)


@pytest.mark.parametrize("line", NO_PREFIX)
def test_no_prefix(line: str) -> None:
    assert strip_prefix(line) is None


def test_parsed_line_takes_stream_and_time_from_the_prefix() -> None:
    parsed = parse_line(f"[pod/api-1/api] {TS} 2026-11-28 12:00:01,000 ERROR app.jobs: export failed", index=0)
    assert parsed.stream == "container=api|pod=api-1"
    assert parsed.timestamp == TS
    assert (parsed.level, parsed.logger, parsed.message) == ("ERROR", "app.jobs", "export failed")


def test_json_line_under_a_prefix_is_parsed_as_json() -> None:
    raw = 'api-1  | {"message": "payment failed", "level": "error", "timestamp": "2026-11-28T12:00:00Z"}'
    parsed = parse_line(raw, index=0)
    assert (parsed.fmt, parsed.message, parsed.level, parsed.stream) == (
        "railway", "payment failed", "ERROR", "container=api-1")


def test_interleaved_replicas_assemble_separately() -> None:
    a = ["Traceback (most recent call last):", '  File "/app/a.py", line 1, in f', "    f()", "KeyError: 'a'"]
    b = ["Traceback (most recent call last):", '  File "/app/b.py", line 2, in g', "    g()", "ValueError: b"]
    lines = [f"{name}  | {text}" for pair in zip(a, b, strict=True) for name, text in zip(("api-1", "api-2"), pair,
                                                                                         strict=True)]
    events = run_batch(lines, final=True).events
    assert [(e.error_type, e.file, e.stream) for e in events] == [
        ("KeyError", "/app/a.py", "container=api-1"),
        ("ValueError", "/app/b.py", "container=api-2"),
    ]


@functools.cache
def _stderr() -> tuple[tuple[Program, str], ...]:
    return tuple(prefix_corpus.genuine_stderr())


@pytest.mark.parametrize("style", list(prefix_corpus.STYLES))
def test_genuine_tracebacks_in_every_prefix_style(style: str) -> None:
    raw, expected, owners = prefix_corpus.build(style, _stderr(), events_per_replica=12)
    score = prefix_corpus.score(style, raw, expected, owners, batch=500)
    assert score.recall >= 0.99, score.wrong
    assert score.false_rate <= 0.01, score.wrong
    for name in score.right:
        assert score.accuracy(name) >= 0.99, (name, score.wrong)
