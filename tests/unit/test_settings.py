from __future__ import annotations

import pytest

from streamfix.runtime.settings import Settings, load_settings

ENV_CASES = [
    ("documented-anthropic", {"ANTHROPIC_API_KEY": "sk-ant-api03-secret"}, "anthropic_api_key", "sk-ant-api03-secret"),
    ("documented-github", {"GITHUB_TOKEN": "ghp_secret"}, "github_token", "ghp_secret"),
    ("documented-loki-enabled", {"LOKI_ENABLED": "true"}, "loki_enabled", True),
    ("documented-loki-push", {"LOKI_PUSH_URL": "http://loki:3100/loki/api/v1/push"}, "loki_push_url",
     "http://loki:3100/loki/api/v1/push"),
    ("documented-monitoring", {"ERROR_MONITORING_ENABLED": "false"}, "error_monitoring_enabled", False),
    ("documented-autofix", {"AUTO_FIX_ENABLED": "1"}, "auto_fix_enabled", True),
    ("prefixed", {"STREAMFIX_TOPIC_PARTITIONS": "8"}, "topic_partitions", 8),
    ("prefixed-documented", {"STREAMFIX_AUTO_FIX_ENABLED": "true"}, "auto_fix_enabled", True),
    ("list", {"STREAMFIX_IN_APP_EXCLUDE": "/opt/lib, /usr/share"}, "in_app_exclude", ["/opt/lib", "/usr/share"]),
    ("fixable-default", {}, "fixable_categories",
     ["auth_error", "cache_error", "database_error", "external_service_error", "provider_error", "rate_limit_error",
      "timeout_error"]),
    ("fixable-list", {"STREAMFIX_FIXABLE_CATEGORIES": "internal_error, Timeout_Error"}, "fixable_categories",
     ["internal_error", "timeout_error"]),
    ("fixable-none", {"STREAMFIX_FIXABLE_CATEGORIES": ""}, "fixable_categories", []),
    ("broker-scheme-added", {"STREAMFIX_BROKER": "10.0.0.1:9092"}, "broker", "kafka://10.0.0.1:9092"),
]


@pytest.mark.parametrize(("env", "field", "expected"), [c[1:] for c in ENV_CASES], ids=[c[0] for c in ENV_CASES])
def test_environment(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], field: str, expected: object) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    value = getattr(load_settings(), field)
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    assert value == expected


def test_secrets_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-topsecret")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_topsecret")
    settings = load_settings()
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert "topsecret" not in text


def test_bootstrap_servers_strip_schemes() -> None:
    assert Settings(broker="kafka://a:1;kafka://b:2").bootstrap_servers == "a:1,b:2"


def test_invalid_value_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMFIX_TOPIC_PARTITIONS", "zero")
    with pytest.raises(ValueError, match="topic_partitions"):
        load_settings()


def test_unknown_fixable_category_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STREAMFIX_FIXABLE_CATEGORIES", "auth_error,code_bug")
    with pytest.raises(ValueError, match=r"fixable_categories(.|\n)*unknown category code_bug"):
        load_settings()


def test_fixable_categories_reach_the_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    from streamfix.services.ingest import pipeline_config

    monkeypatch.setenv("STREAMFIX_FIXABLE_CATEGORIES", "internal_error")
    assert pipeline_config(load_settings()).fixable_categories == {"internal_error"}


def test_readme_configuration_table_is_current() -> None:
    from pathlib import Path

    from streamfix.runtime.settings import markdown_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start, end = "<!-- settings-table:start -->\n", "<!-- settings-table:end -->"
    table = readme[readme.index(start) + len(start):readme.index(end)]
    assert table == markdown_table(), "regenerate the README table with: python -m streamfix.runtime.settings"
