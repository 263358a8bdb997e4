"""Lag and stall detection over sequences of observations (streamfix.core.liveness)."""

from __future__ import annotations

import pytest

from streamfix.core.liveness import OrderGuard, ProgressTracker

T = ("raw", 0)
U = ("raw", 1)

# Each case: a sequence of (now, end offsets, committed offsets) and, after the last observation, the
# expected (lag, idle seconds, stalled) of partition T.
CASES = [
    ("caught up is never stalled", [(0, {T: 10}, {T: 10}), (500, {T: 10}, {T: 10})], (0, 0.0, False)),
    (
        "lag that keeps moving is not stalled",
        [(0, {T: 100}, {T: 10}), (50, {T: 200}, {T: 90}), (100, {T: 300}, {T: 170})],
        (130, 0.0, False),
    ),
    (
        "lag without movement for the limit is stalled",
        [(0, {T: 100}, {T: 10}), (60, {T: 100}, {T: 10})],
        (90, 60.0, True),
    ),
    (
        "just under the limit is not stalled",
        [(0, {T: 100}, {T: 10}), (59.9, {T: 100}, {T: 10})],
        (90, 59.9, False),
    ),
    (
        "nothing committed yet counts from offset 0",
        [(0, {T: 5}, {}), (61, {T: 5}, {T: None})],
        (5, 61.0, True),
    ),
    (
        "new records behind a fixed committed offset do not reset the clock",
        [(0, {T: 100}, {T: 10}), (30, {T: 150}, {T: 10}), (60, {T: 200}, {T: 10})],
        (190, 60.0, True),
    ),
    (
        "movement resets the clock",
        [(0, {T: 100}, {T: 10}), (59, {T: 100}, {T: 10}), (60, {T: 100}, {T: 11}), (110, {T: 100}, {T: 11})],
        (89, 50.0, False),
    ),
    (
        "catching up resets the clock",
        [
            (0, {T: 100}, {T: 10}),
            (30, {T: 100}, {T: 100}),
            (35, {T: 120}, {T: 100}),
            (80, {T: 120}, {T: 100}),
        ],
        (20, 45.0, False),
    ),
    (
        "a partition that leaves and comes back starts afresh",
        [(0, {T: 100}, {T: 10}), (50, {U: 5}, {U: 5}), (70, {T: 100}, {T: 10})],
        (90, 0.0, False),
    ),
]


@pytest.mark.parametrize(("name", "observations", "expected"), CASES, ids=[c[0] for c in CASES])
def test_stall_detection(name: str, observations: list[tuple[float, dict[tuple[str, int], int],
                                                                dict[tuple[str, int], int | None]]],
                         expected: tuple[int, float, bool]) -> None:
    tracker = ProgressTracker(stall_seconds=60.0)
    result = []
    for now, ends, committed in observations:
        result = tracker.observe(now, ends, committed)
    (got,) = [p for p in result if (p.topic, p.partition) == T]
    assert (got.lag, round(got.idle_seconds, 3), got.stalled) == expected


def test_zero_disables_stall_detection_but_still_reports_lag() -> None:
    tracker = ProgressTracker(stall_seconds=0)
    tracker.observe(0, {T: 100}, {T: 10})
    (got,) = tracker.observe(10_000, {T: 100}, {T: 10})
    assert (got.lag, got.stalled) == (90, False)


def test_partitions_are_reported_independently_and_in_order() -> None:
    tracker = ProgressTracker(stall_seconds=10)
    tracker.observe(0, {U: 50, T: 10}, {U: 0, T: 10})
    got = tracker.observe(20, {U: 50, T: 10}, {U: 0, T: 10})
    assert [(p.partition, p.lag, p.stalled) for p in got] == [(0, 0, False), (1, 50, True)]


def test_forget_restarts_one_partitions_clock() -> None:
    tracker = ProgressTracker(stall_seconds=10)
    tracker.observe(0, {T: 10, U: 10}, {T: 0, U: 0})
    tracker.forget(T)
    got = tracker.observe(10, {T: 10, U: 10}, {T: 0, U: 0})
    assert [(p.partition, p.stalled) for p in got] == [(0, False), (1, True)]


# OrderGuard: offsets delivered in turn, with start_at(n) written as ("start", n); the admitted ones and
# what is blocked afterwards.
GUARD_CASES = [
    ("in order", [5, 6, 7], [5, 6, 7], {}),
    ("first sight is admitted when no start is known", [40, 41], [40, 41], {}),
    ("a record read again is admitted", [5, 6, 7, 5, 6, 7, 8], [5, 6, 7, 5, 6, 7, 8], {}),
    ("a jump is refused and the partition waits", [5, 6, 9, 10], [5, 6], {T: (7, 9)}),
    ("the expected record unblocks", [5, 6, 9, 10, 7, 8, 9, 10], [5, 6, 7, 8, 9, 10], {}),
    ("start_at expects the committed offset", [("start", 20), 21], [], {T: (20, 21)}),
    ("start_at then in order", [("start", 20), 20, 21], [20, 21], {}),
    ("reading again from before the start is fine", [("start", 20), 15, 16], [15, 16], {}),
]


@pytest.mark.parametrize(
    ("name", "steps", "admitted", "blocked"), GUARD_CASES, ids=[c[0] for c in GUARD_CASES]
)
def test_order_guard(
    name: str,
    steps: list[int | tuple[str, int]],
    admitted: list[int],
    blocked: dict[tuple[str, int], tuple[int, int]],
) -> None:
    guard = OrderGuard()
    got = []
    for step in steps:
        if isinstance(step, tuple):
            guard.start_at(T, step[1])
        elif guard.admit(T, step):
            got.append(step)
    assert got == admitted
    assert guard.blocked() == blocked


def test_order_guard_partitions_are_independent_and_forgotten() -> None:
    guard = OrderGuard()
    assert guard.admit(T, 1) and guard.admit(U, 100)
    assert not guard.admit(T, 3)
    assert guard.admit(U, 101)
    assert guard.blocked() == {T: (2, 3)}
    guard.forget(T)
    assert not guard.known(T) and guard.known(U) and guard.blocked() == {}
    guard.forget_all()
    assert not guard.known(U)
