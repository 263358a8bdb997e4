"""Explicit conversion between core domain types (events, patterns) and wire records.

Every place where a pattern becomes a record on a topic, or a record becomes a pattern, is here.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from streamfix.core.models import ErrorEvent
from streamfix.core.records import PATTERNS, Pattern
from streamfix.core.trace import trace_id_for
from streamfix.kafka.wire import ErrorEventRecord, FixRequest, FrameRecord, RawBatch, SeverityName, Trigger

MAX_TRACEBACK_CHARS = 16_000
_EPOCH = re.compile(r"^\d{9,19}(?:\.\d+)?$")


def to_epoch(ts: str | None) -> float | None:
    """Unix seconds from an ISO 8601 or epoch (s, ms, µs or ns) timestamp; None when unparseable."""
    if not ts:
        return None
    text = ts.strip()
    if _EPOCH.match(text):
        value = float(text)
        while value > 1e11:  # ms, µs, ns → s
            value /= 1000.0
        return value
    try:
        parsed = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def batch_trace_id(batch: RawBatch) -> str:
    """The batch's trace id: the one its producer set, else one derived from its id (stable on redelivery)."""
    return batch.trace_id or trace_id_for(batch.batch_id)


def event_trace_id(record: ErrorEventRecord) -> str | None:
    """An error record's trace id: its own, else its batch's derived one (records from older producers)."""
    return record.trace_id or (trace_id_for(record.batch_id) if record.batch_id else None)


def applied_marker(record: ErrorEventRecord) -> dict[str, Any]:
    """The fields of an error record that say where it came from, all that
    :func:`streamfix.core.patterns.is_duplicate` reads (not a dump of the whole record, frames included)."""
    return {"source_partition": record.source_partition, "source_offset": record.source_offset,
            "event_index": record.event_index, "via": record.via}


def event_record(
    event: ErrorEvent, *, batch: RawBatch, partition: int, offset: int, index: int, occurrences: int,
    detected_at: float, traceback: str,
) -> ErrorEventRecord:
    labels = batch.labels
    return ErrorEventRecord(
        fingerprint=event.fingerprint,
        error_type=event.error_type,
        message=event.message,
        category=event.category.value,
        severity=event.severity.value,
        fixable=event.fixable,
        suggested_fix=event.suggested_fix,
        title=event.title,
        file=event.file,
        line=event.line,
        function=event.function,
        frames=[
            FrameRecord(file=f.file, line=f.line, function=f.function, in_app=f.in_app) for f in event.frames
        ],
        traceback=traceback[:MAX_TRACEBACK_CHARS],
        incomplete=event.incomplete,
        logger=event.logger,
        level=event.level,
        timestamp=to_epoch(event.timestamp),
        service=event.service or labels.get("service"),
        deployment=event.deployment or labels.get("deployment"),
        stream=batch.stream,
        source=batch.source,
        batch_id=batch.batch_id,
        line_start=event.line_start,
        line_end=event.line_end,
        auto_fix=batch.auto_fix,
        detected_at=detected_at,
        published_at=batch.sent_at,
        occurrences=occurrences,
        source_partition=partition,
        source_offset=offset,
        event_index=index,
        trace_id=batch_trace_id(batch),
    )


def alias_records(
    aliases: Sequence[tuple[str, str]],
    events: Sequence[ErrorEventRecord],
    *,
    batch: RawBatch,
    partition: int,
    offset: int,
    detected_at: float,
) -> list[ErrorEventRecord]:
    """One record per template merge, keyed by the old fingerprint: "this pattern now belongs to that one"."""
    by_fp = {e.fingerprint: e for e in events}
    out = []
    for index, (old, new) in enumerate(aliases, start=len(events)):
        like = by_fp.get(new)
        out.append(ErrorEventRecord(
            fingerprint=old, alias_of=new, error_type=like.error_type if like else "merged",
            message=like.message if like else "", category=like.category if like else "internal_error",
            severity=like.severity if like else "MEDIUM", fixable=like.fixable if like else False,
            stream=batch.stream, source=batch.source, batch_id=batch.batch_id, detected_at=detected_at,
            published_at=batch.sent_at, source_partition=partition, source_offset=offset, event_index=index,
            trace_id=batch_trace_id(batch),
        ))
    return out


def fold_by_fingerprint(events: Sequence[ErrorEvent]) -> list[tuple[ErrorEvent, int]]:
    """Identical fingerprints within one batch become one record: (first event, occurrences), in order."""
    firsts: dict[str, ErrorEvent] = {}
    counts: Counter[str] = Counter()
    for event in events:
        firsts.setdefault(event.fingerprint, event)
        counts[event.fingerprint] += 1
    return [(event, counts[fp]) for fp, event in firsts.items()]


def render_traceback(event: ErrorEvent) -> str:
    """The event's stack in its language's usual text form (a sample for patterns and fix requests)."""
    head = f"{event.error_type}: {event.message}" if event.message else event.error_type
    if not event.frames:
        return event.log_message or head
    if event.language.startswith("python") or event.language == "logging":
        lines = ["Traceback (most recent call last):"]
        for f in event.frames:
            lines.append(f'  File "{f.file}", line {f.line}, in {f.function}')
            if f.code:
                lines.append(f"    {f.code}")
        lines.append(head)
    else:
        lines = [head] + [f"    at {f.function} ({f.file}:{f.line})" for f in reversed(event.frames)]
    if event.log_message:
        lines.insert(0, event.log_message)
    return "\n".join(lines)


def _severity(pattern: Pattern) -> SeverityName:
    value = pattern.severity
    if value in ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO"):
        return value  # type: ignore[return-value]  # checked just above
    return "MEDIUM"


def _fields(pattern: Pattern) -> dict[str, Any]:
    """Every field of the pattern as JSON: a wire record takes the ones it has by the same name."""
    obj: dict[str, Any] = msgspec.to_builtins(pattern)
    obj["severity"] = _severity(pattern)
    return obj


def severity_of(pattern: Pattern) -> SeverityName:
    """The pattern's severity as the wire names it (MEDIUM when unknown)."""
    return _severity(pattern)


def fix_request_for(pattern: Pattern, attempt: int, trigger: Trigger, now: float) -> FixRequest:
    """The fix request for a pattern: id ``<fingerprint>#<attempt>``, so a repeat names the same request."""
    return FixRequest.model_validate({
        **_fields(pattern), "request_id": f"{pattern.fingerprint}#{attempt}", "attempt": attempt,
        "trigger": trigger, "sample_traceback": pattern.traceback, "occurrences": pattern.count,
        "requested_at": now,
    })


def merge_record_for(pattern: Pattern, source: str, target: str, now: float) -> ErrorEventRecord:
    """The merge record that carries pattern ``source``'s counts to pattern ``target``, which absorbed it."""
    return ErrorEventRecord.model_validate({
        **_fields(pattern), "fingerprint": target, "merged_from": source, "alias_of": None,
        "occurrences": max(1, pattern.count), "detected_at": now,
    })


def pattern_of_merge(record: ErrorEventRecord) -> Pattern:
    """The pattern a merge record carries (see :func:`streamfix.core.patterns.merge_pattern`)."""
    obj = record.model_dump(exclude={"alias_of", "merged_from", "via"})
    if obj.get("trace_id") is None:
        obj.pop("trace_id", None)
    obj.update(fingerprint=str(record.merged_from), count=record.occurrences, windows=record.windows or {},
               services=record.services or [])
    return PATTERNS.decode(obj)
