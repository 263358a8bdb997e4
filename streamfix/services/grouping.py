"""Grouping: error events folded into patterns and window counts, merges between patterns, fix triggers.

:func:`group_event` is what the group agent calls for every record of the errors topic (keyed by
fingerprint, so each pattern has one owner). The folding itself is pure (:mod:`streamfix.core.patterns`,
:mod:`streamfix.core.trigger`); this module reads and writes the tables and publishes what follows:

- an occurrence updates its pattern and window count, and may trigger a fix request;
- an alias record (the template miner merged two patterns) marks the old pattern merged and sends
  its counts to the surviving one as a merge record;
- an occurrence of a merged pattern is forwarded to the surviving pattern (``via`` keeps its marker
  apart);
- a merge record adds the merged pattern's counts to the surviving one, once;
- with ``ERROR_MONITORING_ENABLED=false`` none of the above: events are consumed and counted only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from streamfix.core.effectiveness import EffectPolicy, record_occurrence
from streamfix.core.lifecycle import LifecyclePolicy, after_occurrence, compact, due_for_archive
from streamfix.core.patterns import (
    alias_pattern,
    apply_event,
    apply_window_count,
    is_duplicate,
    merge_pattern,
)
from streamfix.core.records import FIX_STATES, PATTERNS, FixState, Pattern
from streamfix.core.trigger import TriggerPolicy, decide, next_attempt
from streamfix.kafka.publish import Publisher
from streamfix.kafka.wire import ErrorEventRecord
from streamfix.runtime import metrics
from streamfix.runtime.logs import log_fields, trace
from streamfix.runtime.settings import Settings
from streamfix.services.convert import (
    applied_marker,
    event_trace_id,
    fix_request_for,
    merge_record_for,
    pattern_of_merge,
    severity_of,
)

log = logging.getLogger(__name__)


class WindowCounts(Protocol):
    """Per-fingerprint count of the current window (a Faust windowed table, or a dict in tests)."""

    def current(self, fingerprint: str) -> dict[str, Any] | None: ...

    def put(self, fingerprint: str, value: dict[str, Any]) -> None: ...


@dataclass(frozen=True, slots=True)
class GroupConfig:
    window_seconds: int
    retention_seconds: int
    policy: TriggerPolicy
    lifecycle: LifecyclePolicy = field(default_factory=LifecyclePolicy)
    effect: EffectPolicy = field(default_factory=EffectPolicy)
    monitoring_enabled: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> GroupConfig:
        return cls(
            window_seconds=settings.window_seconds,
            retention_seconds=settings.window_retention_seconds,
            policy=TriggerPolicy(
                threshold=settings.fix_threshold_count,
                window_seconds=settings.fix_threshold_window_seconds,
                count_window_width=settings.window_seconds,
                auto_fix_enabled=settings.auto_fix_enabled,
                regression_grace_seconds=settings.fix_regression_grace_seconds,
            ),
            lifecycle=lifecycle_policy(settings),
            effect=effect_policy(settings),
            monitoring_enabled=settings.error_monitoring_enabled,
        )


def effect_policy(settings: Settings) -> EffectPolicy:
    """The windows that judge a fix; at most half the count retention, so the before window is still kept."""
    window = min(settings.fix_effectiveness_window_seconds, settings.window_retention_seconds / 2)
    return EffectPolicy(window_seconds=window, grace_seconds=settings.fix_regression_grace_seconds,
                        width=settings.window_seconds)


def lifecycle_policy(settings: Settings) -> LifecyclePolicy:
    return LifecyclePolicy(grace_seconds=settings.fix_regression_grace_seconds,
                           resolve_seconds=settings.fix_resolve_quiet_seconds,
                           archive_seconds=settings.pattern_archive_days * 86400.0)


@dataclass(slots=True)
class GroupTables:
    """The tables the group agent owns: values are the records' JSON objects, as in the changelogs."""

    patterns: MutableMapping[str, Any]
    fix_state: MutableMapping[str, Any]
    counts: WindowCounts

    def pattern(self, fingerprint: str) -> Pattern | None:
        return PATTERNS.decode_optional(self.patterns.get(fingerprint))

    def put_pattern(self, pattern: Pattern) -> None:
        self.patterns[pattern.fingerprint] = PATTERNS.to_obj(pattern)

    def fix(self, fingerprint: str) -> FixState | None:
        return FIX_STATES.decode_optional(self.fix_state.get(fingerprint))


async def group_event(
    value: Any, tables: GroupTables, config: GroupConfig, out: Publisher,
    clock: Callable[[], float] = time.time,
) -> None:
    """Apply one errors-topic value; raises :class:`~streamfix.errors.WireError` when it is not a record.

    With monitoring disabled (``ERROR_MONITORING_ENABLED=false``) every record but an archive request is
    consumed and counted in ``streamfix_error_events_skipped_total``, not grouped: no pattern changes and
    no fix request, whoever produced the event. Runs under the record's trace id, so every line logged
    for it (and a fix request it triggers) carries it.
    """
    record = ErrorEventRecord.from_obj(value)
    if not config.monitoring_enabled and not record.archive:
        metrics.ERROR_EVENTS_SKIPPED.labels(reason="monitoring_disabled").inc()
        return
    with trace(event_trace_id(record)):
        await _apply(record, tables, config, out, clock)


