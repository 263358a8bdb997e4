"""Trace ids, hop by hop: raw batch -> error event -> pattern -> fix request -> fix result -> commit and
PR body, and the log lines written while each record is handled."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from streamfix.core.patterns import apply_event
from streamfix.core.records import PATTERNS
from streamfix.core.trace import is_trace_id, trace_id_for, traceparent
from streamfix.fixing.claude import Analysis
from streamfix.fixing.github import pr_body
from streamfix.fixing.naming import commit_message
from streamfix.fixing.service import FixService
from streamfix.kafka.publish import MemoryPublisher
from streamfix.kafka.wire import ErrorEventRecord, FixRequest, RawBatch
from streamfix.runtime.logs import configure_logging, current_trace_id, new_trace_id, trace
from streamfix.runtime.settings import Settings
from streamfix.services.convert import batch_trace_id, event_trace_id, merge_record_for, pattern_of_merge
from streamfix.tools.replay import batches
from tests.unit.fixing.helpers import Recorder, fix_settings, make_request
from tests.unit.services.test_pipeline_services import NOW, Worker, calm, traceback

TRACE = "0af7651916cd43dd8448eb211c80319c"  # the W3C Trace Context example


@pytest.fixture(autouse=True)
def restore_root() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)


def json_log(level: str = "DEBUG") -> io.StringIO:
    out = io.StringIO()
    configure_logging(Settings(log_format="json"), process="unit", stream=out, level=level)
    return out


def lines_of(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def raw(lines: list[str], seq: int, trace_id: str | None = None) -> bytes:
    return RawBatch(batch_id=f"run:{seq}:svc:api:0", source="test", stream="svc:api:0", seq=seq,
                    labels={"service": "api"}, format="railway", lines=lines, sent_at=NOW,
                    trace_id=trace_id).dumps()


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        pytest.param(TRACE, True, id="w3c-example"),
        pytest.param(trace_id_for("b-1"), True, id="derived"),
        pytest.param(new_trace_id(), True, id="random"),
        pytest.param("0" * 32, False, id="all-zero"),
        pytest.param(TRACE.upper(), False, id="uppercase"),
        pytest.param(TRACE[:-1], False, id="short"),
        pytest.param(TRACE + "0", False, id="long"),
        pytest.param(None, False, id="none"),
        pytest.param("", False, id="empty"),
    ],
)
def test_trace_id_shape(value: str | None, valid: bool) -> None:
    assert is_trace_id(value) is valid


def test_a_derived_trace_id_is_stable_and_differs_per_key() -> None:
    assert trace_id_for("run:1:s") == trace_id_for("run:1:s") != trace_id_for("run:2:s")


def test_the_log_context_sets_and_restores_the_trace_id() -> None:
    out = json_log()
    log = logging.getLogger("streamfix.test.trace")
    with trace(TRACE) as value:
        assert value == current_trace_id() == TRACE
        with trace(None) as inner:  # a record without one still gets its own
            assert is_trace_id(inner) and current_trace_id() == inner
        log.info("inside")
    log.info("outside")
    inside, outside = lines_of(out)
    assert (inside["trace_id"], outside["trace_id"]) == (TRACE, "")
    assert current_trace_id() == ""


def test_producers_stamp_each_batch_with_the_trace_id_of_its_id() -> None:
    made = list(batches([f"line {i}" for i in range(5)], stream="s", source="replay", labels={}, size=2))
    assert [b.trace_id for b in made] == [trace_id_for(b.batch_id) for b in made]
    assert len({b.trace_id for b in made}) == 3


def test_a_batch_without_a_trace_id_gets_one_derived_from_its_id() -> None:
    old = RawBatch.loads(b'{"batch_id":"b-7","source":"s","stream":"x","lines":[],"sent_at":1.0}')
    assert old.trace_id is None
    assert batch_trace_id(old) == trace_id_for("b-7")
    assert batch_trace_id(old.model_copy(update={"trace_id": TRACE})) == TRACE


async def test_the_events_of_a_batch_carry_its_trace_id_and_redelivery_keeps_it() -> None:
    w = Worker()
    await w.ingest(raw([*traceback(0), *calm(4)], seq=1, trace_id=TRACE), 1)
    await w.ingest(raw([*traceback(0), *calm(4)], seq=2), 2)
    first, second = w.out.records("errors", ErrorEventRecord)
    assert first.trace_id == TRACE
    assert second.trace_id == trace_id_for("run:2:svc:api:0")


async def test_the_fix_request_carries_the_trace_of_the_occurrence_that_triggered_it() -> None:
    out = json_log()
    w = Worker(auto_fix_enabled=True, fix_threshold_count=2, fixable_categories="internal_error")
    traces = [new_trace_id() for _ in range(3)]
    for seq, trace_id in enumerate(traces, 1):
        await w.ingest(raw([*traceback(0), *calm(5)], seq=seq, trace_id=trace_id), seq)
        await w.group()
    [request] = w.out.records("fix_requests", FixRequest)
    assert request.trace_id == traces[1]  # the second occurrence reached the threshold
    assert w.patterns()[request.fingerprint].trace_id == traces[2]  # the latest occurrence
    logged = lines_of(out)
    [requested] = [line for line in logged if line["message"] == "fix requested"]
    assert (requested["trace_id"], requested["batch_id"]) == (traces[1], "run:2:svc:api:0")
    applied = [line for line in logged if line["message"] == "raw batch applied"]
    assert [(line["trace_id"], line["batch_id"]) for line in applied] == [
        (t, f"run:{seq}:svc:api:0") for seq, t in enumerate(traces, 1)]


def test_an_error_record_from_an_older_producer_gets_its_batch_trace() -> None:
    obj: dict[str, Any] = {"fingerprint": "fp1:x", "error_type": "E", "message": "m", "category": "c",
                           "severity": "HIGH", "fixable": True, "detected_at": 1.0, "batch_id": "b-1"}
    assert event_trace_id(ErrorEventRecord.from_obj(obj)) == trace_id_for("b-1")
    assert event_trace_id(ErrorEventRecord.from_obj({**obj, "batch_id": ""})) is None
    assert event_trace_id(ErrorEventRecord.from_obj({**obj, "trace_id": TRACE})) == TRACE


def test_a_pattern_without_a_trace_survives_a_merge_record_and_one_with_it_keeps_it() -> None:
    event = {"fingerprint": "fp1:x", "error_type": "E", "message": "m", "category": "c", "severity": "HIGH",
             "fixable": True, "detected_at": 1.0}
    plain = apply_event(None, event, window_seconds=60, retention_seconds=600)
    traced = apply_event(None, {**event, "trace_id": TRACE}, window_seconds=60, retention_seconds=600)
    assert plain is not None and traced is not None
    assert "trace_id" not in PATTERNS.to_obj(plain)  # the table value is unchanged for untraced events
    assert pattern_of_merge(merge_record_for(plain, "fp1:x", "fp1:y", 2.0)).fingerprint == "fp1:x"
    assert merge_record_for(traced, "fp1:x", "fp1:y", 2.0).trace_id == TRACE
    assert pattern_of_merge(merge_record_for(traced, "fp1:x", "fp1:y", 2.0)).trace_id == TRACE


TB = 'Traceback (most recent call last):\n  File "/app/shop/pricing.py", line 14, in f\nZeroDivisionError: x'


class BrokenAnalyzer:
    async def analyze(self, prompt: str) -> Analysis:
        raise RuntimeError("bug in the analyzer")


async def test_fix_results_and_the_fixer_log_carry_the_request_trace(tmp_path: Path) -> None:
    out = json_log()
    recorder = Recorder()
    service = FixService(fix_settings(tmp_path, tmp_path / "remote.git"), publish=recorder.publish,
                         analyzer=BrokenAnalyzer())
    result = await service.handle(make_request(TB, dry_run=True, trace_id=TRACE))
    assert result.trace_id == TRACE
    assert {r.trace_id for r in recorder.results} == {TRACE}
    logged = lines_of(out)
    assert {line["message"] for line in logged} >= {"fix failed unexpectedly", "fix state"}
    assert {line["trace_id"] for line in logged} == {TRACE}
    assert current_trace_id() == ""


def test_the_commit_message_ends_with_a_trace_id_trailer() -> None:
    message = commit_message(make_request(TB, trace_id=TRACE), "root", "explanation")
    assert message.endswith(f"\n\nTrace-Id: {TRACE}\n")
    assert "Trace-Id" not in commit_message(make_request(TB), "root", "explanation")


def test_the_pr_body_names_the_trace_id() -> None:
    body = pr_body(make_request(TB, trace_id=TRACE), root_cause="r", explanation="e", confidence=0.9,
                   changed_lines=2)
    assert f"| Trace id | `{TRACE}` |" in body
    assert "Trace id" not in pr_body(make_request(TB), root_cause="r", explanation="e", confidence=0.9,
                                     changed_lines=2)


def test_a_malformed_trace_id_never_reaches_a_commit_or_a_pr() -> None:
    request = make_request(TB).model_copy(update={"trace_id": "x\n\nSigned-off-by: someone"})
    assert "Signed-off-by" not in commit_message(request, "root", "explanation")
    assert "Signed-off-by" not in pr_body(request, root_cause="r", explanation="e", confidence=0.9,
                                          changed_lines=2)


async def test_published_records_with_a_trace_carry_a_w3c_traceparent_header() -> None:
    out = MemoryPublisher()
    batch = RawBatch(batch_id="b-1", source="s", stream="x", lines=[], sent_at=1.0, trace_id=TRACE)
    await out.send_batch(batch)
    own = b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01"
    await out.send("raw", "x", batch, headers=[("traceparent", own)])
    await out.send("raw", "x", batch.model_copy(update={"trace_id": None}))
    await out.send("raw", "x", b"{}")
    first, given, untraced, raw_bytes = (dict(s.headers) for s in out.sent["raw"])
    version, trace_id, parent, flags = first["traceparent"].decode().split("-")
    assert (version, trace_id, flags) == ("00", TRACE, "01")
    assert len(parent) == 16 and parent != "0" * 16 and int(parent, 16) >= 0
    assert given["traceparent"] == own  # a producer's own header is kept
    assert untraced == raw_bytes == {}
    assert traceparent(TRACE, "raw\x00x") == first["traceparent"].decode()  # stable per hop
