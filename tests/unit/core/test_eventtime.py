"""The quiet-flush clock follows event time: a source outage does not cut a traceback in two."""

from __future__ import annotations

import json

import pytest

from streamfix.core.eventtime import FLUSH_ALL, batch_clock
from streamfix.core.stream import process


@pytest.mark.parametrize(
    ("timestamps", "sent_at", "tick", "expected"),
    [
        pytest.param([1_000_000_000, 3_000_000_000, 2_000_000_000], 99.0, False, 3.0, id="newest-line"),
        pytest.param(None, 99.0, False, 99.0, id="no-timestamps-publish-time"),
        pytest.param([], 99.0, False, 99.0, id="empty-timestamps"),
        pytest.param([0, 0], 99.0, False, 99.0, id="zero-timestamps"),
        pytest.param(None, 99.0, True, FLUSH_ALL, id="tick-flushes-all"),
    ],
)
def test_batch_clock(timestamps: list[int] | None, sent_at: float, tick: bool, expected: float) -> None:
    assert batch_clock(timestamps, sent_at, tick=tick) == expected


def line(replica: str, message: str, ts: float) -> tuple[str, int]:
    return json.dumps({"message": message, "replica": replica, "level": "error"}), int(ts * 1e9)


def run(batches: list[tuple[list[tuple[str, int]], float]], *, event_time: bool) -> list[str]:
    """Incomplete flags of the events of a stream fed batch by batch, with either clock."""
    state = None
    flags: list[str] = []
    for pairs, sent_at in batches:
        lines = [text for text, _ in pairs]
        stamps = [ts for _, ts in pairs]
        now = batch_clock(stamps, sent_at) if event_time else sent_at
        result = process(lines, state, now=now, quiet_seconds=5.0)
        state = result.state
        flags += ["incomplete" if e.incomplete else "whole" for e in result.events]
    return flags


# Replica a is inside a traceback when the watcher dies; it comes back 40 s later (publish time) and first
# sends replica b's lines, logged at the same moment, then the rest of a's traceback.
OUTAGE = [
    ([line("a", "Traceback (most recent call last):", 100.0),
      line("a", '  File "/app/jobs.py", line 3, in run', 100.001)], 100.2),
    ([line("b", "request served", 100.002), line("b", "request served", 100.003)], 140.0),
    ([line("a", "    sync()", 100.004), line("a", "KeyError: 'account'", 100.005),
      line("a", "next request", 100.006)], 140.3),
]


def test_publish_time_cuts_the_traceback_in_two() -> None:  # what the event-time clock fixes
    # the head flushed as incomplete, the tail read as events of its own
    assert run(OUTAGE, event_time=False) == ["incomplete", "whole", "whole"]


def test_event_time_keeps_the_traceback_whole() -> None:
    assert run(OUTAGE, event_time=True) == ["whole"]


def test_a_stream_that_really_goes_quiet_is_still_flushed_by_event_time() -> None:
    quiet = [OUTAGE[0], ([line("b", "request served", 106.0)], 106.1)]
    assert run(quiet, event_time=True) == ["incomplete"]
