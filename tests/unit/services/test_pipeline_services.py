"""The ingest and group services driven through the in-memory transport (no broker, no Faust).

Raw batches go into :func:`ingest_batch`; what it publishes on the errors topic is fed, record by
record, into :func:`group_event`, as the two agents do through Kafka.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streamfix.core.records import FIX_STATES, PATTERNS
from streamfix.errors import WireError
from streamfix.kafka.publish import MemoryPublisher
from streamfix.kafka.wire import DeadLetter, ErrorEventRecord, FixRequest, RawBatch
from streamfix.runtime.settings import Settings
from streamfix.services.deadletter import dead_letter_sender
from streamfix.services.grouping import GroupConfig, GroupTables, group_event
from streamfix.services.ingest import IngestConfig, ingest_batch, quiet_ticks

NOW = 1_764_324_000.0


def line(i: int, message: str, level: str = "error") -> str:
    return orjson.dumps({"message": message, "level": level,
                         "timestamp": f"2025-11-28T10:00:{i:02d}Z"}).decode()


def traceback(start: int, key: str = "a") -> list[str]:
    return [line(start, "Traceback (most recent call last):"),
            line(start + 1, '  File "/app/orders.py", line 12, in load'),
            line(start + 2, "    return cache[key]"),
            line(start + 3, f"KeyError: '{key}'")]


def calm(i: int) -> list[str]:
    """Two plain lines: after them a traceback before is complete (one line of look-ahead)."""
    return [line(i, "ok", "info"), line(i + 1, "ok", "info")]


def batch(lines: list[str], seq: int = 0, stream: str = "svc:api:0", sent_at: float = NOW) -> bytes:
    return RawBatch(batch_id=f"run:{seq}:{stream}", source="test", stream=stream, seq=seq,
                    labels={"service": "api"}, format="railway", lines=lines, sent_at=sent_at).dumps()


class DictCounts:
    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {}

    def current(self, fingerprint: str) -> dict[str, Any] | None:
        return self.values.get(fingerprint)

    def put(self, fingerprint: str, value: dict[str, Any]) -> None:
        self.values[fingerprint] = value


class Worker:
    """The two agents' state and the topics between them, all in memory."""

    def __init__(self, **settings: Any) -> None:
        self.settings = Settings(**settings)
        self.out = MemoryPublisher()
        self.assembly: dict[str, Any] = {}
        self.tables = GroupTables({}, {}, DictCounts())
        self.ingest_config = IngestConfig.from_settings(self.settings)
        self.group_config = GroupConfig.from_settings(self.settings)
        self.dead_letter = dead_letter_sender(self.out, "t.logs.raw", "ingest")
        self.grouped = 0

    async def ingest(self, value: bytes, offset: int, partition: int = 0) -> None:
        await ingest_batch(value, b"k", partition, offset, assembly=self.assembly, config=self.ingest_config,
                           out=self.out, dead_letter=self.dead_letter, clock=lambda: NOW + 1)

    async def group(self) -> None:
        """Feed every errors-topic record not yet grouped (also the ones grouping itself publishes)."""
        while self.grouped < len(self.out.sent["errors"]):
            sent = self.out.sent["errors"][self.grouped]
            self.grouped += 1
            await group_event(orjson.loads(sent.value), self.tables, self.group_config, self.out,
                              clock=lambda: NOW + 2)

    def patterns(self) -> dict[str, Any]:
        return {fp: PATTERNS.decode(v) for fp, v in self.tables.patterns.items()}


async def test_a_traceback_becomes_one_pattern_and_redelivery_counts_once() -> None:
    w = Worker()
    await w.ingest(batch([*traceback(0), *calm(4), *traceback(6), *calm(10)]), 7)
    [record] = w.out.records("errors", ErrorEventRecord)
    assert (record.occurrences, record.source_offset, record.error_type) == (2, 7, "KeyError")
    await w.ingest(batch([*traceback(0)]), 7)  # the same raw record again: a no-op
    await w.group()
    await w.group()
    [pattern] = w.patterns().values()
    assert (pattern.count, pattern.services, pattern.first_seen) == (2, ["api"], pytest.approx(NOW))
    assert w.assembly["svc:api:0"]["offset"] == 7


async def test_a_traceback_split_across_batches_is_assembled_whole() -> None:
    w = Worker()
    tb = traceback(0)
    await w.ingest(batch(tb[:2]), 1)
    assert w.out.sent["errors"] == []
    await w.ingest(batch([*tb[2:], *calm(5)], seq=1), 2)
    [record] = w.out.records("errors", ErrorEventRecord)
    assert (record.function, record.line, record.incomplete) == ("load", 12, False)


