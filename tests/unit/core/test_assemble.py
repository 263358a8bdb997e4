"""Multi-line assembly: table-driven shapes, gaps, flushing, state round trips and property tests."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamfix.core.assemble import Assembler, Unit, might_open_error
from streamfix.core.models import ParsedLine
from streamfix.core.parse import parse_line

PY_TB = [
    "Traceback (most recent call last):",
    '  File "/app/main.py", line 10, in <module>',
    "    run()",
    '  File "/app/main.py", line 5, in run',
    "    return d['k']",
    "           ~^^^^^",
    "KeyError: 'k'",
]
CHAINED = [
    *PY_TB,
    "",
    "During handling of the above exception, another exception occurred:",
    "",
    "Traceback (most recent call last):",
    '  File "/app/main.py", line 12, in <module>',
    "    fallback()",
    "RuntimeError: fallback failed",
]
GROUP = [
    "  + Exception Group Traceback (most recent call last):",
    '  |   File "/app/g.py", line 3, in <module>',
    "  |     raise ExceptionGroup('many', [ValueError(1), TypeError(2)])",
    "  | ExceptionGroup: many (2 sub-exceptions)",
    "  +-+---------------- 1 ----------------",
    "    | ValueError: 1",
    "    +---------------- 2 ----------------",
    "    | TypeError: 2",
    "    +------------------------------------",
]
SYNTAX = [
    "Traceback (most recent call last):",
    '  File "/app/load.py", line 2, in <module>',
    "    import bad",
    '  File "/app/bad.py", line 1',
    "    def f(:",
    "          ^",
    "SyntaxError: invalid syntax",
]
LOG_EXC = ["2026-11-28 12:00:00,001 ERROR app.jobs: job failed", *PY_TB]
NODE = [
    "TypeError: Cannot read properties of undefined (reading 'id')",
    "    at getUser (/app/src/users.js:14:22)",
    "    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)",
]
NODE_UNCAUGHT = [
    "/app/src/users.js:6",
    "  return user.profile.id;",
    "                      ^",
    "",
    "TypeError: Cannot read properties of undefined (reading 'id')",
    "    at profileId (/app/src/users.js:6:23)",
    "",
    "Node.js v20.20.2",
]
JAVA = [
    'Exception in thread "main" java.lang.IllegalStateException: empty',
    "\tat com.shop.Cart.checkout(Cart.java:42)",
    "Caused by: java.lang.NullPointerException",
    "\tat com.shop.Cart.total(Cart.java:30)",
    "\t... 1 more",
]
INFO = ["2026-11-28 12:00:00,002 INFO app.web: GET /health 200", "2026-11-28 12:00:00,003 INFO app.web: 0 errors today"]


def railway(lines: list[str], service: str, level: str = "error") -> list[str]:
    return [orjson.dumps({"message": m, "timestamp": "t", "level": level, "service": service}).decode() for m in lines]


def assemble(lines: list[str]) -> list[Unit]:
    assembler = Assembler()
    units: list[Unit] = []
    for n, raw in enumerate(lines):
        units.extend(assembler.feed(parse_line(raw, index=n)))
    return units + assembler.flush()


def shape(units: list[Unit]) -> list[tuple[str, int, int, bool]]:
    return [(u.kind, u.line_start, u.line_end, u.incomplete) for u in sorted(units, key=lambda u: u.line_start)]


CASES = [
    ("python", [*PY_TB, *INFO], [("python", 0, 6, False), ("line", 7, 7, False), ("line", 8, 8, False)]),
    ("chained", CHAINED, [("python", 0, 13, False)]),
    ("exception-group", [*GROUP, INFO[0]], [("python", 0, 8, False), ("line", 9, 9, False)]),
    ("syntax-error-caret", SYNTAX, [("python", 0, 6, False)]),
    ("logging-exception", [*LOG_EXC, INFO[0]], [("python", 0, 7, False), ("line", 8, 8, False)]),
    ("node", [*NODE, INFO[0]], [("node", 0, 2, False), ("line", 3, 3, False)]),
    ("java", JAVA, [("java", 0, 4, False)]),
    ("node-uncaught-railway", railway(NODE_UNCAUGHT, "web"), [("node", 0, 7, False)]),
    ("node-uncaught-text-preamble-is-plain", NODE_UNCAUGHT, [("line", 0, 0, False), ("line", 1, 1, False),
     ("line", 2, 2, False), ("line", 3, 3, False), ("node", 4, 7, False)]),
    ("error-line-alone", ["ERROR:app:disk full", INFO[0]], [("log", 0, 0, False), ("line", 1, 1, False)]),
    ("info-with-word-error", INFO, [("line", 0, 0, False), ("line", 1, 1, False)]),
    ("exception-like-at-info-is-plain", ["ValueError: not an error here", INFO[0]], [("line", 0, 0, False), ("line", 1, 1, False)]),
    ("gap-missing-traceback-header", [*railway(PY_TB[1:], "api"), *railway(INFO[:1], "api", "info")],
     [("python", 0, 5, True), ("line", 6, 6, False)]),
    ("gap-missing-exception-line", [*PY_TB[:-1], *PY_TB], [("python", 0, 5, True), ("python", 6, 12, False)]),
    ("cut-off-by-end-of-input", PY_TB[:3], [("python", 0, 2, True)]),
    ("two-tracebacks-back-to-back", [*PY_TB, *PY_TB], [("python", 0, 6, False), ("python", 7, 13, False)]),
    # the blank line is held in case a chained section follows, then given back as a plain line
    ("blank-line-after-traceback", [*PY_TB, "", INFO[0]],
     [("python", 0, 6, False), ("line", 7, 7, False), ("line", 8, 8, False)]),
]


@pytest.mark.parametrize(("lines", "expected"), [pytest.param(lines, exp, id=name) for name, lines, exp in CASES])
def test_assembly_shapes(lines: list[str], expected: list[tuple[str, int, int, bool]]) -> None:
    assert shape(assemble(lines)) == expected


def test_streams_interleaved_line_by_line() -> None:
    a = railway(PY_TB, "api")
    b = railway(NODE, "web")
    mixed = [x for pair in zip(a, b + [""] * (len(a) - len(b)), strict=True) for x in pair if x]
    units = [u for u in assemble(mixed) if u.is_error]
    assert sorted((u.kind, len(u.lines)) for u in units) == [("node", 3), ("python", 7)]


def test_interleaved_info_lines_of_same_stream_pass_through() -> None:
    lines = railway(PY_TB[:3], "api") + railway(["GET / 200"], "api", "info") + railway(PY_TB[3:], "api")
    assert shape(assemble(lines)) == [("python", 0, 7, False), ("line", 3, 3, False)]


def test_flush_idle_only_flushes_quiet_streams() -> None:
    assembler = Assembler()
    for n, raw in enumerate(railway(PY_TB[:3], "api")):
        assert assembler.feed(parse_line(raw, index=n), now=100.0) == []
    for n, raw in enumerate(railway(PY_TB[:2], "web"), start=3):
        assembler.feed(parse_line(raw, index=n), now=130.0)
    flushed = assembler.flush_idle(now=140.0, quiet_seconds=30.0)
    assert [(u.kind, u.line_start, u.incomplete) for u in flushed] == [("python", 0, True)]
    assert not assembler.idle
    assert [u.line_start for u in assembler.flush_idle(now=161.0, quiet_seconds=30.0)] == [3]
    assert assembler.idle


def test_pending_error_line_flushed_complete() -> None:
    assembler = Assembler()
    assert assembler.feed(parse_line("ERROR:app:boom", index=0), now=1.0) == []
    assert shape(assembler.flush_idle(now=5.0, quiet_seconds=2.0)) == [("log", 0, 0, False)]


def test_state_round_trip_mid_traceback() -> None:
    assembler = Assembler()
    for n, raw in enumerate(PY_TB[:4]):
        assembler.feed(parse_line(raw, index=n))
    state = orjson.loads(orjson.dumps(assembler.state()))
    resumed = Assembler.from_state(state)
    units: list[Unit] = []
    for n, raw in enumerate(PY_TB[4:], start=4):
        units.extend(resumed.feed(parse_line(raw, index=n)))
    units.extend(resumed.flush())
    assert shape(units) == [("python", 0, 6, False)]
    assert [line.message for line in units[0].lines] == PY_TB


def test_unknown_state_version_is_rejected() -> None:
    with pytest.raises(ValueError, match="version"):
        Assembler.from_state({"version": 99, "streams": {}})


def test_parsed_line_dict_round_trip() -> None:
    line = parse_line(orjson.dumps({"message": "m", "timestamp": "t", "level": "error", "service": "s"}).decode(), index=3)
    assert ParsedLine.from_dict(orjson.loads(orjson.dumps(line.to_dict()))) == line


# -- property tests -----------------------------------------------------------------------------------

SNIPPETS = [PY_TB, CHAINED, GROUP, SYNTAX, LOG_EXC, NODE, NODE_UNCAUGHT, JAVA, INFO, ["ERROR:app:disk full"], [""],
            ["plain output"], PY_TB[:3], PY_TB[2:], ["  indented stray line"], ["ValueError: v"]]


@st.composite
def interleaved(draw: st.DrawFn) -> list[str]:
    """Several streams, each a sequence of snippets, interleaved in an arbitrary order."""
    streams = draw(st.lists(st.lists(st.sampled_from(range(len(SNIPPETS))), min_size=1, max_size=4), min_size=1, max_size=4))
    encoding = draw(st.sampled_from(["railway", "loki", "text"]))
    queues = []
    for number, picks in enumerate(streams):
        lines = [line for pick in picks for line in SNIPPETS[pick]]
        drop = draw(st.sets(st.integers(0, max(len(lines) - 1, 0)), max_size=2))  # Railway-style gaps
        lines = [line for i, line in enumerate(lines) if i not in drop] or ["x"]
        if encoding == "railway":
            lines = railway(lines, f"svc{number}")
        elif encoding == "loki":
            lines = [orjson.dumps({"labels": {"app": f"svc{number}"}, "line": m}).decode() for m in lines]
        elif number:
            continue  # plain text has no stream key: one stream only
        queues.append(lines)
    order = draw(st.lists(st.sampled_from(range(len(queues))), min_size=sum(map(len, queues)), max_size=sum(map(len, queues))))
    out: list[str] = []
    positions = [0] * len(queues)
    for choice in order + [q for q in range(len(queues)) for _ in queues[q]]:
        if positions[choice] < len(queues[choice]):
            out.append(queues[choice][positions[choice]])
            positions[choice] += 1
    return out


@settings(derandomize=True, max_examples=300, deadline=None)
@given(interleaved())
def test_every_line_in_exactly_one_unit(lines: list[str]) -> None:
    units = assemble(lines)
    seen = sorted(line.index for unit in units for line in unit.lines)
    assert seen == list(range(len(lines)))


@settings(derandomize=True, max_examples=150, deadline=None)
@given(interleaved(), st.integers(0, 200))
def test_resuming_from_serialised_state_changes_nothing(lines: list[str], cut_at: int) -> None:
    cut = min(cut_at, len(lines))
    first = Assembler()
    units: list[Unit] = []
    for n, raw in enumerate(lines[:cut]):
        units.extend(first.feed(parse_line(raw, index=n)))
    second = Assembler.from_state(orjson.loads(orjson.dumps(first.state())))
    for n, raw in enumerate(lines[cut:], start=cut):
        units.extend(second.feed(parse_line(raw, index=n)))
    units.extend(second.flush())
    assert shape(units) == shape(assemble(lines))


@settings(derandomize=True, max_examples=300, deadline=None)
@given(st.one_of(st.sampled_from([line for snippet in SNIPPETS for line in snippet]), st.text(max_size=80)),
       st.sampled_from(["railway", "text", "json-level"]))
def test_prefilter_never_hides_an_error_start(message: str, encoding: str) -> None:
    if encoding == "railway":
        raw = orjson.dumps({"message": message, "timestamp": "t", "level": "info"}).decode()
    elif encoding == "json-level":
        raw = orjson.dumps({"msg": message, "level": 30}).decode()
    else:
        raw = message
    if might_open_error(raw):
        return
    assembler = Assembler()
    units = assembler.feed(parse_line(raw, index=0))
    assert assembler.idle
    assert [u.kind for u in units] == ["line"]
