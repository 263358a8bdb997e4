"""Batch-id dedupe: table-driven cases of what is remembered and for how long."""

from __future__ import annotations

from collections import Counter
from itertools import pairwise

import pytest

from streamfix.core.dedupe import DedupeWindow, Window, digest, remember, seen

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


def _reference_remember(recent: list[list[object]] | None, batch_id: str, sent_at: float,
                        window: DedupeWindow) -> list[list[object]]:
    """The rule, entry by entry (what remember returned before it kept a Window)."""
    kept: list[list[object]] = [[str(e[0]), float(e[1])] for e in (recent or ()) if len(e) >= 2]  # type: ignore[arg-type]
    kept.append([digest(batch_id), float(sent_at)])
    newest = max(float(e[1]) for e in kept)  # type: ignore[arg-type]
    kept = [e for e in kept if newest - float(e[1]) <= window.seconds]  # type: ignore[arg-type]
    return kept[-window.max_ids:] if window.max_ids > 0 else []


@pytest.mark.parametrize("seconds", [0.0, 1.0, 60.0, 900.0])
@pytest.mark.parametrize("max_ids", [1, 2, 5, 256])
def test_fast_path_matches_the_rule(seconds: float, max_ids: int) -> None:
    """Seeded runs with late, equal and jumping sent_at values, repeated ids, and changelog round trips
    (a Window read back is a plain list): every answer and every window equal the entry-by-entry rule."""
    import random

    import orjson

    rng = random.Random(f"{seconds}-{max_ids}")
    window = DedupeWindow(seconds=seconds, max_ids=max_ids)
    ours: list[list[object]] | None = None
    rule: list[list[object]] | None = None
    t = 1_000.0
    for _ in range(400):
        t += rng.choice([0.0, 0.25, 1.0, 30.0, -5.0, 1_000.0])
        batch_id = f"batch-{rng.randint(0, 300)}"
        if ours is not None and rng.random() < 0.03:
            ours = orjson.loads(orjson.dumps(ours))
        assert seen(ours, batch_id) is seen(rule, batch_id)
        ours, rule = remember(ours, batch_id, t, window), _reference_remember(rule, batch_id, t, window)
        assert ours == rule
        if isinstance(ours, Window):
            assert ours.ids == dict(Counter(str(e[0]) for e in ours))
            assert all(float(a[1]) <= float(b[1]) for a, b in pairwise(ours))
