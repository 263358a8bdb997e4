"""From error events and fix results to alerts: what fires, once, and what resolves."""

from __future__ import annotations

from typing import Any

import pytest

from streamfix.core.alert_rules import default_rules, parse_rules
from streamfix.core.rates import RateConfig
from streamfix.kafka.wire import AlertRecord, ErrorEventRecord, FixResult
from streamfix.services.alerts import AlertContext, on_error, on_fix_result, quiet_resolve

T0 = 1_800_000_000.0
CHANNELS = ("slack", "discord", "pagerduty")


def ctx(rules: Any = None, **kw: Any) -> AlertContext:
    values: dict[str, Any] = {
        "rules": rules or default_rules(),
        "rate": RateConfig(bucket_seconds=60, season=24, warmup=24),
        "channels": CHANNELS,
        "public_url": "http://dash:6066/",
        "environment": "production",
        "quiet_resolve_seconds": 600.0,
        "max_cooldown_seconds": 3600.0,
    }
    values.update(kw)
    return AlertContext(**values)


def event(
    offset: int,
    ts: float,
    *,
    fp: str = "fp1:crit",
    severity: str = "CRITICAL",
    n: int = 1,
    partition: int = 0,
) -> ErrorEventRecord:
    return ErrorEventRecord(
        fingerprint=fp,
        error_type="OperationalError",
        message="db down",
        category="database_error",
        severity=severity,
        fixable=True,
        timestamp=ts,
        detected_at=ts,
        service="api",
        source_partition=partition,
        source_offset=offset,
        occurrences=n,
    )


def fix(status: str, updated: float, pr: str | None = "https://github.com/o/r/pull/9") -> FixResult:
    return FixResult(
        fix_id="fx1",
        request_id="fp1:crit#1",
        fingerprint="fp1:crit",
        status=status,
        pr_url=pr,
        created_at=T0,
        updated_at=updated,
    )


def run(
    context: AlertContext, records: list[ErrorEventRecord | FixResult], state: dict[str, Any] | None = None
) -> tuple[dict[str, Any] | None, list[AlertRecord]]:
    out: list[AlertRecord] = []
    for r in records:
        now = float(r.detected_at if isinstance(r, ErrorEventRecord) else r.updated_at)
        new, alerts = (
            on_error(state, r, context, now)
            if isinstance(r, ErrorEventRecord)
            else on_fix_result(state, r, context, now)
        )
        if new is not None:
            state = new
        out += alerts
    return state, out


def test_new_critical_pattern_is_one_alert_to_every_channel_then_cooldown() -> None:
    state, alerts = run(ctx(), [event(i, T0 + i * 10) for i in range(20)])
    assert [(a.kind, a.rules, a.channels) for a in alerts] == [
        ("critical", ["new-pattern", "critical"], list(CHANNELS))
    ]
    assert alerts[0].alert_id == "fp1:crit:critical:1"
    assert alerts[0].dashboard_url == "http://dash:6066/error-monitor/ui#/patterns/fp1:crit"
    assert state is not None and state["count"] == 20


def test_redelivered_event_changes_nothing() -> None:
    state, _ = run(ctx(), [event(5, T0)])
    new, alerts = on_error(state, event(5, T0), ctx(), T0 + 1)
    assert new is None and alerts == []


def test_same_event_without_saved_state_has_the_same_alert_id() -> None:
    _, first = run(ctx(), [event(5, T0)])
    _, again = run(ctx(), [event(5, T0)])  # the worker died before saving the state
    assert [a.alert_id for a in first] == [a.alert_id for a in again]


def test_fix_opened_and_merged_resolve_the_incident_once() -> None:
    rules = parse_rules(
        "[[rule]]\nname='crit'\non=['critical']\n[[rule]]\nname='fix'\non=['fix_opened','fix_merged']\n"
        "channels=['slack']"
    )
    state, alerts = run(
        ctx(rules), [event(1, T0), fix("pr_open", T0 + 100), fix("merged", T0 + 200), fix("merged", T0 + 200)]
    )
    assert [(a.kind, a.action, a.channels) for a in alerts] == [
        ("critical", "trigger", list(CHANNELS)),
        ("fix_opened", "trigger", ["slack"]),
        ("fix_merged", "trigger", ["slack"]),
        ("resolved", "resolve", ["pagerduty"]),
    ]
    assert alerts[1].pr_url == "https://github.com/o/r/pull/9"
    assert state is not None and state["incident"] == []


def test_regression_after_merge() -> None:
    rules = parse_rules("[[rule]]\nname='reg'\non=['regression']")
    _, alerts = run(
        ctx(rules),
        [
            event(1, T0, severity="HIGH"),
            fix("merged", T0 + 100),
            event(2, T0 + 50, severity="HIGH"),
            event(3, T0 + 300, severity="HIGH"),
            event(4, T0 + 400, severity="HIGH"),
        ],
    )
    assert [a.kind for a in alerts] == ["regression"]


def test_spike_fires_against_the_learnt_baseline() -> None:
    rules = parse_rules("[[rule]]\nname='spikes'\non=['spike']\ncooldown_seconds=0")
    context = ctx(rules)
    records = []
    offset = 0
    for minute in range(24 * 3):  # three "days" of 24 one-minute buckets, 10 per bucket
        offset += 1
        records.append(event(offset, T0 + minute * 60 + 1, severity="HIGH", n=10))
    offset += 1
    records.append(event(offset, T0 + 72 * 60 + 1, severity="HIGH", n=60))
    _, alerts = run(context, records)
    assert [a.kind for a in alerts] == ["spike"]
    assert alerts[0].spike_score is not None and alerts[0].spike_score > 5
    assert alerts[0].baseline == pytest.approx(10, rel=0.3)


def test_quiet_pattern_resolves_by_sweep_and_triggers_again_when_back() -> None:
    context = ctx()
    state, _ = run(context, [event(1, T0)])
    assert state is not None
    assert quiet_resolve(state, context, T0 + 599) is None
    resolve = quiet_resolve(state, context, T0 + 600)
    assert resolve is not None and resolve.action == "resolve" and resolve.channels == ["pagerduty"]
    assert quiet_resolve(state, context, T0 + 900).alert_id == resolve.alert_id  # type: ignore[union-attr]
    _, again = run(context, [event(2, T0 + 700)], state)
    assert [a.kind for a in again] == ["critical"]


def test_filters_by_environment_and_service() -> None:
    rules = parse_rules(
        "[[rule]]\nname='prod-api'\non=['new_pattern']\nservices=['api']\nenvironments=['staging']"
    )
    _, alerts = run(ctx(rules), [event(1, T0)])
    assert alerts == []


def test_texts_are_redacted_before_they_are_cut() -> None:
    secret = "ghp_" + "Q1w2E3r4T5y6U7i8O9p0A1s2D3f4G5h6J7k8"
    record = event(1, T0).model_copy(update={"message": "x" * 1985 + f" token={secret}", "title": ""})
    state, alerts = on_error(None, record, ctx(), T0)
    assert state is not None and alerts
    for text in (state["message"], state["title"], alerts[0].message, alerts[0].title):
        assert secret[:12] not in text