BAD_INPUT = [
    ("invalid-json", b"{not json", "invalid_json"),
    ("invalid-utf8", b'{"lines": ["\xff"]}', "invalid_utf8"),
    ("schema-mismatch", b'{"batch_id": "x"}', "schema_mismatch"),
]


@pytest.mark.parametrize(("value", "reason"), [c[1:] for c in BAD_INPUT], ids=[c[0] for c in BAD_INPUT])
async def test_bad_raw_records_go_to_the_dead_letter_topic_whole(value: bytes, reason: str) -> None:
    w = Worker()
    await w.ingest(value, 3)
    [dead] = w.out.records("dead_letters", DeadLetter)
    assert (dead.reason, dead.offset, dead.original_value(), dead.stage) == (reason, 3, value, "ingest")
    assert w.out.sent["dead_letters"][0].key == "t.logs.raw:0"
    assert w.assembly == {}


async def test_an_overlong_line_is_dead_lettered_and_the_rest_processed() -> None:
    w = Worker(max_line_bytes=1024)
    long = line(4, "x" * 2000, "info")
    await w.ingest(batch([*traceback(0), long, *calm(5)]), 1)
    [dead] = w.out.records("dead_letters", DeadLetter)
    assert dead.reason == "line_too_long" and dead.original_value() == long.encode()
    assert len(w.out.sent["errors"]) == 1


async def test_a_quiet_stream_with_an_open_traceback_gets_a_tick() -> None:
    w = Worker(assembly_quiet_seconds=5.0)
    await w.ingest(batch(traceback(0)[:3]), 1)
    assert quiet_ticks(w.assembly, NOW + 1, 5.0) == []
    [tick] = quiet_ticks(w.assembly, NOW + 10, 5.0)
    assert (tick.stream, tick.lines, tick.source) == ("svc:api:0", [], "tick")
    await w.ingest(tick.dumps(), 2)
    [record] = w.out.records("errors", ErrorEventRecord)
    assert record.incomplete


@pytest.mark.parametrize(
    ("fixable_categories", "requests"),
    [pytest.param(None, 0, id="default-code-bugs-not-fixable"),
     pytest.param("internal_error", 1, id="setting-makes-code-bugs-fixable")],
)
async def test_fixable_categories_decide_whether_a_code_bug_triggers(
        fixable_categories: str | None, requests: int) -> None:
    chosen = {} if fixable_categories is None else {"fixable_categories": fixable_categories}
    w = Worker(auto_fix_enabled=True, fix_threshold_count=3, **chosen)
    for offset in range(1, 6):
        await w.ingest(batch([*traceback(0), *calm(5)], seq=offset), offset)
        await w.group()
    assert len(w.out.records("fix_requests", FixRequest)) == requests
    assert [p.fixable for p in w.patterns().values()] == [requests == 1]


async def test_threshold_triggers_one_fix_request_then_waits_for_its_result() -> None:
    w = Worker(auto_fix_enabled=True, fix_threshold_count=3, fixable_categories="internal_error")
    for offset in range(1, 6):
        await w.ingest(batch([*traceback(0), *calm(5)], seq=offset), offset)
        await w.group()
    [request] = w.out.records("fix_requests", FixRequest)
    fp = request.fingerprint
    assert (request.request_id, request.trigger, request.occurrences) == (f"{fp}#1", "threshold", 3)
    assert request.frames[-1].function == "load" and "KeyError" in request.sample_traceback
    state = FIX_STATES.decode(w.tables.fix_state[fp])
    assert (state.attempt, state.status, state.request_id) == (1, "pending", f"{fp}#1")
    assert w.patterns()[fp].count == 5
    assert w.tables.counts.current(fp) == {"n": 5, "applied": {"0": [5, 0]}}  # type: ignore[attr-defined]


