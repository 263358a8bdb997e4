"""From error events and fix results to alerts: the per-pattern alert state and what fires.

Plain functions over the JSON-able value of the alerts agent's ``alert_state`` table (one per
fingerprint). Idempotent like pattern aggregation: the state keeps the highest raw-topic marker applied
per source partition and the fix states already seen, so a redelivered record changes nothing and
fires nothing. Alert ids are deterministic (``<fingerprint>:<kind>:<sequence>``, the sequence kept in
the same state), so an alert published twice because the worker died before its state was saved has
the same id both times, and delivery (keyed by alert id and channel) sends it once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from streamfix.alerting.redact import scrub
from streamfix.core.alert_rules import (
    Decision,
    Happening,
    RuleSet,
    evaluate,
    prune_cooldowns,
    resolve_channels,
)
from streamfix.core.patterns import is_duplicate, marker_of
from streamfix.core.rates import Analysis, RateConfig, RateState, analyze, bucket_of, update
from streamfix.kafka.wire import AlertRecord, ErrorEventRecord, FixResult
from streamfix.services.convert import applied_marker

INCIDENT_CHANNELS = ("pagerduty", "opsgenie")
INCIDENT_KINDS = frozenset({"critical", "spike", "regression", "new_pattern"})
FIX_KINDS = {
    "pr_open": "fix_opened",
    "merged": "fix_merged",
    "pr_failed": "fix_failed",
    "analysis_failed": "fix_failed",
    "fix_invalid": "fix_failed",
}
MAX_FIX_EVENTS = 64

State = dict[str, Any]


@dataclass(frozen=True, slots=True)
class AlertContext:
    rules: RuleSet
    rate: RateConfig
    channels: tuple[str, ...]
    public_url: str
    environment: str | None
    quiet_resolve_seconds: float
    max_cooldown_seconds: float

    def dashboard_url(self, fingerprint: str) -> str:
        return f"{self.public_url.rstrip('/')}/error-monitor/ui#/patterns/{fingerprint}"


def _new_state(record: ErrorEventRecord) -> State:
    return {
        "fingerprint": record.fingerprint,
        "count": 0,
        "seq": 0,
        "fired": {},
        "applied": {},
        "fix_events": [],
        "incident": [],
        "rate": {},
        "open": None,
        "first_seen": None,
        "last_seen": None,
    }


def _alert(
    state: State,
    ctx: AlertContext,
    kind: str,
    decisions: Sequence[Decision],
    now: float,
    *,
    action: str = "trigger",
    channels: Sequence[str] | None = None,
    analysis: Analysis | None = None,
) -> AlertRecord:
    state["seq"] = int(state.get("seq", 0)) + 1
    fp = state["fingerprint"]
    fix = state.get("fix") or {}
    return AlertRecord(
        alert_id=f"{fp}:{kind}:{state['seq']}",
        fingerprint=fp,
        kind=kind,
        action=action,
        rules=[d.rule for d in decisions],
        channels=list(
            channels
            if channels is not None
            else resolve_channels((d.channels for d in decisions), ctx.channels)
        ),
        severity=state.get("severity", "MEDIUM"),
        category=state.get("category", ""),
        title=state.get("title", ""),
        message=state.get("message", ""),
        error_type=state.get("error_type", ""),
        service=state.get("service"),
        environment=ctx.environment,
        count=int(state.get("count", 0)),
        rate=analysis.count if analysis else None,
        baseline=round(analysis.baseline, 3) if analysis else None,
        spike_score=round(analysis.score, 3) if analysis else None,
        trend=analysis.trend if analysis else None,
        dashboard_url=ctx.dashboard_url(fp),
        pr_url=fix.get("pr_url"),
        fix_status=fix.get("status"),
        first_seen=state.get("first_seen"),
        last_seen=state.get("last_seen"),
        not_before=max([d.not_before for d in decisions], default=now),
        created_at=now,
    )


PRIORITY = ("critical", "regression", "spike", "new_pattern", "fix_failed", "fix_merged", "fix_opened")


def _fire(
    state: State,
    ctx: AlertContext,
    happenings: Sequence[Happening],
    now: float,
    analysis: Analysis | None = None,
) -> list[AlertRecord]:
    """At most one alert per call: what one record made fire, under its most important kind.

    A new critical pattern is one message (kind ``critical``, both rules named), not two.
    """
    fired = dict(state.get("fired", {}))
    decisions: list[Decision] = []
    for happening in happenings:
        decisions.extend(evaluate(ctx.rules, happening, now, fired))
    if not decisions:
        return []
    kinds = {d.kind for d in decisions}
    kind = next(k for k in PRIORITY if k in kinds)
    alert = _alert(state, ctx, kind, decisions, now, analysis=analysis if "spike" in kinds else None)
    for d in decisions:
        fired[d.cooldown_key] = now
    state["fired"] = prune_cooldowns(fired, now, ctx.max_cooldown_seconds)
    if kinds & INCIDENT_KINDS:
        incident = set(state.get("incident", [])) | {c for c in alert.channels if c in INCIDENT_CHANNELS}
        state["incident"] = sorted(incident)
    return [alert]


def on_error(
    current: Mapping[str, Any] | None, record: ErrorEventRecord, ctx: AlertContext, now: float
) -> tuple[State | None, list[AlertRecord]]:
    """Fold one error event in; returns the new state (None: a duplicate, nothing changes) and the alerts."""
    event = applied_marker(record)
    if is_duplicate(current, event):
        return None, []
    state: State = dict(current) if current is not None else _new_state(record)
    new_pattern = current is None
    seen_at = float(record.timestamp or record.detected_at)
    previous_seen = state.get("last_seen")
    # redacted before it is cut: a secret cut in half no longer looks like one
    state.update(
        severity=record.severity,
        category=record.category,
        error_type=scrub(record.error_type)[:200],
        title=scrub(record.title or f"{record.error_type}: {record.message}")[:200],
        message=scrub(record.message)[:2000],
        service=record.service or state.get("service"),
    )
    state["count"] = int(state.get("count", 0)) + record.occurrences
    state["first_seen"] = min(seen_at, state["first_seen"]) if state.get("first_seen") else seen_at
    state["last_seen"] = max(seen_at, previous_seen) if previous_seen else seen_at
    partition, offset, index = marker_of(event)
    if offset >= 0:
        state["applied"] = {**state.get("applied", {}), partition: [offset, index]}
    happenings: list[Happening] = []
    if (
        previous_seen is not None
        and state.get("incident")
        and seen_at - previous_seen >= ctx.quiet_resolve_seconds
    ):
        # it went quiet long enough to be resolved (by the sweep); a new occurrence may trigger again
        state["incident"] = []
        state["fired"] = {
            k: v for k, v in state.get("fired", {}).items() if not k.startswith(("critical|", "spike|"))
        }
    # rates: close the open bucket when this event is in a later one
    rate = RateState.from_dict(state.get("rate"))
    bucket = bucket_of(seen_at, ctx.rate)
    open_bucket = state.get("open")
    if open_bucket is not None and bucket > open_bucket[0]:
        rate = update(rate, ctx.rate, int(open_bucket[0]), float(open_bucket[1]))
        open_bucket = None
    if open_bucket is None or bucket >= open_bucket[0]:
        open_bucket = [bucket, (open_bucket[1] if open_bucket else 0) + record.occurrences]
    state["open"], state["rate"] = open_bucket, rate.to_dict()
    analysis = analyze(rate, ctx.rate, int(open_bucket[0]), float(open_bucket[1]))

    def happening(kind: str) -> Happening:
        return Happening(
            kind,  # type: ignore[arg-type]
            record.fingerprint,
            record.category,
            record.severity,
            record.service,
            ctx.environment,
        )

    if new_pattern:
        happenings.append(happening("new_pattern"))
    if record.severity == "CRITICAL":
        happenings.append(happening("critical"))
    fix = state.get("fix") or {}
    if (
        fix.get("status") == "merged"
        and not fix.get("regressed")
        and seen_at > float(fix.get("merged_at", 0))
    ):
        state["fix"] = {**fix, "regressed": True}
        happenings.append(happening("regression"))
    if analysis.spike:
        happenings.append(happening("spike"))
    return state, _fire(state, ctx, happenings, now, analysis)


def on_fix_result(
    current: Mapping[str, Any] | None, result: FixResult, ctx: AlertContext, now: float
) -> tuple[State | None, list[AlertRecord]]:
    """A fix changed state: fix alerts, and the incident's resolve when the fix merged."""
    key = f"{result.fix_id}|{result.status}"
    if current is not None and key in current.get("fix_events", []):
        return None, []
    state: State = (
        dict(current)
        if current is not None
        else {
            "fingerprint": result.fingerprint,
            "count": 0,
            "seq": 0,
            "fired": {},
            "applied": {},
            "incident": [],
            "severity": result.severity,
            "category": result.category,
            "error_type": scrub(result.error_type)[:200],
            "title": scrub(f"{result.error_type}: {result.message}")[:200],
            "message": scrub(result.message)[:2000],
        }
    )
    state["fix_events"] = [*state.get("fix_events", []), key][-MAX_FIX_EVENTS:]
    fix = dict(state.get("fix") or {})
    fix.update(status=result.status, fix_id=result.fix_id)
    if result.pr_url:
        fix["pr_url"] = result.pr_url
    alerts: list[AlertRecord] = []
    if result.status == "merged":
        fix.update(merged_at=result.updated_at, regressed=False)
    state["fix"] = fix
    kind = FIX_KINDS.get(result.status)
    if kind is not None:
        happening = Happening(
            kind,  # type: ignore[arg-type]
            result.fingerprint,
            state.get("category", ""),
            state.get("severity", "MEDIUM"),
            state.get("service"),
            ctx.environment,
        )
        alerts.extend(_fire(state, ctx, [happening], now))
    if result.status == "merged" and state.get("incident"):
        alerts.append(resolve_alert(state, ctx, now))
        state["incident"] = []
    return state, alerts


