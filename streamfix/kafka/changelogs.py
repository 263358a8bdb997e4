"""JSON Schemas of the tables' changelog topics (``<app_id>-<table>-changelog``).

The worker's tables are Faust tables; Faust writes every update to a compacted changelog topic named
after the app id (``STREAMFIX_APP_ID``), not the topic prefix. Their keys and values are JSON (orjson),
documented here so that tooling can read them; they are the worker's state, not an input, and a
reader should ignore fields it does not know. ``python -m streamfix.kafka.changelogs docs/schemas/changelog``
writes the files; ``tests/unit/kafka/test_changelogs.py`` keeps them equal and checks values made by
the core against them.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from streamfix.core.trace import TRACE_ID_PATTERN
from streamfix.kafka.wire import json_schemas, write_json_documents

_BASE = "https://streamfix.dev/schemas/changelog"
_NUMBER = {"type": "number"}
_STRING = {"type": "string"}
_NULLABLE_STRING = {"type": ["string", "null"]}
_NULLABLE_NUMBER = {"type": ["number", "null"]}
_NULLABLE_INT = {"type": ["integer", "null"]}
# raw partition (as a string) -> [offset, event index] of the last error record applied from it
_APPLIED = {
    "type": "object",
    "description": "Idempotence markers: raw-topic partition -> [offset, event index] last applied",
    "additionalProperties": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
}
_FINGERPRINT_KEY = {"type": "string", "description": "The pattern fingerprint (fp1:...), JSON-encoded"}
_SEVERITY = {"enum": ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"]}

_FRAME = json_schemas()["ErrorEventRecord.v1.json"]["$defs"]["FrameRecord"]

_PATTERN = {
    "type": "object",
    "description": "A pattern: an error and its counts. "
    "A merged pattern keeps only fingerprint, alias_of, count "
    "and status 'merged' (or its old fields besides them).",
    "required": ["fingerprint", "status"],
    "properties": {
        "fingerprint": _STRING,
        "status": {"enum": ["active", "merged"]},
        "alias_of": {**_STRING, "description": "With status 'merged': the pattern its counts moved to"},
        "merged_from": {
            "type": "array",
            "items": _STRING,
            "description": "Patterns whose counts were added here",
        },
        "error_type": _STRING,
        "message": _STRING,
        "title": _STRING,
        "category": _STRING,
        "severity": _SEVERITY,
        "fixable": {"type": "boolean"},
        "suggested_fix": _STRING,
        "file": _NULLABLE_STRING,
        "line": _NULLABLE_INT,
        "function": _NULLABLE_STRING,
        "frames": {"type": "array", "items": _FRAME},
        "traceback": {**_STRING, "description": "A sample traceback (truncated)"},
        "incomplete": {"type": "boolean"},
        "first_seen": _NUMBER,
        "last_seen": _NUMBER,
        "count": {"type": "integer", "minimum": 0},
        "services": {"type": "array", "items": _STRING},
        "auto_fix": {"type": "boolean"},
        "windows": {
            "type": "object",
            "additionalProperties": {"type": "integer"},
            "description": "Occurrences per window start (Unix seconds, as a string)",
        },
        "applied": _APPLIED,
        "trace_id": {**_STRING, "pattern": TRACE_ID_PATTERN,
                     "description": "Trace id of the latest occurrence (optional; see FixRequest.trace_id)"},
    },
}

TABLES: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "assembly": (
        {"type": "string", "description": "The raw stream key (RawBatch.stream), JSON-encoded"},
        {
            "type": "object",
            "description": "Per-stream assembly state and the idempotence markers of the raw batches applied",
            "required": ["state", "partition", "offset"],
            "properties": {
                "state": {"type": "object", "description": "The core pipeline's state (versioned, internal)"},
                "partition": {
                    "type": "integer",
                    "description": "Raw-topic partition of the batch applied last",
                },
                "offset": {"type": "integer", "description": "Its offset"},
                "sent_at": _NUMBER,
                "labels": {"type": "object", "additionalProperties": _STRING},
                "source": _STRING,
                "batch_ids": {
                    "type": ["array", "null"],
                    "description": "Recent batch ids (64-bit BLAKE2b, hex) with their sent_at, oldest first",
                    "items": {
                        "type": "array",
                        "prefixItems": [_STRING, _NUMBER],
                        "minItems": 2,
                        "maxItems": 2,
                    },
                },
            },
        },
    ),
    "patterns": (_FINGERPRINT_KEY, _PATTERN),
    "counts": (
        {
            "type": "array",
            "description": "[fingerprint, [window start, window end]] of the tumbling window (Unix seconds)",
            "prefixItems": [_STRING, {"type": "array", "items": _NUMBER, "minItems": 2, "maxItems": 2}],
            "minItems": 2,
            "maxItems": 2,
        },
        {
            "type": "object",
            "required": ["n"],
            "properties": {"n": {"type": "integer", "minimum": 0}, "applied": _APPLIED},
        },
    ),
    "fix_state": (
        _FINGERPRINT_KEY,
        {
            "type": "object",
            "description": (
                "The latest fix of a pattern, as the group agent and the fix-results agent know it"
            ),
            "required": ["status", "updated_at"],
            "properties": {
                "attempt": {"type": "integer", "minimum": 1},
                "status": json_schemas()["FixResult.v1.json"]["properties"]["status"],
                "updated_at": _NUMBER,
                "request_id": _NULLABLE_STRING,
                "fix_id": _NULLABLE_STRING,
            },
        },
    ),
    "fixes": (
        _FINGERPRINT_KEY,
        {
            "type": "object",
            "description": "fix_id -> the latest FixResult of that fix (FixResult v1)",
            "additionalProperties": {"$ref": "https://streamfix.dev/schemas/FixResult.v1.json"},
        },
    ),
}


def changelog_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema, for the key and the value of every table."""
    out: dict[str, dict[str, Any]] = {}
    for table, (key, value) in TABLES.items():
        for part, schema in (("key", key), ("value", value)):
            name = f"{table}.{part}.json"
            out[name] = {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": f"{_BASE}/{name}",
                "title": f"{table} changelog {part}",
                **schema,
            }
    return out


def write(folder: Path) -> list[Path]:
    return write_json_documents(folder, changelog_schemas())


if __name__ == "__main__":  # pragma: no cover - developer tool
    for written_path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas/changelog")):
        sys.stdout.write(f"{written_path}\n")
