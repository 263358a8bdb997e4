"""Typed records keep the JSON the tables (and their changelog topics) have always held, byte for byte."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streamfix.core.patterns import alias_pattern, apply_event
from streamfix.core.records import FIX_STATES, PATTERNS, FixState, Pattern, RecordError

# Written by the untyped implementation (dicts folded by the same apply_event/alias_pattern calls).
BEFORE = [
    b'{"fingerprint":"fp1:a","error_type":"KeyError","message":"\'x\' \xc3\xa9","title":"KeyError in f",'
    b'"category":"internal_error","severity":"HIGH","fixable":true,"suggested_fix":"check","file":"/app/x.py",'
    b'"line":3,"function":"f","frames":[{"file":"/app/x.py","line":3,"function":"f","in_app":true}],'
    b'"traceback":"Traceback...\\nKeyError: \'x\'","incomplete":true,"first_seen":1000.5,"last_seen":1000.5,'
    b'"count":2,"services":["api"],"auto_fix":false,"status":"active","windows":{"960":2},"applied":{"0":[1,0]}}',
    b'{"fingerprint":"fp1:a","error_type":"KeyError","message":"\'x\' \xc3\xa9","title":"KeyError in f",'
    b'"category":"internal_error","severity":"HIGH","fixable":true,"suggested_fix":"check","file":"/app/x.py",'
    b'"line":3,"function":"f","frames":[{"file":"/app/x.py","line":3,"function":"f","in_app":true}],'
    b'"traceback":"Traceback...\\nKeyError: \'x\'","incomplete":false,"first_seen":1000.5,"last_seen":1100.25,'  # noqa: E501
    b'"count":4,"services":["api","w"],"auto_fix":false,"status":"active","windows":{"960":2,"1080":2},'
    b'"applied":{"0":[2,0]}}',
    b'{"fingerprint":"fp1:a","error_type":"KeyError","message":"\'x\' \xc3\xa9","title":"KeyError in f",'
    b'"category":"internal_error","severity":"HIGH","fixable":true,"suggested_fix":"check","file":"/app/x.py",'
    b'"line":3,"function":"f","frames":[{"file":"/app/x.py","line":3,"function":"f","in_app":true}],'
    b'"traceback":"Traceback...\\nKeyError: \'x\'","incomplete":false,"first_seen":1000.5,"last_seen":1100.25,'  # noqa: E501
    b'"count":4,"services":["api","w"],"auto_fix":false,"status":"merged","windows":{"960":2,"1080":2},'
    b'"applied":{"0":[2,0]},"alias_of":"fp1:b"}',
    b'{"fingerprint":"fp1:z","alias_of":"fp1:b","count":0,"status":"merged"}',
]


def ev(offset: int, **kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "fingerprint": "fp1:a",
        "error_type": "KeyError",
        "message": "'x' é",
        "category": "internal_error",
        "severity": "HIGH",
        "fixable": True,
        "detected_at": 1000.5,
        "timestamp": 1000.5,
        "source_partition": 0,
        "source_offset": offset,
        "event_index": 0,
        "occurrences": 2,
        "service": "api",
        "frames": [{"file": "/app/x.py", "line": 3, "function": "f", "in_app": True}],
        "traceback": "Traceback...\nKeyError: 'x'",
        "title": "KeyError in f",
        "suggested_fix": "check",
        "file": "/app/x.py",
        "line": 3,
        "function": "f",
        "incomplete": True,
    }
    base.update(kw)
    return base


def folded() -> list[Pattern]:
    first = apply_event(None, ev(1), window_seconds=60, retention_seconds=3600)
    assert first is not None
    second = apply_event(first, ev(2, incomplete=False, service="w", timestamp=1100.25), window_seconds=60,
                         retention_seconds=3600)
    assert second is not None
    aliased, stub = alias_pattern(second, "fp1:a", "fp1:b"), alias_pattern(None, "fp1:z", "fp1:b")
    assert aliased is not None and stub is not None
    return [first, second, aliased, stub]


@pytest.mark.parametrize("index", range(len(BEFORE)), ids=["new", "folded", "aliased", "stub"])
def test_encoding_is_byte_compatible(index: int) -> None:
    pattern = folded()[index]
    assert PATTERNS.dumps(pattern) == BEFORE[index]
    assert orjson.dumps(PATTERNS.to_obj(pattern)) == BEFORE[index]  # what the Faust table's codec writes
    assert PATTERNS.decode(BEFORE[index]) == pattern
    assert PATTERNS.decode(orjson.loads(BEFORE[index])) == pattern


def test_old_values_decode_with_defaults_and_bad_ones_are_refused() -> None:
    assert PATTERNS.decode({"fingerprint": "fp1:x", "count": 3}).category == "internal_error"
    with pytest.raises(RecordError, match="Pattern"):
        PATTERNS.decode({"count": 3})
    with pytest.raises(RecordError):
        PATTERNS.decode(b"{not json")


FIX_STATE_CASES = [
    ("requested", {"attempt": 1, "status": "pending", "updated_at": 5.0, "request_id": "fp#1"}),
    (
        "result-after-request",
        {"attempt": 1, "status": "pr_open", "updated_at": 6.0, "request_id": "fp#1", "fix_id": "f1"},
    ),
    (
        "result-without-request",
        {"status": "pr_open", "updated_at": 6.0, "request_id": "fp#1", "fix_id": "f1"},
    ),
]


@pytest.mark.parametrize("obj", [c[1] for c in FIX_STATE_CASES], ids=[c[0] for c in FIX_STATE_CASES])
def test_fix_state_round_trip_keeps_keys_and_order(obj: dict[str, Any]) -> None:
    state = FIX_STATES.decode(obj)
    assert isinstance(state, FixState)
    assert FIX_STATES.dumps(state) == orjson.dumps(obj)