def resolve_alert(state: State, ctx: AlertContext, now: float) -> AlertRecord:
    channels = [c for c in state.get("incident", []) if c in ctx.channels]
    return _alert(state, ctx, "resolved", [], now, action="resolve", channels=channels)


def quiet_resolve(state: Mapping[str, Any], ctx: AlertContext, now: float) -> AlertRecord | None:
    """The resolve of an open incident whose pattern has been quiet long enough (for the sweep timer).

    Its id names the last alert of the pattern, so the sweep may send it on every tick and after a
    restart: delivery sends it once. The state is not changed here; :func:`on_error` closes the
    incident when the pattern comes back after the same quiet period.
    """
    last_seen = state.get("last_seen")
    if not state.get("incident") or last_seen is None or now - float(last_seen) < ctx.quiet_resolve_seconds:
        return None
    copy = dict(state)
    alert = resolve_alert(copy, ctx, now)
    return alert.model_copy(
        update={"alert_id": f"{state['fingerprint']}:resolved:quiet:{state.get('seq', 0)}"}
    )


def quiet_resolves(
    states: Iterable[tuple[str, Any]], owned: Callable[[str], bool], ctx: AlertContext, now: float
) -> list[AlertRecord]:
    """The resolves due (:func:`quiet_resolve`) for the patterns whose state this worker owns."""
    out = []
    for fingerprint, value in states:
        if isinstance(value, dict) and owned(fingerprint):
            alert = quiet_resolve(value, ctx, now)
            if alert is not None:
                out.append(alert)
    return out
