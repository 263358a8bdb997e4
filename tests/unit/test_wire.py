"""Wire records: round trips, version handling, clear errors, and the JSON Schema files in docs/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from streamfix.errors import WireError
from streamfix.kafka.wire import (
    RECORDS,
    SCHEMA_VERSION,
    AlertRecord,
    DeadLetter,
    ErrorEventRecord,
    FixRequest,
    FixResult,
    RawBatch,
    WireRecord,
    json_schemas,
)

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas"

SAMPLES: list[WireRecord] = [
    RawBatch(batch_id="replay:abc:0", source="replay", stream="replay:api", labels={"service": "api"},
             lines=['{"message":"hi","timestamp":"2026-01-01T00:00:00Z"}', "plain"], sent_at=1.5),
    ErrorEventRecord(fingerprint="fp1:abc", error_type="KeyError", message="'user'", category="internal_error",
                     severity="HIGH", fixable=True, frames=[{"file": "app/x.py", "line": 3, "function": "f"}],
                     detected_at=2.0),
    FixRequest(request_id="fp1:abc#1", fingerprint="fp1:abc", category="internal_error", severity="HIGH",
               error_type="KeyError", message="'user'", requested_at=3.0),
    FixResult(fix_id="fx-1", request_id="fp1:abc#1", fingerprint="fp1:abc", status="pr_open", created_at=1.0,
              updated_at=2.0, pr_number=7, confidence=0.8),
    AlertRecord(alert_id="fp1:abc:critical:1", fingerprint="fp1:abc", kind="critical", channels=["slack"],
                severity="CRITICAL", title="KeyError in app/x.py", dashboard_url="http://h/error-monitor/ui",
                created_at=3.0),
    DeadLetter(reason="invalid_json", source_topic="t.logs.raw", partition=0, offset=5,
               value_b64=DeadLetter.encode_bytes(b"\xff\x00") or "", value_size=2, received_at=4.0),
]


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: type(r).__name__)
def test_round_trip(record: WireRecord) -> None:
    again = type(record).loads(record.dumps())
    assert again == record
    assert orjson.loads(record.dumps())["schema_version"] == SCHEMA_VERSION


@pytest.mark.parametrize("record", SAMPLES, ids=lambda r: type(r).__name__)
def test_samples_match_published_schema(record: WireRecord) -> None:
    schema = json.loads((SCHEMA_DIR / f"{type(record).__name__}.v{SCHEMA_VERSION}.json").read_text())
    jsonschema.Draft202012Validator(schema).validate(orjson.loads(record.dumps()))


def test_schema_files_are_current() -> None:
    for name, schema in json_schemas().items():
        on_disk = json.loads((SCHEMA_DIR / name).read_text())
        assert on_disk == json.loads(orjson.dumps(schema)), f"regenerate with: python -m streamfix.kafka.wire docs/schemas ({name})"
    assert {p.name for p in SCHEMA_DIR.glob("*.json")} == set(json_schemas())


BAD: list[tuple[str, type[WireRecord], bytes, str]] = [
    ("not-json", RawBatch, b"hello", "invalid_json"),
    ("invalid-utf8", RawBatch, b'{"lines": ["\xff"]}', "invalid_json"),
    ("missing-field", RawBatch, b'{"batch_id": "x", "source": "s", "stream": "s", "sent_at": 1}', "schema_mismatch"),
    ("wrong-type", RawBatch, b'{"batch_id": "x", "source": "s", "stream": "s", "sent_at": 1, "lines": "a"}',
     "schema_mismatch"),
    ("future-version", RawBatch, b'{"schema_version": 99, "lines": []}', "unsupported_schema_version"),
    ("array", FixRequest, b"[1, 2]", "schema_mismatch"),
    ("bad-severity", ErrorEventRecord,
     b'{"fingerprint":"f","error_type":"E","message":"m","category":"c","severity":"HUGE","fixable":true,"detected_at":1}',
     "schema_mismatch"),
]


@pytest.mark.parametrize(("record_type", "data", "reason"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input_gets_a_reason(record_type: type[WireRecord], data: bytes, reason: str) -> None:
    with pytest.raises(WireError) as info:
        record_type.loads(data)
    assert info.value.reason == reason
    assert str(info.value)


def test_unknown_fields_are_ignored_for_forward_compatibility() -> None:
    data: dict[str, Any] = orjson.loads(SAMPLES[0].dumps())
    data["added_in_a_later_minor"] = {"x": 1}
    assert RawBatch.from_obj(data) == SAMPLES[0]


def test_every_record_is_sampled() -> None:
    assert {type(s) for s in SAMPLES} == set(RECORDS)


def test_dead_letter_keeps_original_bytes() -> None:
    dl = SAMPLES[-1]
    assert isinstance(dl, DeadLetter)
    assert dl.original_value() == b"\xff\x00"
