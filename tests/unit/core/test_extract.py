"""Extraction: genuine CPython tracebacks from failing programs, plus Node.js, Java and log-line cases.

Every program in ``tracebacks/`` is run in a subprocess; its stderr is fed to the pipeline in several
shapes (plain text, Railway ``--json`` lines, Railway with interleaved stdout lines, Loki entries, one
structlog JSON line carrying the traceback). Type, file, line and function must be right every time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import orjson
import pytest

from streamfix.core.assemble import Assembler, Unit
from streamfix.core.extract import InAppConfig, extract, python_module
from streamfix.core.parse import parse_line
from streamfix.core.pipeline import run_batch
from tests.unit.core.dotnet_samples import SAMPLES as DOTNET_SAMPLES
from tests.unit.core.tracebacks import PROGRAMS, Program


@functools.cache
def stderr_of(program: Program) -> str:
    return program.run()


def _ts(n: int) -> str:
    return f"2026-11-28T12:{n // 60 % 60:02d}:{n % 60:02d}.{n:06d}Z"


def as_text(stderr: str) -> list[str]:
    return stderr.splitlines()


def as_railway(stderr: str) -> list[str]:
    out = []
    for n, line in enumerate(stderr.splitlines()):
        record = {"message": line, "timestamp": _ts(n), "level": "error", "service": "api", "replica": "r1"}
        if n % 2:
            record = dict(reversed(record.items()))
        out.append(orjson.dumps(record).decode())
    return out


def as_railway_interleaved(stderr: str) -> list[str]:
    out = []
    for n, line in enumerate(as_railway(stderr)):
        out.append(line)
        if n % 3 == 1:
            info = {"message": f"GET /health 200 ({n} errors so far: 0)", "level": "info", "timestamp": _ts(n)}
            out.append(orjson.dumps({**info, "service": "api", "replica": "r1"}).decode())
    return out


def as_loki(stderr: str) -> list[str]:
    labels = {"service_name": "api", "level": "error"}
    return [orjson.dumps({"labels": labels, "line": line, "timestamp": _ts(n)}).decode()
            for n, line in enumerate(stderr.splitlines())]


def as_structlog(stderr: str) -> list[str]:
    record = {"event": "unhandled error", "level": "error", "timestamp": _ts(0), "logger": "app", "exception": stderr}
    return [orjson.dumps(record).decode()]


SHAPES: dict[str, Callable[[str], list[str]]] = {
    "text": as_text,
    "railway": as_railway,
    "railway-interleaved": as_railway_interleaved,
    "loki": as_loki,
    "structlog-exception": as_structlog,
}

# (program, shape) -> why it is wrong; kept instead of deleted. Empty while every genuine case passes.
KNOWN_WRONG: dict[tuple[str, str], str] = {}


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("program", PROGRAMS, ids=[p.name for p in PROGRAMS])
def test_genuine_traceback(program: Program, shape: str) -> None:
    if not program.available:
        pytest.skip(f"{program.missing} is not installed")
    if (program.name, shape) in KNOWN_WRONG:
        pytest.xfail(KNOWN_WRONG[(program.name, shape)])
    result = run_batch(SHAPES[shape](stderr_of(program)), final=True)
    assert len(result.events) == 1, [e.error_type for e in result.events]
    event = result.events[0]
    assert (event.error_type, event.file, event.line, event.function) == (
        program.error_type,
        program.file,
        program.line,
        program.function,
    )
    assert event.category.value == program.category
    assert not event.incomplete
    assert event.fingerprint.startswith("fp")


def test_genuine_logging_exception_keeps_message_and_logger() -> None:
    program = next(p for p in PROGRAMS if p.name == "logging_exception")
    event = run_batch(as_text(stderr_of(program)), final=True).events[0]
    assert event.log_message == "nightly ratio job failed"
    assert event.logger == "billing.jobs"
    assert event.level == "ERROR"
    assert event.line_start == 0


def test_genuine_chained_types() -> None:
    program = next(p for p in PROGRAMS if p.name == "chained_cause")
    event = run_batch(as_text(stderr_of(program)), final=True).events[0]
    assert event.chained == ("KeyError",)
    assert event.message == "order 42 not found"


def test_genuine_library_frames_are_not_in_app() -> None:
    program = next(p for p in PROGRAMS if p.name == "httpx_timeout")
    if not program.available:
        pytest.skip("httpx is not installed")
    event = run_batch(as_text(stderr_of(program)), final=True).events[0]
    assert event.frames[-1].in_app is False
    assert any(f.module and f.module.startswith("httpx.") for f in event.frames)
    assert event.frames[0].in_app


def test_genuine_pydantic_message_spans_lines() -> None:
    program = next(p for p in PROGRAMS if p.name == "pydantic_validation")
    if not program.available:
        pytest.skip("pydantic is not installed")
    event = run_batch(as_text(stderr_of(program)), final=True).events[0]
    assert event.message.startswith("1 validation error for Signup")
    assert "Input should be a valid integer" in event.message


def _units(lines: list[str]) -> list[Unit]:
    assembler = Assembler()
    units: list[Unit] = []
    for n, raw in enumerate(lines):
        units.extend(assembler.feed(parse_line(raw, index=n)))
    return units + assembler.flush()


def _event(text: str, **in_app: tuple[str, ...]):  # type: ignore[no-untyped-def]
    units = [u for u in _units(text.splitlines()) if u.is_error]
    assert len(units) == 1, units
    return extract(units[0], InAppConfig(**in_app) if in_app else InAppConfig())


NODE = """TypeError: Cannot read properties of undefined (reading 'id')
    at getUser (/app/src/users.js:14:22)
    at /app/src/routes.js:8:5
    at Layer.handle [as handle_request] (/app/node_modules/express/lib/router/layer.js:95:5)
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)"""

JAVA = """Exception in thread "main" java.lang.IllegalStateException: cart is empty
\tat com.shop.Cart.checkout(Cart.java:42)
\tat com.shop.Main.main(Main.java:10)
\tat java.base/jdk.internal.reflect.NativeMethodAccessorImpl.invoke0(Native Method)
Caused by: java.lang.NullPointerException: items
\tat com.shop.Cart.total(Cart.java:30)
\t... 2 more"""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(NODE, ("TypeError", "/app/src/users.js", 14, "getUser"), id="node-express"),
        pytest.param(JAVA, ("java.lang.NullPointerException", "Cart.java", 30, "com.shop.Cart.total"), id="java-caused-by"),
        pytest.param(
            "panic: runtime error: index out of range [5] with length 3\n\ngoroutine 1 [running]:\n"
            "main.main()\n\t/app/main.go:8 +0x1d\nexit status 2",
            ("runtime.Error", "/app/main.go", 8, "main.main"), id="go-panic",
        ),
        # Without RUST_BACKTRACE the output names no function ('main' is the thread's name).
        pytest.param(
            "thread 'main' panicked at src/main.rs:2:5:\nindex out of bounds: the len is 3 but the index is 5",
            ("panic", "src/main.rs", 2, None), id="rust-panic-without-backtrace",
        ),
        pytest.param(
            "thread 'main' panicked at 'boom', src/lib.rs:7:9\n"
            "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
            ("panic", "src/lib.rs", 7, None), id="rust-panic-before-1.73",
        ),
        pytest.param(
            "ERROR:app.payments:httpx.ReadTimeout: timed out talking to stripe",
            ("httpx.ReadTimeout", None, None, None),
            id="error-line-with-type",
        ),
        pytest.param(
            "2026-11-28 12:00:00,001 ERROR app.jobs: nightly export failed",
            ("LoggedError", None, None, None),
            id="error-line-generic",
        ),
        pytest.param(
            "2026-11-28 12:00:00,001 CRITICAL app: request failed: openai.RateLimitError: Error code: 429",
            ("openai.RateLimitError", None, None, None),
            id="error-line-type-after-prefix",
        ),
    ],
)
def test_other_languages_and_log_lines(text: str, expected: tuple[object, ...]) -> None:
    event = _event(text)
    assert (event.error_type, event.file, event.line, event.function) == expected


LOGURU = """2026-11-28 12:00:00.000 | ERROR    | app.main:run:42 - job crashed
Traceback (most recent call last):

  File "/app/main.py", line 12, in <module>
    run()
    \u2514 <function run at 0x7f0000000000>

