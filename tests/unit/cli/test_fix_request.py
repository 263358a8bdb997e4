"""``streamfix fix --from-file``: extract events folded into one fix request (through the Pattern record)."""

from __future__ import annotations

import io

import click
import orjson
import pytest

from streamfix.cli.fix import request_from_events


def event(fp: str, ts: str, service: str) -> bytes:
    return orjson.dumps({
        "fingerprint": fp, "error_type": "KeyError", "message": "'sku'", "category": "validation_error",
        "severity": "HIGH", "suggested_fix": "check the key", "file": "/app/cart.py", "line": 9,
        "function": "total", "timestamp": ts, "service": service,
        "frames": [{"file": "/app/cart.py", "line": 9, "function": "total", "in_app": True, "code": "c[k]"}],
    })


def test_events_of_one_pattern_become_one_request() -> None:
    lines = [
        event("fp1:abc", "2025-11-28T10:00:00Z", "api"),
        event("fp1:zzz", "2025-11-28T10:00:01Z", "x"),
        event("fp1:abc", "2025-11-28T10:05:00Z", "worker"),
        event("fp1:abc", "2025-11-28T10:01:00Z", "api"),
    ]
    request = request_from_events(
        "fp1:a", io.StringIO(b"\n".join(lines).decode()), create_pr=False, dry_run=True
    )
    assert (request.request_id, request.trigger, request.occurrences) == ("fp1:abc#1", "cli", 3)
    assert (request.first_seen, request.last_seen) == (1764324000.0, 1764324300.0)
    assert request.services == ["api", "worker"] and (request.create_pr, request.dry_run) == (False, True)
    assert [(f.file, f.line, f.function) for f in request.frames] == [("/app/cart.py", 9, "total")]
    assert request.sample_traceback.splitlines() == [
        "Traceback (most recent call last):", '  File "/app/cart.py", line 9, in total', "    c[k]",
        "KeyError: 'sku'"]


def test_an_ambiguous_prefix_is_refused() -> None:
    lines = [event("fp1:abc", "2025-11-28T10:00:00Z", "api"), event("fp1:abd", "2025-11-28T10:00:01Z", "x")]
    with pytest.raises(click.UsageError, match="matches 2 patterns"):
        request_from_events("fp1:ab", io.StringIO(b"\n".join(lines).decode()), create_pr=True, dry_run=False)
