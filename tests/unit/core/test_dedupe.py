"""Batch-id dedupe: table-driven cases of what is remembered and for how long."""

from __future__ import annotations

import pytest

from streamfix.core.dedupe import DedupeWindow, digest, remember, seen

W = DedupeWindow(seconds=600.0, max_ids=4)


def apply(ids: list[tuple[str, float]], window: DedupeWindow = W) -> list[list[object]]:
    recent: list[list[object]] = []
    for batch_id, sent_at in ids:
        recent = remember(recent, batch_id, sent_at, window)
    return recent


@pytest.mark.parametrize(
    ("applied", "probe", "expected"),
    [
        pytest.param([], "a", False, id="nothing-remembered"),
        pytest.param([("a", 100.0)], "a", True, id="same-id"),
        pytest.param([("a", 100.0)], "b", False, id="other-id"),
        pytest.param([("a", 100.0), ("b", 400.0)], "a", True, id="minutes-later-inside-window"),
        pytest.param([("a", 100.0), ("b", 701.0)], "a", False, id="outside-window-forgotten"),
        pytest.param([("a", 100.0), ("b", 700.0)], "a", True, id="window-edge-kept"),
        pytest.param([("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0)], "a", True, id="at-capacity"),
        pytest.param(
            [("a", 1.0), ("b", 2.0), ("c", 3.0), ("d", 4.0), ("e", 5.0)], "a", False, id="over-capacity"
        ),
        pytest.param([("a" * 10_000, 1.0)], "a" * 10_000, True, id="long-id"),
        pytest.param([("x\udcff", 1.0)], "x\udcff", True, id="lone-surrogate"),
        pytest.param([("a", 500.0), ("b", 100.0)], "a", True, id="older-sent-at-arrives-late"),
    ],
)
def test_seen(applied: list[tuple[str, float]], probe: str, expected: bool) -> None:
    assert seen(apply(applied), probe) is expected


def test_memory_is_bounded() -> None:
    recent = apply([(f"batch-{n}" * 20, float(n)) for n in range(10_000)])
    assert len(recent) == W.max_ids
    assert all(len(str(e[0])) == 16 for e in recent)


def test_old_state_without_ids_and_garbage_entries() -> None:
    assert seen(None, "a") is False
    assert seen([[]], "a") is False
    assert remember([["only-digest"]], "a", 1.0, W) == [[digest("a"), 1.0]]


def test_max_ids_zero_remembers_nothing() -> None:
    assert remember(None, "a", 1.0, DedupeWindow(seconds=60, max_ids=0)) == []