> File "/app/main.py", line 8, in run
    1 / 0

ZeroDivisionError: division by zero"""


def test_loguru_backtrace() -> None:
    event = _event(LOGURU)
    assert (event.error_type, event.file, event.line, event.function) == ("ZeroDivisionError", "/app/main.py", 8, "run")
    assert (event.log_message, event.level, event.incomplete) == ("job crashed", "ERROR", False)


def test_java_root_cause_reported_outer_kept() -> None:
    event = _event(JAVA)
    assert (event.error_type, event.message) == ("java.lang.NullPointerException", "items")
    assert event.chained == ("java.lang.IllegalStateException",)
    assert event.language == "java"
    assert [f.function for f in event.frames] == ["com.shop.Cart.total"]


def test_java_frames_in_app() -> None:
    event = _event(JAVA.split("\nCaused by:")[0])
    assert event.error_type == "java.lang.IllegalStateException"
    assert [f.in_app for f in event.frames] == [False, True, True]


def test_node_frames_innermost_last_and_not_in_app() -> None:
    event = _event(NODE)
    assert [f.in_app for f in event.frames] == [False, False, True, True]
    assert event.frames[-1].function == "getUser"


def test_app_prefix_overrides_site_packages() -> None:
    text = (
        "Traceback (most recent call last):\n"
        '  File "/srv/venv/lib/python3.11/site-packages/acme/core.py", line 5, in run\n'
        "    step()\n"
        '  File "/srv/venv/lib/python3.11/site-packages/httpx/_client.py", line 9, in send\n'
        "    raise ConnectError()\n"
        "httpx.ConnectError: refused"
    )
    assert _event(text).function == "send"
    assert _event(text, app_prefixes=("/srv/venv/lib/python3.11/site-packages/acme/",)).function == "run"


def test_missing_exception_line_is_incomplete() -> None:
    text = 'Traceback (most recent call last):\n  File "/app/x.py", line 3, in main\n    boom()'
    units = [u for u in _units(text.splitlines()) if u.is_error]
    event = extract(units[0])
    assert event.incomplete
    assert (event.file, event.line, event.function) == ("/app/x.py", 3, "main")


@pytest.mark.parametrize(
    ("path", "module"),
    [
        pytest.param("/app/.venv/lib/python3.11/site-packages/httpx/_client.py", "httpx._client", id="site-packages"),
        pytest.param("/usr/lib/python3.11/json/decoder.py", "json.decoder", id="stdlib"),
        pytest.param("/app/shop/orders.py", "orders", id="app-file"),
        pytest.param("/usr/lib/python3/dist-packages/redis/__init__.py", "redis", id="package-init"),
        pytest.param("<string>", None, id="not-a-file"),
    ],
)
def test_python_module(path: str, module: str | None) -> None:
    assert python_module(path) == module


def test_python_warnings_on_stderr_are_not_errors() -> None:
    lines = [
        orjson.dumps({"message": m, "level": "error", "timestamp": "t"}).decode()
        for m in ["/app/x.py:2: DeprecationWarning: old api", '  warnings.warn("old api", DeprecationWarning)']
    ]
    assert run_batch(lines, final=True).events == []


# Known-wrong cases: (id, input lines, desired, actual). Kept, not deleted; each is an xfail(strict=True)
# so that fixing one makes the suite say so. Desired and actual are (error_type, file, line, function)
# of the single event expected, or None for "no event".
KNOWN_WRONG_CASES: list[tuple[str, list[str], object, object]] = [
    (
        "railway-stderr-print-is-an-error",
        [orjson.dumps({"message": "starting worker", "level": "error", "timestamp": "t"}).decode()],
        None,
        ("LoggedError", None, None, None),
    ),
    # Fixed, now passing cases of test_other_languages_and_log_lines: go-panic, rust-panic (its desired
    # function "main" was the thread's name; the output names no function), java-root-cause-not-reported.
]


RUBY_BACK_TO_BACK = ["a.rb:2:in `f': boom (RuntimeError)", "\tfrom a.rb:5:in `<main>'",
                     "b.rb:3:in `g': bang (KeyError)", "\tfrom b.rb:6:in `<main>'"]


@pytest.mark.xfail(strict=True, reason="known-wrong: Ruby prints a cause exactly like a new uncaught exception")
def test_known_wrong_ruby_two_exceptions_back_to_back_are_two_events() -> None:
    assert len(run_batch(RUBY_BACK_TO_BACK, final=True).events) == 2


def test_known_wrong_ruby_two_exceptions_back_to_back_read_as_a_cause() -> None:
    (event,) = run_batch(RUBY_BACK_TO_BACK, final=True).events
    assert (event.error_type, event.chained) == ("RuntimeError", ("KeyError",))


def _single(lines: list[str]) -> object:
    events = run_batch(lines, final=True).events
    if not events:
        return None
    e = events[0]
    return (e.error_type, e.file, e.line, e.function)


@pytest.mark.parametrize(("lines", "desired", "actual"), [pytest.param(lines, d, a, id=i) for i, lines, d, a in KNOWN_WRONG_CASES])
def test_known_wrong_cases_still_behave_as_recorded(lines: list[str], desired: object, actual: object) -> None:
    assert _single(lines) == actual


@pytest.mark.xfail(strict=True, reason="known-wrong case: see KNOWN_WRONG_CASES")
@pytest.mark.parametrize(("lines", "desired"), [pytest.param(lines, d, id=i) for i, lines, d, _ in KNOWN_WRONG_CASES])
def test_known_wrong_cases_desired(lines: list[str], desired: object) -> None:
    assert _single(lines) == desired


@pytest.mark.parametrize(("text", "expected", "chained"), [pytest.param(t, e, c, id=i) for i, t, e, c in DOTNET_SAMPLES])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_dotnet_samples(text: str, expected: tuple[object, ...], chained: tuple[str, ...], shape: str) -> None:
    """.NET (Core) samples written by hand per the documented format, and Mono shapes the genuine
    programs cannot produce (see tests/unit/core/dotnet_samples.py)."""
    result = run_batch(SHAPES[shape](text), final=True)
    assert len(result.events) == 1, [e.error_type for e in result.events]
    event = result.events[0]
    assert (event.error_type, event.file, event.line, event.function, event.category.value) == expected
    assert event.chained == chained
    assert not event.incomplete


def test_genuine_dotnet_inner_exception_message_and_chain() -> None:
    program = next(p for p in PROGRAMS if p.name == "dotnet_task_timeout")
    if not program.available:
        pytest.skip(f"{program.missing} is not installed")
    (event,) = run_batch(as_text(stderr_of(program)), final=True).events
    assert event.message == "no answer from http://inventory.internal/items within 30 s"
    assert event.chained == ("System.AggregateException",)
    assert [f.function for f in event.frames if f.in_app] == ["Jobs.Fetcher.<Main>m__0", "Jobs.Fetcher.Fetch"]
