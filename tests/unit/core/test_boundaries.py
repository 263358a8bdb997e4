"""Event boundaries: a traceback ends with its exception line and genuine continuations, nothing more."""

from __future__ import annotations

import orjson
import pytest

from streamfix.core.assemble import MAX_CONTINUATION
from streamfix.core.extract import MAX_MESSAGE_CHARS
from streamfix.core.pipeline import run_batch

PY = """Traceback (most recent call last):
  File "/app/api/orders.py", line 12, in create
    total = price_of(cart)
  File "/app/api/orders.py", line 5, in price_of
    return PRICES[item]
KeyError: 'pear'"""

NODE = """TypeError: Cannot read properties of undefined (reading 'id')
    at getUser (/app/src/users.js:14:22)
    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)"""

JAVA = """Exception in thread "main" java.lang.IllegalStateException: cart is empty
\tat com.shop.Cart.checkout(Cart.java:42)
\tat com.shop.Main.main(Main.java:10)"""

FOLLOWING = ["cache miss for key user:42", "worker heartbeat ok (errors=0)", "GET /static/app.js 304",
             "shutting down"]

PYDANTIC = """Traceback (most recent call last):
  File "/app/signup.py", line 9, in <module>
    Signup(age="abc")
pydantic_core._pydantic_core.ValidationError: 1 validation error for Signup
age
  Input should be a valid integer, unable to parse string as an integer [type=int_parsing, input_value='abc', input_type=str]
    For further information visit https://errors.pydantic.dev/2.5/v/int_parsing"""

PSYCOPG = """Traceback (most recent call last):
  File "/app/db.py", line 20, in insert
    cur.execute(SQL, row)
psycopg.errors.UniqueViolation: duplicate key value violates unique constraint "users_pkey"
DETAIL:  Key (id)=(1) already exists."""

CHAINED = """Traceback (most recent call last):
  File "/app/a.py", line 3, in load
    return CACHE[key]
KeyError: 'k'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/app/a.py", line 8, in main
    load("k")
RuntimeError: cache broken"""


def _types(lines: list[str]) -> list[str]:
    return [e.error_type for e in run_batch(lines, final=True).events]


@pytest.mark.parametrize(
    ("lines", "types"),
    [
        pytest.param(PY.splitlines() + NODE.splitlines(), ["KeyError", "TypeError"], id="python-then-node"),
        pytest.param(PY.splitlines() + JAVA.splitlines(), ["KeyError", "java.lang.IllegalStateException"],
                     id="python-then-java"),
        pytest.param(JAVA.splitlines() + PY.splitlines(), ["java.lang.IllegalStateException", "KeyError"],
                     id="java-then-python"),
        pytest.param(NODE.splitlines() + PY.splitlines(), ["TypeError", "KeyError"], id="node-then-python"),
        pytest.param(PY.splitlines() + PY.splitlines(), ["KeyError", "KeyError"], id="python-twice"),
        pytest.param([*PY.splitlines(), "2026-11-28 12:00:00,000 ERROR app: payment failed"],
                     ["KeyError", "LoggedError"], id="python-then-error-record"),
        pytest.param(CHAINED.splitlines() + FOLLOWING, ["RuntimeError"], id="chained-is-one-event"),
    ],
)
def test_what_starts_a_new_event(lines: list[str], types: list[str]) -> None:
    assert _types(lines) == types


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(PY, "'pear'", id="plain"),
        pytest.param(PYDANTIC, "1 validation error for Signup\nage\n  Input should be a valid integer, unable to parse "
                     "string as an integer [type=int_parsing, input_value='abc', input_type=str]\n    For further "
                     "information visit https://errors.pydantic.dev/2.5/v/int_parsing", id="pydantic-details"),
        pytest.param(PSYCOPG, 'duplicate key value violates unique constraint "users_pkey"\nDETAIL:  Key (id)=(1) '
                     "already exists.", id="database-detail"),
    ],
)
def test_message_keeps_continuations_and_stops_at_the_next_output(text: str, message: str) -> None:
    events = run_batch(text.splitlines() + FOLLOWING, final=True).events
    assert len(events) == 1
    assert events[0].message == message
    assert events[0].line_end == len(text.splitlines()) - 1


@pytest.mark.parametrize("level", ["info", None], ids=["info-label-on-other-lines", "no-level-label"])
def test_loki_lines_after_the_exception_are_not_glued_to_it(level: str | None) -> None:
    def entry(line: str, error: bool) -> str:
        labels = {"service_name": "api"}
        if level is not None:
            labels["level"] = "error" if error else level
        return orjson.dumps({"labels": labels, "line": line}).decode()

    lines = [entry(line, True) for line in PY.splitlines()] + [entry(line, False) for line in FOLLOWING]
    events = run_batch(lines, final=True).events
    assert [(e.error_type, e.message, e.line_end) for e in events] == [("KeyError", "'pear'", 5)]


def test_message_is_capped_in_lines() -> None:
    body = [f"  detail {n}" for n in range(100)]
    events = run_batch(PY.splitlines() + body, final=True).events
    assert events[0].error_type == "KeyError"
    assert events[0].message.count("\n") == MAX_CONTINUATION
    assert events[0].line_end == 5 + MAX_CONTINUATION


def test_message_is_capped_in_characters() -> None:
    long = "x" * (MAX_MESSAGE_CHARS * 3)
    event = run_batch([*PY.splitlines()[:-1], f"ValueError: {long}"], final=True).events[0]
    assert len(event.message) < MAX_MESSAGE_CHARS + 40
    assert event.message.endswith(f"[{MAX_MESSAGE_CHARS * 2} more characters]")
