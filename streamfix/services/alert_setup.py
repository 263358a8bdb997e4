"""Alerting built from the settings: the rules, the rate model, the channels, the delivery store."""

from __future__ import annotations

from pathlib import Path

from streamfix.alerting.channels import Channel, configured_channels
from streamfix.alerting.delivery import Deliverer
from streamfix.alerting.store import DeliveryStore
from streamfix.core.alert_rules import AlertRulesError, RuleSet, default_rules, parse_rules
from streamfix.core.rates import RateConfig
from streamfix.errors import ConfigError
from streamfix.runtime.settings import Settings
from streamfix.services.alerts import AlertContext

CHANNEL_KINDS = ("slack", "discord", "pagerduty", "opsgenie", "webhook")


def load_rules(settings: Settings) -> RuleSet:
    """The rules file, or the defaults. A rule may name a channel that is not configured here (it is
    skipped at delivery), but not one that does not exist."""
    if settings.alert_rules is None:
        return default_rules()
    try:
        text = settings.alert_rules.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"STREAMFIX_ALERT_RULES: cannot read {settings.alert_rules}: {exc.strerror}"
        ) from None
    try:
        return parse_rules(text, source=str(settings.alert_rules), channel_names=CHANNEL_KINDS)
    except AlertRulesError as exc:
        raise ConfigError(str(exc)) from None


def rate_config(settings: Settings) -> RateConfig:
    width = settings.alert_bucket_seconds
    return RateConfig(bucket_seconds=width, season=max(1, 86400 // width), warmup=max(1, 86400 // width))


def alert_context(settings: Settings, channels: dict[str, Channel] | None = None) -> AlertContext:
    names = tuple(channels if channels is not None else configured_channels(settings))
    rules = load_rules(settings)
    longest = max((r.cooldown_seconds for r in rules.rules), default=3600.0)
    return AlertContext(
        rules=rules,
        rate=rate_config(settings),
        channels=names,
        public_url=settings.alert_public_url,
        environment=settings.alert_environment,
        quiet_resolve_seconds=settings.alert_resolve_quiet_seconds,
        max_cooldown_seconds=longest,
    )


def store_path(settings: Settings) -> Path:
    return settings.alert_db or settings.data_dir / "alerts.sqlite"


def deliverer(settings: Settings, store: DeliveryStore, rules: RuleSet) -> Deliverer:
    return Deliverer(
        store,
        configured_channels(settings),
        rate_per_minute=settings.alert_rate_per_minute,
        retry_base=settings.alert_retry_base_seconds,
        retry_max=settings.alert_retry_max_seconds,
        timeout=settings.alert_http_timeout,
        digest_threshold=rules.digest_threshold,
    )
