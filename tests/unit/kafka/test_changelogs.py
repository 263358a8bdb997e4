"""Table changelog schemas: the files in docs/ are current, and what the core writes validates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import msgspec
import pytest
from referencing import Registry, Resource

from streamfix.core.dedupe import DedupeWindow, remember
from streamfix.core.patterns import alias_pattern, apply_event, apply_window_count, merge_pattern
from streamfix.core.records import FIX_STATES, PATTERNS, FixState, Pattern
from streamfix.core.stream import process
from streamfix.kafka.changelogs import changelog_schemas
from streamfix.kafka.wire import ErrorEventRecord, FixResult, json_schemas

FOLDER = Path(__file__).resolve().parents[3] / "docs" / "schemas" / "changelog"
REGISTRY = Registry().with_resource(
    "https://streamfix.dev/schemas/FixResult.v1.json",
    Resource.from_contents(json_schemas()["FixResult.v1.json"]),
)


def check(name: str, instance: Any) -> None:
    """Validate ``instance`` as the table's codec writes it to the changelog."""
    if isinstance(instance, Pattern):
        instance = PATTERNS.to_obj(instance)
    elif isinstance(instance, FixState):
        instance = FIX_STATES.to_obj(instance)
    schema = changelog_schemas()[name]
    jsonschema.Draft202012Validator(schema, registry=REGISTRY).validate(json.loads(json.dumps(instance)))


def test_files_are_current() -> None:
    on_disk = {p.name: json.loads(p.read_text()) for p in FOLDER.glob("*.json")}
    assert on_disk == json.loads(json.dumps(changelog_schemas()))


def event(n: int = 0) -> dict[str, Any]:
    return ErrorEventRecord(
        fingerprint="fp1:a",
        error_type="KeyError",
        message="'k'",
        category="internal_error",
        severity="HIGH",
        fixable=True,
        frames=[{"file": "a.py", "line": 1, "function": "f"}],
        detected_at=1.0,
        published_at=60.0 + n,
        source_partition=1,
        source_offset=n,
        service="api",
    ).model_dump()


def test_pattern_values_validate() -> None:
    pattern = apply_event(None, event(), window_seconds=60, retention_seconds=3600)
    pattern = apply_event(pattern, event(1), window_seconds=60, retention_seconds=3600)
    assert pattern is not None
    check("patterns.value.json", pattern)
    check("patterns.value.json", alias_pattern(pattern, "fp1:a", "fp1:b"))
    check("patterns.value.json", alias_pattern(None, "fp1:a", "fp1:b"))
    merged = merge_pattern(None, msgspec.structs.replace(pattern, fingerprint="fp1:a"), "fp1:b")
    check("patterns.value.json", merged)
    check("patterns.key.json", "fp1:a")


def test_count_values_and_keys_validate() -> None:
    check("counts.value.json", apply_window_count(None, event()))
    check("counts.key.json", ["fp1:a", [60.0, 119.9]])
    with pytest.raises(jsonschema.ValidationError):
        check("counts.key.json", "fp1:a")


def test_assembly_values_validate() -> None:
    result = process(["Traceback (most recent call last):"], None, now=1.0)
    value = {
        "state": result.state,
        "partition": 1,
        "offset": 5,
        "sent_at": 1.0,
        "labels": {"service": "api"},
        "source": "replay",
        "batch_ids": remember(None, "b-1", 1.0, DedupeWindow()),
    }
    check("assembly.value.json", value)
    check("assembly.value.json", {**value, "batch_ids": None})
    check("assembly.key.json", "replay:api")


def test_fix_values_validate() -> None:
    result = FixResult(
        fix_id="fx",
        request_id="fp1:a#1",
        fingerprint="fp1:a",
        status="pr_open",
        created_at=1.0,
        updated_at=2.0,
    )
    check("fixes.value.json", {"fx": result.model_dump(mode="json")})
    check(
        "fix_state.value.json",
        {"attempt": 1, "status": "pending", "updated_at": 1.0, "request_id": "fp1:a#1"},
    )
    check(
        "fix_state.value.json",
        {"attempt": 1, "status": "pr_open", "updated_at": 2.0, "request_id": "fp1:a#1", "fix_id": "fx"},
    )
    with pytest.raises(jsonschema.ValidationError):
        check("fixes.value.json", {"fx": {"status": "pr_open"}})
