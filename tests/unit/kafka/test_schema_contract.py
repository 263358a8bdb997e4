"""The decoder and the published JSON Schemas agree: generated valid records decode, generated invalid
ones are rejected with the offending field named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from streamfix.errors import WireError
from streamfix.kafka.wire import RECORDS, WireRecord
from tests.unit.kafka.jsonschema_strategy import from_schema
from tests.wire_cases import Violation, violations

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "docs" / "schemas"
SCHEMAS = {record: json.loads((SCHEMA_DIR / f"{record.__name__}.v1.json").read_text()) for record in RECORDS}
REQUIRED = [(record, name) for record in RECORDS for name in SCHEMAS[record].get("required", [])]
PROPERTIES = [(record, name) for record in RECORDS for name in SCHEMAS[record]["properties"]]

JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6,
)
CHECKS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)


@pytest.mark.parametrize("record", RECORDS, ids=[r.__name__ for r in RECORDS])
@CHECKS
@given(data=st.data())
def test_every_record_the_schema_allows_decodes(record: type[WireRecord], data: st.DataObject) -> None:
    obj = data.draw(from_schema(SCHEMAS[record]))
    decoded = record.from_obj(obj)
    # and what the decoder holds is itself valid against the schema
    jsonschema.Draft202012Validator(SCHEMAS[record]).validate(decoded.model_dump(mode="json"))


@pytest.mark.parametrize(("record", "field"), PROPERTIES, ids=[f"{r.__name__}.{f}" for r, f in PROPERTIES])
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]
)
@given(data=st.data())
def test_every_value_the_schema_forbids_is_rejected_naming_the_field(
    record: type[WireRecord], field: str, data: st.DataObject
) -> None:
    schema = SCHEMAS[record]
    obj: dict[str, Any] = dict(data.draw(from_schema(schema)))
    obj[field] = data.draw(JSON_VALUES)
    assume(not jsonschema.Draft202012Validator(schema).is_valid(obj))
    with pytest.raises(WireError) as err:
        record.from_obj(obj)
    if err.value.reason == "unsupported_schema_version":
        assert field == "schema_version"
    else:
        assert err.value.reason == "schema_mismatch"
        assert err.value.detail.startswith(f"{record.__name__}.{field}")


@pytest.mark.parametrize(("record", "field"), REQUIRED, ids=[f"{r.__name__}.{f}" for r, f in REQUIRED])
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_a_missing_required_field_is_named(record: type[WireRecord], field: str, data: st.DataObject) -> None:
    obj = dict(data.draw(from_schema(SCHEMAS[record])))
    del obj[field]
    with pytest.raises(WireError, match=rf"^schema_mismatch: {record.__name__}\.{field}: Field required"):
        record.from_obj(obj)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        pytest.param("sent_at", "1700000000.5", id="sent_at-string"),
        pytest.param("seq", "3", id="seq-string"),
        pytest.param("auto_fix", "yes", id="auto_fix-yes"),
        pytest.param("auto_fix", 1, id="auto_fix-one"),
        pytest.param("schema_version", "2", id="schema_version-string"),
        pytest.param("seq", True, id="seq-bool"),
        pytest.param("lines", "one line", id="lines-string"),
        pytest.param("labels", {"service": 1}, id="labels-number"),
        pytest.param("timestamps_ns", ["1"], id="timestamps-strings"),
    ],
)
def test_reported_loose_values_are_rejected(field: str, value: Any) -> None:
    from streamfix.kafka.wire import RawBatch

    obj = {"batch_id": "b", "source": "s", "stream": "x", "lines": ["a"], "sent_at": 1.5, field: value}
    with pytest.raises(WireError, match=rf"^schema_mismatch: RawBatch\.{field}"):
        RawBatch.from_obj(obj)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        pytest.param("seq", 3.0, 3, id="integral-float-is-an-integer"),
        pytest.param("timestamps_ns", [1.0, 2], [1, 2], id="integral-floats-in-a-list"),
        pytest.param("sent_at", 3, 3.0, id="integer-is-a-number"),
    ],
)
def test_what_json_schema_calls_a_number_or_integer_is_accepted(
    field: str, value: Any, expected: Any
) -> None:
    from streamfix.kafka.wire import RawBatch

    obj = {"batch_id": "b", "source": "s", "stream": "x", "lines": ["a"], "sent_at": 1.5, field: value}
    assert jsonschema.Draft202012Validator(SCHEMAS[RawBatch]).is_valid(obj)
    assert getattr(RawBatch.from_obj(obj), field) == expected


CASES = [v for record in RECORDS for v in violations(record)]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_rule_of_every_schema_breaks_alone_and_is_named(case: Violation) -> None:
    assert not jsonschema.Draft202012Validator(SCHEMAS[case.record]).is_valid(case.value)
    with pytest.raises(WireError) as err:
        case.record.from_obj(case.value)
    assert err.value.detail.startswith(f"{case.record.__name__}.{case.field}")


def test_every_field_has_a_rule() -> None:
    for record in RECORDS:
        covered = {c.field for c in CASES if c.record is record}
        assert covered == set(SCHEMAS[record]["properties"])
