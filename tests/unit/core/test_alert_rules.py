"""Alert rules: parsing, matching, cooldown, quiet hours, digest."""

from __future__ import annotations

import pytest

from streamfix.core.alert_rules import (
    AlertRulesError,
    Happening,
    QuietHours,
    default_rules,
    evaluate,
    parse_rules,
    plan_digest,
    prune_cooldowns,
    resolve_channels,
)

RULES = """
[defaults]
cooldown_seconds = 600
digest_threshold = 3

[quiet_hours]
start = "22:00"
end = "07:00"
utc_offset_minutes = 60

[[rule]]
name = "db"
on = ["spike", "critical"]
categories = ["database_error"]
severities = ["CRITICAL", "HIGH"]
services = ["api"]
environments = ["production"]
channels = ["slack", "pagerduty"]

[[rule]]
name = "fixes"
on = ["fix_opened", "fix_merged"]
"""

NOON = 12 * 3600.0  # 13:00 at UTC+1
MIDNIGHT = 23 * 3600.0  # 00:00 at UTC+1


def happening(**kw: object) -> Happening:
    base: dict[str, object] = {
        "kind": "spike",
        "fingerprint": "fp1:a",
        "category": "database_error",
        "severity": "HIGH",
        "service": "api",
        "environment": "production",
    }
    base.update(kw)
    return Happening(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("change", "fires"),
    [
        ({}, True),
        ({"category": "cache_error"}, False),
        ({"severity": "LOW"}, False),
        ({"service": "worker"}, False),
        ({"environment": "staging"}, False),
        ({"service": None}, False),
        ({"kind": "new_pattern"}, False),
    ],
    ids=[
        "all-match",
        "other-category",
        "low-severity",
        "other-service",
        "other-env",
        "no-service",
        "other-kind",
    ],
)
def test_filters(change: dict[str, object], fires: bool) -> None:
    rules = parse_rules(RULES, channel_names=("slack", "discord", "pagerduty"))
    decisions = evaluate(rules, happening(**change), NOON, {})
    assert bool(decisions) is fires


def test_cooldown_per_rule_and_pattern() -> None:
    rules = parse_rules(RULES)
    first = evaluate(rules, happening(), NOON, {})
    assert [d.rule for d in first] == ["db"]
    fired = {first[0].cooldown_key: NOON}
    assert evaluate(rules, happening(), NOON + 599, fired) == []
    assert evaluate(rules, happening(fingerprint="fp1:b"), NOON + 1, fired) != []
    assert evaluate(rules, happening(), NOON + 600, fired) != []


def test_fix_events_ignore_cooldown() -> None:
    rules = parse_rules(RULES)
    fired = {"fixes|fp1:a": NOON}
    assert evaluate(rules, happening(kind="fix_merged"), NOON + 1, fired) != []


def test_quiet_hours_delay_all_but_allowed_severities() -> None:
    rules = parse_rules(RULES)
    high = evaluate(rules, happening(), MIDNIGHT, {})
    assert high[0].not_before == 86400 + 6 * 3600.0  # 07:00 the next day at UTC+1
    critical = evaluate(rules, happening(severity="CRITICAL", kind="critical"), MIDNIGHT, {})
    assert critical[0].not_before == MIDNIGHT
    assert evaluate(rules, happening(), NOON, {})[0].not_before == NOON


@pytest.mark.parametrize(
    ("start", "end", "minute", "active"),
    [
        (22 * 60, 7 * 60, 23 * 60, True),
        (22 * 60, 7 * 60, 6 * 60 + 59, True),
        (22 * 60, 7 * 60, 7 * 60, False),
        (9 * 60, 17 * 60, 12 * 60, True),
        (9 * 60, 17 * 60, 8 * 60, False),
    ],
    ids=["wrap-evening", "wrap-morning", "wrap-end-exclusive", "day-inside", "day-outside"],
)
def test_quiet_hours_window(start: int, end: int, minute: int, active: bool) -> None:
    assert QuietHours(start, end).active(minute * 60.0) is active


def test_defaults_send_critical_and_new_patterns_everywhere() -> None:
    rules = default_rules()
    new = evaluate(rules, happening(kind="new_pattern", severity="LOW"), NOON, {})
    assert [d.channels for d in new] == [None]
    crit = evaluate(rules, happening(kind="critical", severity="CRITICAL"), NOON, {})
    assert [d.channels for d in crit] == [None]
    assert evaluate(rules, happening(kind="spike"), NOON, {}) == []
    assert resolve_channels([None], ["slack", "discord"]) == ("slack", "discord")
    assert resolve_channels([("discord",), ("pagerduty",)], ["slack", "discord"]) == ("discord",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[rule]]\non = ['explode']", "unknown ['explode']"),
        ("[[rule]]\nname='x'\non = []", "name at least one"),
        ("[[rule]]\non = ['spike']\nseverities=['URGENT']", "severities"),
        ("[[rule]]\non = ['spike']\nchannels=['pager']", "channels: unknown ['pager']"),
        ("[quiet_hours]\nstart='25:00'\nend='07:00'\n[[rule]]\non=['spike']", "HH:MM"),
        ("[defaults]\ncooldown_seconds=-1\n[[rule]]\non=['spike']", "number"),
        ("[[rule]]\nname='a'\non=['spike']\n[[rule]]\nname='a'\non=['critical']", "unique"),
        ("[rules]\nx=1", "unknown sections"),
        ("not toml = = =", "rules.toml"),
        ("[defaults]\n", "no [[rule]]"),
    ],
    ids=[
        "bad-kind",
        "empty-on",
        "bad-severity",
        "unknown-channel",
        "bad-time",
        "negative",
        "duplicate",
        "section",
        "syntax",
        "no-rules",
    ],
)
def test_bad_files_are_clear_errors(text: str, message: str) -> None:
    with pytest.raises(AlertRulesError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_rules(text, source="rules.toml", channel_names=("slack",))


def test_digest_plan_and_pruning() -> None:
    assert plan_digest(["a", "b"], 3).singles == ("a", "b")
    assert plan_digest(["a", "b", "c", "d"], 3).digest == ("a", "b", "c", "d")
    assert plan_digest(["a", "b", "c", "d"], 3, digestible=False).singles == ("a", "b", "c", "d")
    assert prune_cooldowns({"x": 0.0, "y": 90.0}, 100.0, 50.0) == {"y": 90.0}
