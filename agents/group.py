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
from streamfix import metrics
from streamfix.core.patterns import apply_event, apply_window_count
from streamfix.core.trigger import TriggerPolicy, decide, next_attempt
from streamfix.errors import WireError
from streamfix.wire import ErrorEventRecord, FixRequest

if TYPE_CHECKING:
    from streamfix.app import StreamfixApp

log = logging.getLogger(__name__)


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


def register(sf: StreamfixApp) -> None:
    settings = sf.settings
    patterns, counts, fix_state = sf.tables["patterns"], sf.tables["counts"], sf.tables["fix_state"]
    fix_requests = sf.topics["fix_requests"]
    policy = TriggerPolicy(
        threshold=settings.fix_threshold_count,
        window_seconds=settings.fix_threshold_window_seconds,
        count_window_width=settings.window_seconds,
        auto_fix_enabled=settings.auto_fix_enabled,
    )

    dead_letter = dead_letter_sender(sf, "errors", "group")

    async def handle(value: Any) -> None:
        record = ErrorEventRecord.from_obj(value)
        event = record.model_dump()
        fp = record.fingerprint
        updated = apply_event(
            patterns.get(fp), event,
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

    @sf.app.agent(sf.topics["errors"], name=f"{settings.app_id}.group")
    async def group(stream: Any) -> None:
        async for event in stream.events():
            try:
                await handle(event.value)
            except Exception as exc:  # one bad record must never stop the agent
                if not isinstance(exc, WireError):
                    log.exception("error event could not be processed")
                reason = exc.reason if isinstance(exc, WireError) else "processing_error"
                await dead_letter(reason, str(exc), int(event.message.partition), int(event.message.offset),
                                  event.key, orjson.dumps(event.value))
