"""Pattern aggregation: counts, samples, windows, and idempotence under redelivery."""

from __future__ import annotations

from typing import Any

import pytest

from streamfix.core.patterns import Pattern, apply_event, count_since, is_duplicate, public_view, window_start

W, RET = 60, 3600


def ev(offset: int, index: int = 0, *, partition: int = 0, ts: float = 1000.0, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "fingerprint": "fp1:a",
        "error_type": "KeyError",
        "message": "'x'",
        "category": "internal_error",
        "severity": "HIGH",
        "fixable": True,
        "detected_at": ts,
        "timestamp": ts,
        "source_partition": partition,
        "source_offset": offset,
        "event_index": index,
        "occurrences": 1,
        "service": "api",
    }
    base.update(kw)
    return base


def fold(events: list[dict[str, Any]]) -> Pattern | None:
    pattern: Pattern | None = None
    for event in events:
        new = apply_event(pattern, event, window_seconds=W, retention_seconds=RET)
        pattern = new if new is not None else pattern
    return pattern


def test_counts_and_bounds() -> None:
    p = fold([ev(1, ts=1000), ev(2, ts=900, service="worker"), ev(3, ts=1100, occurrences=3)])
    assert p is not None
    assert (p.count, p.first_seen, p.last_seen) == (5, 900, 1100)
    assert p.services == ["api", "worker"]


REDELIVERY = [
    ("same-event-twice", [ev(1), ev(1)], 1),
    ("older-offset-after-newer", [ev(1), ev(2), ev(1)], 2),
    ("same-offset-later-index", [ev(1, 0), ev(1, 1), ev(1, 0), ev(1, 1)], 2),
    ("other-partition-is-independent", [ev(5, partition=0), ev(1, partition=1)], 2),
    ("replay-of-whole-run", [ev(i) for i in range(10)] + [ev(i) for i in range(10)], 10),
    ("no-marker-always-counts", [ev(-1), ev(-1)], 2),
]


@pytest.mark.parametrize(("events", "expected"), [c[1:] for c in REDELIVERY], ids=[c[0] for c in REDELIVERY])
def test_redelivery_is_counted_once(events: list[dict[str, Any]], expected: int) -> None:
    p = fold(events)
    assert p is not None
    assert p.count == expected


def test_duplicate_detection_is_explicit() -> None:
    p = fold([ev(4, 2)])
    assert is_duplicate(p, ev(4, 2)) and is_duplicate(p, ev(3, 9)) and not is_duplicate(p, ev(4, 3))


def test_windows_and_retention() -> None:
    p = fold([ev(1, ts=0), ev(2, ts=59), ev(3, ts=60), ev(4, ts=3700)])
    assert p is not None
    assert p.windows == {"3660": 1}  # older windows fell out of the 1 h retention
    assert count_since(p, 3600, W) == 1
    assert window_start(119.9, 60) == 60


def test_complete_sample_replaces_incomplete() -> None:
    p = fold([ev(1, incomplete=True, traceback="cut"), ev(2, incomplete=False, traceback="whole")])
    assert p is not None
    assert (p.traceback, p.incomplete) == ("whole", False)
    assert "applied" not in public_view(p) and "windows" not in public_view(p)
