"""Records that break one rule of a published JSON Schema each, for every rule of every schema."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamfix.kafka.wire import (
    AlertRecord,
    DeadLetter,
    ErrorEventRecord,
    FixRequest,
    FixResult,
    RawBatch,
    WireRecord,
)

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "docs" / "schemas"

VALID: dict[type[WireRecord], WireRecord] = {
    RawBatch: RawBatch(batch_id="b-1", source="test", stream="test:s", lines=["hello"], sent_at=1.5),
    ErrorEventRecord: ErrorEventRecord(
        fingerprint="fp1:x",
        error_type="KeyError",
        message="'k'",
        category="internal_error",
        severity="HIGH",
        fixable=True,
        frames=[{"file": "app/x.py", "line": 3, "function": "f"}],
        detected_at=2.0,
    ),
    FixRequest: FixRequest(
        request_id="fp1:x#1",
        fingerprint="fp1:x",
        category="internal_error",
        severity="HIGH",
        error_type="KeyError",
        message="'k'",
        requested_at=3.0,
    ),
    FixResult: FixResult(
        fix_id="fx",
        request_id="fp1:x#1",
        fingerprint="fp1:x",
        status="pr_open",
        created_at=1.0,
        updated_at=2.0,
    ),
    DeadLetter: DeadLetter(
        reason="invalid_json",
        source_topic="t",
        partition=0,
        offset=1,
        value_b64="",
        value_size=0,
        received_at=4.0,
    ),
    AlertRecord: AlertRecord(
        alert_id="fp1:x:new_pattern:1", fingerprint="fp1:x", kind="new_pattern", created_at=5.0
    ),
}

_WRONG_TYPE: dict[str, list[Any]] = {
    "string": [3, True, ["x"]],
    "integer": ["3", 1.5, True],
    "number": ["1.5", True, [1]],
    "boolean": ["yes", 1, "true"],
    "array": ["x", {"a": 1}],
    "object": [[], "x"],
}


@dataclass(frozen=True)
class Violation:
    record: type[WireRecord]
    field: str
    rule: str
    value: dict[str, Any]

    @property
    def name(self) -> str:
        return f"{self.record.__name__}.{self.field}:{self.rule}"


def _schema(record: type[WireRecord]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((SCHEMA_DIR / f"{record.__name__}.v1.json").read_text())
    return data


def _non_null(prop: dict[str, Any]) -> dict[str, Any]:
    options = [p for p in prop.get("anyOf", []) if p.get("type") != "null"]
    return options[0] if len(options) == 1 else prop


def _breaking(prop: dict[str, Any], root: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """(rule, value) pairs: each value breaks exactly one rule of ``prop``."""
    prop = _non_null(prop)
    if "$ref" in prop:
        target = root["$defs"][prop["$ref"].removeprefix("#/$defs/")]
        for name, sub in target["properties"].items():
            for rule, value in _breaking(sub, root):
                yield f"{name}.{rule}", {"file": "a.py", name: value}
        for name in target.get("required", []):
            yield f"{name}.required", {}
        yield "type", "not an object"
        return
    kind = prop.get("type")
    if "enum" in prop:
        yield "enum", "not-a-member"
    for n, wrong in enumerate(_WRONG_TYPE.get(kind, [])):
        yield f"type{n}", wrong
    if "minLength" in prop:
        yield "minLength", "x" * (prop["minLength"] - 1)
    if "maxLength" in prop:
        yield "maxLength", "x" * (prop["maxLength"] + 1)
    if "pattern" in prop:  # the published patterns are anchored; none of them admits a space
        yield "pattern", "not matching"
    if "minimum" in prop:
        yield "minimum", prop["minimum"] - 1
    if "maximum" in prop:
        yield "maximum", prop["maximum"] + 1
    if kind == "array" and "items" in prop:
        for rule, value in _breaking(prop["items"], root):
            yield f"items.{rule}", [value]
    if kind == "object" and isinstance(prop.get("additionalProperties"), dict):
        for rule, value in _breaking(prop["additionalProperties"], root):
            yield f"values.{rule}", {"k": value}


def violations(record: type[WireRecord]) -> list[Violation]:
    """One record per rule of ``record``'s schema, each breaking only that rule."""
    schema = _schema(record)
    base = VALID[record].model_dump(mode="json")
    out = []
    for field, prop in schema["properties"].items():
        for rule, value in _breaking(prop, schema):
            out.append(Violation(record, field, rule, {**base, field: value}))
    for field in schema.get("required", []):
        out.append(Violation(record, field, "required", {k: v for k, v in base.items() if k != field}))
    return out
