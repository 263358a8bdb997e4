"""The error path end to end: prefilter shortcut, batches, resumable state, counts, fingerprints."""

from __future__ import annotations

import itertools

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamfix.core.classify import load_rules
from streamfix.core.models import Category, ErrorEvent
from streamfix.core.pipeline import PipelineConfig, new_state, run_batch
from tests.unit.core.test_assemble import LOG_EXC, NODE, PY_TB, interleaved, railway


def key(events: list[ErrorEvent]) -> list[tuple[object, ...]]:
    return [
        (
            e.line_start,
            e.line_end,
            e.error_type,
            e.file,
            e.line,
            e.function,
            e.incomplete,
            e.fingerprint,
            e.category,
        )
        for e in events
    ]


def run_in_batches(lines: list[str], cuts: list[int]) -> tuple[list[ErrorEvent], int, int]:
    state = None
    events: list[ErrorEvent] = []
    plain = errors = 0
    bounds = sorted({min(c, len(lines)) for c in cuts} | {0, len(lines)})
    for start, end in itertools.pairwise(bounds):
        result = run_batch(lines[start:end], state)
        state = orjson.loads(orjson.dumps(result.state))
        events += result.events
        plain += result.plain_lines
        errors += result.error_lines
    final = run_batch([], state, final=True)
    return events + final.events, plain + final.plain_lines, errors + final.error_lines


@settings(derandomize=True, max_examples=150, deadline=None)
@given(interleaved())
def test_prefilter_shortcut_gives_the_same_events(lines: list[str]) -> None:
    fast = run_batch(lines, final=True)
    full = run_batch(lines, final=True, keep_units=True)
    assert key(fast.events) == key(full.events)
    assert fast.plain_lines + fast.error_lines == len(lines)
    assert fast.parsed_lines <= full.parsed_lines == len(lines)


@settings(derandomize=True, max_examples=150, deadline=None)
@given(interleaved(), st.lists(st.integers(0, 120), max_size=4))
def test_batches_and_restored_state_give_the_same_events(lines: list[str], cuts: list[int]) -> None:
    events, plain, errors = run_in_batches(lines, cuts)
    whole = run_batch(lines, final=True)
    assert sorted(key(events)) == sorted(key(whole.events))
    assert plain + errors == len(lines)


def test_line_indexes_continue_across_batches() -> None:
    first = run_batch(["hello", "world"])
    second = run_batch(PY_TB, first.state, final=True)
    assert [(e.line_start, e.line_end) for e in second.events] == [(2, 8)]


def test_quiet_period_flushes_incomplete() -> None:
    result = run_batch(railway(PY_TB[:3], "api"), now=10.0)
    assert result.events == []
    later = run_batch([], result.state, now=100.0, quiet_seconds=30.0)
    assert [(e.line_start, e.line_end, e.incomplete) for e in later.events] == [(0, 2, True)]
    assert later.state["assembly"]["streams"] == {}


def test_info_lines_with_the_word_error_are_not_errors() -> None:
    lines = [
        orjson.dumps({"message": m, "timestamp": "t", "level": "info", "service": "api"}).decode()
        for m in [
            "0 errors in last batch",
            "error_rate=0.00",
            "GET /api/errors 200",
            "retrying after ValueError: x",
            "Traceback module loaded",
            "user typed 'File \"x\"'",
        ]
    ]
    result = run_batch(lines, final=True)
    assert result.events == []
    assert result.plain_lines == len(lines)


def test_mixed_stream_events_in_order() -> None:
    lines = (
        railway(["booting"], "api", "info")
        + railway(LOG_EXC, "api")
        + railway(NODE, "web")
        + railway(["ERROR:x:y"], "api")
    )
    events = run_batch(lines, final=True).events
    assert [(e.line_start, e.language) for e in events] == [(1, "python"), (9, "node"), (12, "log")]


def test_fingerprints_group_same_error_and_use_the_shared_module() -> None:
    one = run_batch([*PY_TB, "x", *PY_TB], final=True).events
    assert one[0].fingerprint == one[1].fingerprint
    assert one[0].fingerprint.startswith("fp1:")


def test_user_rules_and_custom_fingerprint_through_pipeline() -> None:
    rules = load_rules(
        '[[rules]]\nname = "keys"\ntype = "^KeyError$"\ncategory = "validation_error"\nfingerprint = "keys"'
    )
    event = run_batch(PY_TB, config=PipelineConfig(user_rules=rules), final=True).events[0]
    assert event.category is Category.VALIDATION
    assert event.fingerprint.startswith("fp1:rule:")
    assert event.rule == "user:keys"


def test_state_is_json_and_versioned() -> None:
    state = run_batch(PY_TB[:2]).state
    assert orjson.loads(orjson.dumps(state)) == state
    assert state["version"] == new_state()["version"]
    with pytest.raises(ValueError, match="version"):
        run_batch([], {"version": 0})

