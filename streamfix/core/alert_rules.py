"""Alert rules: which happenings become alerts, for which channels, and when they stay silent.

Rules are data, read from a TOML file (``STREAMFIX_ALERT_RULES``)::

    [defaults]
    cooldown_seconds = 3600        # per rule and pattern
    digest_threshold = 5           # more alerts than this due at once for a channel: one digest

    [quiet_hours]                  # optional; alerts below `allow` wait until the end
    start = "22:00"
    end = "07:00"
    utc_offset_minutes = 60
    allow = ["CRITICAL"]

    [[rule]]
    name = "payments-critical"
    on = ["critical", "spike"]     # new_pattern regression spike critical fix_opened fix_merged fix_failed
    categories = ["database_error"]  # empty or absent: any
    severities = ["CRITICAL", "HIGH"]
    services = ["payments"]
    environments = ["production"]
    channels = ["slack", "pagerduty"]  # absent: every configured channel
    cooldown_seconds = 900

Without a file, :func:`default_rules` sends critical and new-pattern alerts to every channel. Pure:
the caller passes the time and the last firing times (kept in the alerts agent's table).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args


class AlertRulesError(ValueError):
    """A mistake in an alert rules file, naming the place (reported as a config error by the settings
    layer)."""


Kind = Literal[
    "new_pattern", "regression", "spike", "critical", "fix_opened", "fix_merged", "fix_failed", "resolved"
]
KINDS: frozenset[str] = frozenset(get_args(Kind))
RULE_KINDS: frozenset[str] = KINDS - {"resolved"}
SEVERITIES: tuple[str, ...] = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO")
NO_COOLDOWN: frozenset[str] = frozenset({"fix_opened", "fix_merged", "fix_failed", "resolved"})


@dataclass(frozen=True, slots=True)
class Happening:
    """Something that may deserve an alert, for one pattern."""

    kind: Kind
    fingerprint: str
    category: str
    severity: str
    service: str | None = None
    environment: str | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    on: frozenset[str]
    categories: frozenset[str] = frozenset()
    severities: frozenset[str] = frozenset()
    services: frozenset[str] = frozenset()
    environments: frozenset[str] = frozenset()
    channels: tuple[str, ...] | None = None  # None: every configured channel
    cooldown_seconds: float = 3600.0

    def matches(self, event: Happening) -> bool:
        return (
            event.kind in self.on
            and (not self.categories or event.category in self.categories)
            and (not self.severities or event.severity in self.severities)
            and (not self.services or (event.service or "") in self.services)
            and (not self.environments or (event.environment or "") in self.environments)
        )


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Minutes of the day (local time = UTC + offset), ``start`` inclusive, ``end`` exclusive; may wrap
    midnight."""

    start_minute: int
    end_minute: int
    utc_offset_minutes: int = 0
    allow: frozenset[str] = frozenset({"CRITICAL"})

    def _minute(self, now: float) -> int:
        return int(((now / 60) + self.utc_offset_minutes) % 1440)

    def active(self, now: float) -> bool:
        m = self._minute(now)
        if self.start_minute <= self.end_minute:
            return self.start_minute <= m < self.end_minute
        return m >= self.start_minute or m < self.end_minute

    def ends_at(self, now: float) -> float:
        """The first moment after ``now`` when quiet hours are over (``now`` itself when they are not on)."""
        if not self.active(now):
            return now
        m = self._minute(now)
        wait = (self.end_minute - m) % 1440
        return (int(now // 60) + wait) * 60.0


@dataclass(frozen=True, slots=True)
class RuleSet:
    rules: tuple[Rule, ...]
    digest_threshold: int = 5
    quiet_hours: QuietHours | None = None
    source: str = "defaults"


@dataclass(frozen=True, slots=True)
class Decision:
    """One rule fired: send to ``channels`` (None: all) once ``not_before`` has passed."""

    rule: str
    kind: str
    channels: tuple[str, ...] | None
    not_before: float
    cooldown_key: str


def default_rules() -> RuleSet:
    return RuleSet(
        rules=(
            Rule("critical", frozenset({"critical"}), severities=frozenset({"CRITICAL"})),
            Rule("new-pattern", frozenset({"new_pattern"})),
        ),
    )


def cooldown_key(rule: str, fingerprint: str) -> str:
    return f"{rule}|{fingerprint}"


def evaluate(rules: RuleSet, event: Happening, now: float, last_fired: Mapping[str, float]) -> list[Decision]:
    """The rules ``event`` fires, given when each (rule, pattern) last fired."""
    out: list[Decision] = []
    for rule in rules.rules:
        if not rule.matches(event):
            continue
        key = cooldown_key(rule.name, event.fingerprint)
        last = last_fired.get(key)
        if event.kind not in NO_COOLDOWN and last is not None and now - last < rule.cooldown_seconds:
            continue
        not_before = now
        quiet = rules.quiet_hours
        if quiet is not None and event.severity not in quiet.allow and event.kind not in NO_COOLDOWN:
            not_before = quiet.ends_at(now)
        out.append(Decision(rule.name, event.kind, rule.channels, not_before, key))
    return out


def prune_cooldowns(last_fired: Mapping[str, float], now: float, keep_seconds: float) -> dict[str, float]:
    """Forget firing times older than every cooldown, so the state stays bounded."""
    return {k: v for k, v in last_fired.items() if now - v < keep_seconds}


def resolve_channels(
    decision_channels: Iterable[tuple[str, ...] | None], configured: Iterable[str]
) -> tuple[str, ...]:
    """Union of the channels of several decisions, limited to the configured ones, in configured order."""
    configured = tuple(configured)
    wanted: set[str] = set()
    for channels in decision_channels:
        wanted.update(configured if channels is None else channels)
    return tuple(c for c in configured if c in wanted)


# --- loading ----------------------------------------------------------------------------------------


def _minutes(value: Any, where: str) -> int:
    try:
        hours, minutes = str(value).split(":")
        h, m = int(hours), int(minutes)
    except ValueError:
        raise AlertRulesError(f"{where}: expected HH:MM, got {value!r}") from None
    if not (0 <= h < 24 and 0 <= m < 60):
        raise AlertRulesError(f"{where}: expected HH:MM, got {value!r}")
    return h * 60 + m


def _strings(
    table: Mapping[str, Any], key: str, where: str, allowed: Iterable[str] | None = None
) -> frozenset[str]:
    value = table.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise AlertRulesError(f"{where}.{key}: expected a list of strings")
    if allowed is not None:
        allowed_set = set(allowed)
        unknown = sorted(set(value) - allowed_set)
        if unknown:
            raise AlertRulesError(f"{where}.{key}: unknown {unknown}; expected some of {sorted(allowed_set)}")
    return frozenset(value)


def _number(table: Mapping[str, Any], key: str, default: float, where: str) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise AlertRulesError(f"{where}.{key}: expected a number ≥ 0, got {value!r}")
    return float(value)


def _offset(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not -840 <= value <= 840:
        raise AlertRulesError(f"{where}: expected whole minutes between -840 and 840, got {value!r}")
    return value


def parse_rules(text: str, *, source: str = "<rules>", channel_names: Iterable[str] = ()) -> RuleSet:
    """Parse a rules file; every mistake is a :class:`AlertRulesError` naming the place."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AlertRulesError(f"{source}: {exc}") from None
    unknown = sorted(set(data) - {"defaults", "quiet_hours", "rule"})
    if unknown:
        raise AlertRulesError(f"{source}: unknown sections {unknown}")
    defaults = data.get("defaults", {})
    cooldown = _number(defaults, "cooldown_seconds", 3600.0, f"{source}:defaults")
    digest = int(_number(defaults, "digest_threshold", 5, f"{source}:defaults"))
    quiet = None
    if "quiet_hours" in data:
        q = data["quiet_hours"]
        where = f"{source}:quiet_hours"
        quiet = QuietHours(
            _minutes(q.get("start"), f"{where}.start"),
            _minutes(q.get("end"), f"{where}.end"),
            _offset(q.get("utc_offset_minutes", 0), f"{where}.utc_offset_minutes"),
            _strings(q, "allow", where, SEVERITIES) if "allow" in q else frozenset({"CRITICAL"}),
        )
    raw_rules = data.get("rule", [])
    if not isinstance(raw_rules, list) or not raw_rules:
        raise AlertRulesError(f"{source}: no [[rule]] tables")
    names = tuple(channel_names)
    rules: list[Rule] = []
    for i, r in enumerate(raw_rules):
        where = f"{source}:rule[{i}]"
        name = r.get("name") or f"rule-{i}"
        if not isinstance(name, str):
            raise AlertRulesError(f"{where}.name: expected a string")
        where = f"{source}:rule {name!r}"
        on = _strings(r, "on", where, RULE_KINDS)
        if not on:
            raise AlertRulesError(f"{where}.on: name at least one of {sorted(RULE_KINDS)}")
        channels = None
        if "channels" in r:
            chosen = _strings(r, "channels", where, names or None)
            channels = tuple(sorted(chosen))
        rules.append(
            Rule(
                name=name,
                on=on,
                categories=_strings(r, "categories", where),
                severities=_strings(r, "severities", where, SEVERITIES),
                services=_strings(r, "services", where),
                environments=_strings(r, "environments", where),
                channels=channels,
                cooldown_seconds=_number(r, "cooldown_seconds", cooldown, where),
            )
        )
    if len({r.name for r in rules}) != len(rules):
        raise AlertRulesError(f"{source}: rule names must be unique")
    return RuleSet(tuple(rules), digest_threshold=max(1, digest), quiet_hours=quiet, source=source)


@dataclass(frozen=True, slots=True)
class DigestPlan:
    """What one delivery pass sends to one channel: single alerts, or one digest of many."""

    singles: tuple[str, ...] = ()
    digest: tuple[str, ...] = field(default_factory=tuple)


def plan_digest(alert_ids: Iterable[str], threshold: int, *, digestible: bool = True) -> DigestPlan:
    """More than ``threshold`` alerts due at once for a digestible channel become one digest."""
    ids = tuple(alert_ids)
    if digestible and len(ids) > threshold:
        return DigestPlan(digest=ids)
    return DigestPlan(singles=ids)