async def _apply(record: ErrorEventRecord, tables: GroupTables, config: GroupConfig, out: Publisher,
                 clock: Callable[[], float]) -> None:
    current = tables.pattern(record.fingerprint)
    if record.archive:
        if current is not None and due_for_archive(current, clock(), config.lifecycle):
            tables.put_pattern(compact(current))
    elif record.alias_of:
        await _alias(record, current, tables, out, clock)
    elif current is not None and current.merged:
        if not is_duplicate(current, applied_marker(record)):  # else counted here before the merge
            target = str(current.alias_of)
            await out.send_and_wait("errors", target, record.model_copy(
                update={"fingerprint": target, "via": record.fingerprint}))
    elif record.merged_from:
        merged = merge_pattern(current, pattern_of_merge(record), record.fingerprint)
        if merged is not None:
            tables.put_pattern(merged)
    else:
        await _occurrence(record, current, tables, config, out, clock)


def archive_record_for(pattern: Pattern, now: float) -> ErrorEventRecord:
    """The record that asks the owner of ``pattern`` to compact it (the owner checks again)."""
    return ErrorEventRecord(fingerprint=pattern.fingerprint, archive=True, error_type=pattern.error_type,
                            message=pattern.message, category=pattern.category, severity=severity_of(pattern),
                            fixable=pattern.fixable, detected_at=now)


async def archive_sweep(patterns: Iterable[Pattern], config: GroupConfig, out: Publisher,
                        clock: Callable[[], float] = time.time) -> int:
    """Ask for every pattern quiet for the archive period to be compacted; returns how many.

    Timers cannot write tables, so the request goes through the errors topic (keyed by fingerprint) to
    the pattern's owner, which compacts it in :func:`group_event`: the sample traceback, frames and
    windows go, identity, counts and idempotence markers stay. Memory per archived pattern is bounded.
    """
    now = clock()
    sent = 0
    for pattern in patterns:
        if due_for_archive(pattern, now, config.lifecycle):
            await out.send("errors", pattern.fingerprint, archive_record_for(pattern, now))
            sent += 1
    return sent


async def _alias(record: ErrorEventRecord, current: Pattern | None, tables: GroupTables, out: Publisher,
                 clock: Callable[[], float]) -> None:
    """The template miner merged this pattern into another: move its counts there, once."""
    target = str(record.alias_of)
    updated = alias_pattern(current, record.fingerprint, target)
    if updated is None or target == record.fingerprint:
        return
    if current is not None and current.count > 0:
        await out.send_and_wait(
            "errors", target, merge_record_for(current, record.fingerprint, target, clock())
        )
    tables.put_pattern(updated)


async def _occurrence(record: ErrorEventRecord, current: Pattern | None, tables: GroupTables,
                      config: GroupConfig, out: Publisher, clock: Callable[[], float]) -> None:
    fp = record.fingerprint
    event = record.model_dump()
    updated = apply_event(current, event, window_seconds=config.window_seconds,
                          retention_seconds=config.retention_seconds)
    if updated is None:
        return  # redelivered: already counted
    now = clock()
    fix = tables.fix(fp)
    seen_at = float(record.timestamp or record.detected_at)
    updated = after_occurrence(current, updated, fix, seen_at, now, config.lifecycle)
    updated = record_occurrence(current, updated, fix, seen_at, record.occurrences, config.effect)
    if updated.status == "regressed" and (current is None or current.regressed_at != updated.regressed_at):
        metrics.REGRESSIONS.labels(category=record.category).inc()
    trigger = decide(updated, fix, now, config.policy)
    if trigger is not None:
        attempt = next_attempt(fix)
        request = fix_request_for(updated, attempt, trigger, now)
        # delivered before the state that says "requested" can land in the changelog
        await out.send_and_wait("fix_requests", fp, request)
        tables.fix_state[fp] = FIX_STATES.to_obj(
            FixState(attempt=attempt, status="pending", updated_at=now, request_id=request.request_id))
        metrics.FIX_REQUESTS.labels(trigger=trigger, category=record.category).inc()
        log.info("fix requested", extra=log_fields(fingerprint=fp, request_id=request.request_id,
                                                   trigger=trigger, batch_id=record.batch_id))
    tables.put_pattern(updated)
    window_value = apply_window_count(tables.counts.current(fp), event)
    if window_value is not None:
        tables.counts.put(fp, window_value)
    if record.published_at:
        metrics.DETECTION_LATENCY.observe(max(0.0, clock() - record.published_at))
