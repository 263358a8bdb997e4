"""The group agent: folds error events into patterns, counts them per window, triggers fixes.

Consumes the errors topic (keyed by fingerprint), so each pattern is owned by exactly one worker.
The logic is in :mod:`streamfix.core.patterns` and :mod:`streamfix.core.trigger`; this agent only
reads and writes tables and topics.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

import orjson

from agents.deadletter import dead_letter_sender
from agents.liveness import liveness_for
from streamfix.core.patterns import (
    alias_pattern,
    apply_event,
    apply_window_count,
    is_duplicate,
    merge_pattern,
)
from streamfix.core.trigger import TriggerPolicy, decide, next_attempt
from streamfix.errors import WireError
from streamfix.kafka.wire import ErrorEventRecord, FixRequest
from streamfix.runtime import metrics

if TYPE_CHECKING:
    from streamfix.runtime.app import StreamfixApp

log = logging.getLogger(__name__)


def value_bytes(value: Any) -> bytes:
    """The record's value for a dead letter: as received when it was not JSON, else re-encoded."""
    return bytes(value) if isinstance(value, bytes | bytearray) else orjson.dumps(value)


def fix_request_for(pattern: dict[str, Any], attempt: int, trigger: str, now: float) -> FixRequest:
    return FixRequest(
        request_id=f"{pattern['fingerprint']}#{attempt}",
        fingerprint=pattern["fingerprint"],
        attempt=attempt,
        trigger=trigger,
        category=pattern["category"],
        severity=pattern["severity"],
        error_type=pattern["error_type"],
        message=pattern["message"],
        file=pattern.get("file"),
        line=pattern.get("line"),
        function=pattern.get("function"),
        frames=pattern.get("frames", []),
        sample_traceback=pattern.get("traceback", ""),
        occurrences=pattern["count"],
        first_seen=pattern["first_seen"],
        last_seen=pattern["last_seen"],
        services=pattern.get("services", []),
        suggested_fix=pattern.get("suggested_fix", ""),
        requested_at=now,
    )


def merge_record_for(pattern: dict[str, Any], source: str, target: str) -> ErrorEventRecord:
    """The record that carries a merged pattern's counts to the pattern that absorbed it."""
    return ErrorEventRecord(
        fingerprint=target, merged_from=source, error_type=pattern.get("error_type", ""),
        message=pattern.get("message", ""), category=pattern.get("category", "internal_error"),
        severity=pattern.get("severity", "MEDIUM"), fixable=bool(pattern.get("fixable")),
        suggested_fix=pattern.get("suggested_fix", ""), file=pattern.get("file"), line=pattern.get("line"),
        function=pattern.get("function"), traceback=pattern.get("traceback", ""),
        occurrences=max(1, int(pattern.get("count", 1))), windows=pattern.get("windows", {}),
        first_seen=pattern.get("first_seen"), last_seen=pattern.get("last_seen"),
        services=pattern.get("services", []), detected_at=time.time(),
    )


def merge_payload(record: ErrorEventRecord) -> dict[str, Any]:
    """A merge record as the pattern it carries (see :func:`streamfix.core.patterns.merge_pattern`)."""
    return {
        "fingerprint": record.merged_from, "error_type": record.error_type, "message": record.message,
        "title": record.title, "category": record.category, "severity": record.severity,
        "fixable": record.fixable, "suggested_fix": record.suggested_fix, "file": record.file,
        "line": record.line, "function": record.function, "traceback": record.traceback,
        "frames": [f.model_dump() for f in record.frames], "incomplete": record.incomplete,
        "count": record.occurrences, "windows": record.windows or {}, "first_seen": record.first_seen,
        "last_seen": record.last_seen, "services": record.services or [], "auto_fix": record.auto_fix,
    }


def register(sf: StreamfixApp) -> None:
    settings = sf.settings
    patterns, counts, fix_state = sf.tables["patterns"], sf.tables["counts"], sf.tables["fix_state"]
    fix_requests, errors_topic = sf.topics["fix_requests"], sf.topics["errors"]
    policy = TriggerPolicy(
        threshold=settings.fix_threshold_count,
        window_seconds=settings.fix_threshold_window_seconds,
        count_window_width=settings.window_seconds,
        auto_fix_enabled=settings.auto_fix_enabled,
    )

    dead_letter = dead_letter_sender(sf, "errors", "group")

    async def forward(key: str, record: ErrorEventRecord) -> None:
        await (await errors_topic.send(key=key.encode(), value=record.model_dump(mode="json"), force=True))

    async def handle_alias(record: ErrorEventRecord, current: dict[str, Any] | None) -> None:
        """The template miner merged this pattern into another: move its counts there, once."""
        target = str(record.alias_of)
        updated = alias_pattern(current, record.fingerprint, target)
        if updated is None or target == record.fingerprint:
            return
        if current is not None and int(current.get("count", 0)) > 0:
            await forward(target, merge_record_for(current, record.fingerprint, target))
        patterns[record.fingerprint] = updated

    async def handle(value: Any) -> None:
        record = ErrorEventRecord.from_obj(value)
        fp = record.fingerprint
        current = patterns.get(fp)
        if record.alias_of:
            await handle_alias(record, current)
            return
        if current is not None and current.get("alias_of"):  # a merged pattern: its occurrences go on
            if is_duplicate(current, record.model_dump()):
                return  # counted here before the merge, so already part of the merged counts
            await forward(str(current["alias_of"]), record.model_copy(update={"fingerprint": current["alias_of"],
                                                                              "via": fp}))
            return
        if record.merged_from:
            merged = merge_pattern(current, merge_payload(record), fp)
            if merged is not None:
                patterns[fp] = merged
            return
        event = record.model_dump()
        updated = apply_event(
            current, event,
            window_seconds=settings.window_seconds, retention_seconds=settings.window_retention_seconds,
        )
        if updated is None:
            return  # redelivered: already counted
        now = time.time()
        trigger = decide(updated, fix_state.get(fp), now, policy)
        if trigger is not None:
            attempt = next_attempt(fix_state.get(fp))
            request = fix_request_for(updated, attempt, trigger, now)
            # delivered before the state that says "requested" can land in the changelog
            await (await fix_requests.send(key=fp.encode(), value=request.model_dump(mode="json"), force=True))
            fix_state[fp] = {"attempt": attempt, "status": "pending", "updated_at": now,
                             "request_id": request.request_id}
            metrics.FIX_REQUESTS.labels(trigger=trigger, category=record.category).inc()
        patterns[fp] = updated
        window_value = apply_window_count(counts[fp].current(), event)
        if window_value is not None:
            counts[fp] = window_value
        if record.published_at:
            metrics.DETECTION_LATENCY.observe(max(0.0, time.time() - record.published_at))

    live = liveness_for(sf)

    @sf.app.agent(sf.topics["errors"], name=f"{settings.app_id}.group")
    async def group(stream: Any) -> None:
        async for event in stream.events():
            if not await live.admit(event):  # an earlier record was never delivered: read again first
                continue
            try:
                await handle(event.value)
            except Exception as exc:  # one bad record must never stop the agent
                if not isinstance(exc, WireError):
                    log.exception("error event could not be processed")
                reason = exc.reason if isinstance(exc, WireError) else "processing_error"
                await dead_letter(reason, str(exc), int(event.message.partition), int(event.message.offset),
                                  event.key, value_bytes(event.value))