async def test_merged_patterns_move_their_counts_once_and_forward_later_occurrences() -> None:
    w = Worker()
    for offset, name in enumerate(["alice", "bob", "carol"], 1):
        await w.ingest(batch([line(0, f"login failed for user {name}: bad password"), line(1, "ok", "info")],
                             seq=offset), offset)
    await w.group()
    early = set(w.patterns())
    names = ["dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "oscar", "peggy", "rupert"]
    await w.ingest(batch([*(line(i, f"login failed for user {n}: bad password") for i, n in enumerate(names)),
                          line(20, "ok", "info")], seq=9), 9)
    await w.group()
    patterns = w.patterns()
    live = [p for p in patterns.values() if not p.merged]
    assert len(live) == 1 and sum(p.count for p in live) == 13
    assert {fp for fp, p in patterns.items() if p.merged} == early - {live[0].fingerprint}
    await w.group()  # nothing left: merging twice changes nothing
    assert w.patterns() == patterns


async def test_a_value_that_is_no_error_event_is_refused() -> None:
    w = Worker()
    with pytest.raises(WireError):
        await group_event({"fingerprint": "x"}, w.tables, w.group_config, w.out)


def test_a_merge_record_carries_the_whole_pattern_and_back() -> None:
    from streamfix.core.patterns import apply_event
    from streamfix.services.convert import merge_record_for, pattern_of_merge

    event = {"fingerprint": "fp1:old", "error_type": "KeyError", "message": "'a'", "title": "KeyError in f",
             "category": "internal_error", "severity": "HIGH", "fixable": True, "detected_at": NOW,
             "timestamp": NOW, "frames": [{"file": "/app/orders.py", "line": 12, "function": "load"}],
             "traceback": "Traceback ...", "service": "api", "source_offset": 3, "occurrences": 2}
    pattern = apply_event(None, event, window_seconds=60, retention_seconds=3600)
    assert pattern is not None
    record = merge_record_for(pattern, "fp1:old", "fp1:new", NOW)
    assert (record.fingerprint, record.merged_from, record.alias_of, record.occurrences) == (
        "fp1:new", "fp1:old", None, 2)
    back = pattern_of_merge(ErrorEventRecord.loads(record.dumps()))
    assert back.fingerprint == "fp1:old" and back.count == 2 and back.frames == pattern.frames
    assert (back.title, back.windows, back.services, back.first_seen) == (
        pattern.title, pattern.windows, pattern.services, pattern.first_seen)


async def test_monitoring_disabled_consumes_raw_batches_without_extracting() -> None:
    from streamfix.runtime import metrics

    worker = Worker(error_monitoring_enabled=False, fix_threshold_count=1)
    skipped = metrics.RAW_BATCHES_SKIPPED.labels(reason="monitoring_disabled")
    before = skipped._value.get()
    for seq in range(3):
        await worker.ingest(batch(traceback(seq * 10) + calm(seq * 10 + 5), seq=seq), offset=seq)
    await worker.group()
    assert skipped._value.get() - before == 3
    assert worker.out.sent["errors"] == [] and worker.out.sent["fix_requests"] == []
    assert worker.assembly == {} and worker.tables.patterns == {}
    await worker.ingest(b"not json", offset=3)  # bad input is still dead-lettered, never lost
    assert len(worker.out.sent["dead_letters"]) == 1


async def test_monitoring_disabled_drops_error_events_from_any_producer_ungrouped() -> None:
    from streamfix.runtime import metrics

    enabled = Worker(fix_threshold_count=1, auto_fix_enabled=True, fixable_categories="internal_error")
    for seq in range(2):
        await enabled.ingest(batch(traceback(seq * 10) + calm(seq * 10 + 5), seq=seq), offset=seq)
    events = list(enabled.out.sent["errors"])
    await enabled.group()
    assert enabled.out.sent["fix_requests"]  # the same events make a fix request when enabled
    disabled = Worker(error_monitoring_enabled=False, fix_threshold_count=1, auto_fix_enabled=True)
    skipped = metrics.ERROR_EVENTS_SKIPPED.labels(reason="monitoring_disabled")
    before = skipped._value.get()
    for sent in events:
        await group_event(orjson.loads(sent.value), disabled.tables, disabled.group_config, disabled.out,
                          clock=lambda: NOW + 2)
    assert skipped._value.get() - before == len(events)
    assert disabled.tables.patterns == {} and disabled.tables.fix_state == {}
    assert disabled.out.sent["fix_requests"] == [] and disabled.out.sent["errors"] == []


async def test_ingest_records_each_consumed_batch_per_source_kind_once() -> None:
    from streamfix.services.sourcestate import SourceRegistry

    for enabled in (True, False):
        w = Worker(error_monitoring_enabled=enabled)
        sources = SourceRegistry()
        for offset in (0, 0, 1):  # the redelivered record is not counted twice
            await ingest_batch(batch(calm(offset * 2), seq=offset), b"k", 0, offset, assembly=w.assembly,
                               config=w.ingest_config, out=w.out, dead_letter=w.dead_letter,
                               clock=lambda: NOW + 3, sources=sources)
        seen = sources.kinds["test"]
        expected = (2, 4) if enabled else (3, 6)  # disabled: nothing is deduplicated, everything counted
        assert ((seen.batches, seen.lines), seen.lag_seconds) == (expected, 3.0)
