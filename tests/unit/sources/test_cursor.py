"""Pure cursor, dedupe, timestamp and backoff logic."""

from __future__ import annotations

import pytest

from streamfix.core.cursor import Backoff, Cursor, Deduper, format_ts_ns, line_hash, parse_ts_ns

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("2026-01-01T00:00:00.000000001Z", T0 + 1, id="nanoseconds"),
        pytest.param("2026-01-01T00:00:00.123Z", T0 + 123_000_000, id="milliseconds"),
        pytest.param("2026-01-01T00:00:00Z", T0, id="no-fraction"),
        pytest.param("2026-01-01T01:00:00.5+01:00", T0 + 500_000_000, id="offset"),
        pytest.param("2025-12-31T19:00:00-05:00", T0, id="negative-offset"),
        pytest.param("2026-01-01T00:00:00.123456789123Z", T0 + 123_456_789, id="extra-digits-cut"),
        pytest.param(str(T0 + 42), T0 + 42, id="ns-epoch"),
    ],
)
def test_parse_ts_ns(text: str, expected: int) -> None:
    assert parse_ts_ns(text) == expected
    assert parse_ts_ns(text) == expected  # second call goes through the cache


def test_parse_ts_ns_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="Invalid isoformat"):
        parse_ts_ns("yesterday")


def test_format_round_trip() -> None:
    assert format_ts_ns(T0 + 7) == "2026-01-01T00:00:00.000000007Z"
    assert parse_ts_ns(format_ts_ns(T0 + 987_654_321)) == T0 + 987_654_321


def test_deduper_drops_repeats_at_the_cursor_timestamp_and_older_lines() -> None:
    d = Deduper()
    assert d.accept(10, "a")
    assert d.accept(10, "b")  # same timestamp, other line
    assert not d.accept(10, "a")  # exact repeat
    assert not d.accept(9, "z")  # older than the cursor
    assert d.accept(11, "a")
    assert d.cursor.ts_ns == 11
    assert d.cursor.hashes == {"a"}
    assert (d.duplicates, d.late) == (1, 1)


def test_deduper_resumes_from_a_cursor() -> None:
    first = Deduper()
    for ts, h in [(1, "x"), (2, "y"), (2, "z")]:
        first.accept(ts, h, f"t{ts}")
    resumed = Deduper(Cursor.from_json(first.cursor.to_json()))
    assert resumed.cursor.ts_text == "t2"
    assert [resumed.accept(ts, h) for ts, h in [(2, "y"), (2, "z"), (2, "w"), (3, "y")]] == [
        False,
        False,
        True,
        True,
    ]


def test_cursor_copy_is_independent() -> None:
    c = Cursor(5, "t", {"a"})
    c2 = c.copy()
    c2.hashes.add("b")
    assert c.hashes == {"a"}


def test_line_hash_separates_parts() -> None:
    assert line_hash("ab", "c") != line_hash("a", "bc")
    assert line_hash("x") == line_hash("x")


def test_backoff_grows_caps_and_resets() -> None:
    b = Backoff(initial=1, maximum=5)
    assert [b.next_delay() for _ in range(5)] == [1, 2, 4, 5, 5]
    b.reset()
    assert b.next_delay() == 1


def test_cursor_offsets_round_trip_and_advance() -> None:
    c = Cursor(10, "t10", {"a"}, {0: 41, 3: 7})
    back = Cursor.from_json(c.to_json())
    assert back == c
    back.advance(10, "t10", "b")
    back.advance(9, "t9", "z")  # older: ignored
    assert (back.ts_ns, back.hashes) == (10, {"a", "b"})
    back.advance(11, "t11", "c")
    assert (back.ts_ns, back.ts_text, back.hashes) == (11, "t11", {"c"})
    assert Cursor.from_json(b'{"ts_ns": 5}') == Cursor(5)


def test_deduper_fills_a_hole_and_skips_lines_published_after_it() -> None:
    # Lines 11 and 13 reached the topic before a hard kill, line 12 did not (a hole).
    d = Deduper(Cursor(10, "t10", {"a"}), skip={(11, "b"), (13, "d")})
    got = [d.accept(ts, h, f"t{ts}") for ts, h in [(10, "a"), (11, "b"), (12, "c"), (13, "d"), (14, "e")]]
    assert got == [False, False, True, False, True]
    assert d.skip == set()
    assert (d.cursor.ts_ns, d.cursor.ts_text) == (14, "t14")
