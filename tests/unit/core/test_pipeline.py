"""The error path end to end: prefilter shortcut, batches, resumable state, counts, fingerprints."""

from __future__ import annotations

import itertools
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streamfix.core.assemble import might_open_error
from streamfix.core.classify import load_rules
from streamfix.core.models import Category, ErrorEvent
from streamfix.core.pipeline import PipelineConfig, candidate_lines, new_state, run_batch
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


PREFILTER_SAMPLES = [
    ("plain", ["GET /health 200", "ok", "user logged in"] * 20),
    (
        "needles-everywhere",
        [
            f"{w} at line {i}"
            for i, w in enumerate(
                ["ERROR", "Exception", "CRITICAL", "fatal", "Traceback (most", "terror", "excel"] * 8
            )
        ],
    ),
    ("pino-levels", ['{"level":50,"msg":"x"}', '{"level": 60}', '{"level":30}', 'level\\":50'] * 10),
    ("level-split-across-lines", ['{"level":', "50}", "x"] * 15),
    ("length-changing-lowercase", ["İstanbul error", "ok", "İİİ", "fatal İ"] * 10),
    ("embedded-newline", ["first\nerror inside", "ok", "tail\nok"] * 15),
    ("empty-and-short", ["", "e", "er", "err", "EXC"] * 10),
]


@pytest.mark.parametrize("lines", [c[1] for c in PREFILTER_SAMPLES], ids=[c[0] for c in PREFILTER_SAMPLES])
def test_batch_prefilter_equals_the_per_line_one(lines: list[str]) -> None:
    assert candidate_lines(lines) == [i for i, line in enumerate(lines) if might_open_error(line)]


def test_batch_prefilter_on_labelled_logs_and_synthetic_streams() -> None:
    from streamfix.tools.synth import Synth

    corpora = [[line for _, line in Synth(seed=3, error_rate=0.05, streams=2).lines(5000)]]
    data = Path(__file__).resolve().parents[3].parent / "shared" / "data"
    for path in sorted(data.rglob("*.log")) if data.is_dir() else []:
        with path.open(encoding="utf-8", errors="replace") as fh:
            corpora.append([line.rstrip("\n") for _, line in zip(range(5000), fh, strict=False)])
    for lines in corpora:
        assert candidate_lines(lines) == [i for i, line in enumerate(lines) if might_open_error(line)]


@given(st.lists(st.text(alphabet=st.sampled_from(list("eErRxXcCiItTfFaAlL ;:\"\\50İ\n")), max_size=12),
                min_size=32, max_size=80))
def test_batch_prefilter_on_random_lines(lines: list[str]) -> None:
    assert candidate_lines(lines) == [i for i, line in enumerate(lines) if might_open_error(line)]


def test_batch_prefilter_looks_for_what_the_per_line_prefilter_looks_for() -> None:
    """A substring added to might_open_error must be added to the batch scan too."""
    import inspect
    import re

    from streamfix.core.pipeline import PREFILTER_NEEDLES

    source = inspect.getsource(might_open_error)
    assert tuple(re.findall(r'"([^"]+)" in low', source)) == PREFILTER_NEEDLES
    assert source.count(" in low") == len(PREFILTER_NEEDLES) and "_PINO_ERROR" in source
