"""Template grouping of stackless errors and the alias records that keep merged counts together."""

from __future__ import annotations

from typing import Any

import orjson

from streamfix.core.patterns import alias_pattern, apply_event, merge_pattern
from streamfix.core.records import PATTERNS
from streamfix.core.stream import process

NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
         "oscar", "peggy", "rupert", "sybil", "trent", "victor", "walter"]


def line(i: int, message: str, level: str = "error") -> str:
    return orjson.dumps(
        {"message": message, "level": level, "timestamp": f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}Z"}
    ).decode()


def logins(names: list[str], start: int = 0) -> list[str]:
    return [line(start + i, f"login failed for {name}: bad password") for i, name in enumerate(names)]


def test_word_values_end_in_one_pattern_within_a_batch() -> None:
    result = process([*logins(NAMES), line(99, "done", "info")])
    assert len({e.fingerprint for e in result.events}) == 1
    assert result.aliases == []  # nothing was emitted under the early groups, so nothing to move


def test_a_merge_across_batches_is_reported_as_an_alias() -> None:
    first = process([*logins(NAMES[:3]), line(50, "tick", "info")])
    early = {e.fingerprint for e in first.events}
    assert len(early) == 3  # three users, too few to see that the name varies
    second = process([*logins(NAMES[3:], start=3), line(98, "tick", "info")], first.state)
    (final,) = {e.fingerprint for e in second.events}
    # every early pattern other than the survivor (which may be one of them) is aliased to it
    assert {old for old, _ in second.aliases} == early - {final}
    assert {new for _, new in second.aliases} == {final}


def test_stack_errors_are_not_regrouped() -> None:
    tb = [line(0, "Traceback (most recent call last):"), line(1, '  File "/app/x.py", line 3, in f'),
          line(2, "    g()"), line(3, "KeyError: 'a'"), line(4, "ok", "info")]
    from streamfix.core.pipeline import run_batch

    assert [e.fingerprint for e in process(tb).events] == [e.fingerprint for e in run_batch(tb).events]


def test_state_round_trips_through_json() -> None:
    first = process(logins(NAMES[:5]))
    again = orjson.loads(orjson.dumps(first.state))
    assert process(logins(NAMES[5:], 5), again).state == process(logins(NAMES[5:], 5), first.state).state


def ev(fp: str, offset: int, ts: float) -> dict[str, Any]:
    return {"fingerprint": fp, "error_type": "LoggedError", "message": "m", "category": "auth_error",
            "severity": "HIGH", "fixable": False, "detected_at": ts, "timestamp": ts, "source_partition": 0,
            "source_offset": offset, "event_index": 0, "occurrences": 1, "service": "api"}


def test_alias_then_merge_moves_counts_once() -> None:
    old = apply_event(None, ev("fp1:old", 1, 100.0), window_seconds=60, retention_seconds=3600)
    assert old is not None
    old = apply_event(old, ev("fp1:old", 2, 130.0), window_seconds=60, retention_seconds=3600)
    new = apply_event(None, ev("fp1:new", 3, 200.0), window_seconds=60, retention_seconds=3600)
    assert old is not None and new is not None
    marked = alias_pattern(old, "fp1:old", "fp1:new")
    assert marked is not None and marked.alias_of == "fp1:new"
    assert alias_pattern(marked, "fp1:old", "fp1:new") is None  # a repeated alias is a no-op
    merged = merge_pattern(new, old, "fp1:new")
    assert merged is not None
    assert (merged.count, merged.first_seen, merged.last_seen) == (3, 100.0, 200.0)
    assert merged.windows == {"60": 1, "120": 1, "180": 1}
    assert merge_pattern(merged, old, "fp1:new") is None  # a redelivered merge is a no-op


def test_alias_of_an_unseen_pattern_leaves_a_forwarding_stub() -> None:
    stub = alias_pattern(None, "fp1:old", "fp1:new")
    assert stub is not None and stub.stub
    assert PATTERNS.to_obj(stub) == {
        "fingerprint": "fp1:old",
        "alias_of": "fp1:new",
        "count": 0,
        "status": "merged",
    }


def test_forwarded_events_have_their_own_marker_namespace() -> None:
    p = apply_event(None, ev("fp1:new", 10, 1.0), window_seconds=60, retention_seconds=3600)
    forwarded = {**ev("fp1:new", 5, 1.0), "via": "fp1:old"}  # older offset, but via another path
    p2 = apply_event(p, forwarded, window_seconds=60, retention_seconds=3600)
    assert p2 is not None and p2.count == 2
