"""Alerting from the settings: channels present, rules file errors, defaults."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamfix.errors import ConfigError
from streamfix.runtime.settings import Settings
from streamfix.services.alert_setup import alert_context, rate_config, store_path


def test_channels_and_defaults(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, alert_slack_webhook_url="https://hooks.example/x",
                        alert_webhook_url="https://hook.example/in")
    ctx = alert_context(settings)
    assert ctx.channels == ("slack", "webhook")
    assert ctx.rules.source == "defaults"
    assert store_path(settings) == tmp_path / "alerts.sqlite"
    assert rate_config(Settings(alert_bucket_seconds=900)).season == 96


def test_rules_may_name_unconfigured_channels_but_not_unknown_ones(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[[rule]]\nname='x'\non=['spike']\nchannels=['opsgenie']\n")
    assert alert_context(Settings(alert_rules=rules)).rules.rules[0].channels == ("opsgenie",)
    rules.write_text("[[rule]]\nname='x'\non=['spike']\nchannels=['teams']\n")
    with pytest.raises(ConfigError, match="teams"):
        alert_context(Settings(alert_rules=rules))
    with pytest.raises(ConfigError, match="cannot read"):
        alert_context(Settings(alert_rules=tmp_path / "missing.toml"))
