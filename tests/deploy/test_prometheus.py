"""promtool checks of the alert rules, their unit tests, the compose Prometheus config and the
dashboard's PromQL. promtool comes from scripts/install-deploy-tools.sh (Debian package prometheus)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.deploy.helpers import (
    ALERT_RULES,
    ALERT_TESTS,
    DASHBOARD,
    PROMETHEUS_CONFIG,
    alert_rules,
    dashboard_promql,
    load_json,
    load_yaml,
    loud_skip,
    substitute_grafana_variables,
)

PROMTOOL = shutil.which("promtool")


@pytest.fixture(scope="module")
def promtool() -> str:
    if PROMTOOL is None:
        loud_skip(
            "PROMTOOL NOT FOUND: the Prometheus rule and config checks did NOT run. "
            "Run scripts/install-deploy-tools.sh (installs the Debian package prometheus)."
        )
    return PROMTOOL


def _run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=60, check=False, cwd=cwd)


def test_promtool_check_rules(promtool: str) -> None:
    result = _run(promtool, "check", "rules", str(ALERT_RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_of_the_alerts(promtool: str) -> None:
    result = _run(promtool, "test", "rules", ALERT_TESTS.name, cwd=ALERT_TESTS.parent)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_config(promtool: str) -> None:
    result = _run(promtool, "check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


def test_dashboard_queries_parse(promtool: str, tmp_path: Path) -> None:
    """Each dashboard expression, as a recording rule, must pass promtool's parser."""
    queries = dashboard_promql(load_json(DASHBOARD))
    assert queries
    rules = [
        {"record": f"streamfix:dashboard_query_{index}", "expr": substitute_grafana_variables(expr)}
        for index, (_title, expr) in enumerate(queries)
    ]
    rule_file = tmp_path / "dashboard_rules.yml"
    rule_file.write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}), encoding="utf-8"
    )
    result = _run(promtool, "check", "rules", str(rule_file))
    assert result.returncode == 0, result.stdout + result.stderr


def test_alerts_requested_by_the_issue_exist() -> None:
    rules = {rule["alert"]: rule for rule in alert_rules() if "alert" in rule}
    assert "StreamfixErrorRateSpike" in rules
    assert 'severity="CRITICAL"' in rules["StreamfixCriticalErrors"]["expr"]
    assert "streamfix_fixes_total" in rules["StreamfixFixFailures"]["expr"]
    assert "streamfix_source_lag_seconds" in rules["StreamfixSourceLag"]["expr"]


@pytest.mark.parametrize("rule", [r for r in alert_rules() if "alert" in r], ids=lambda r: r["alert"])
def test_every_alert_has_severity_and_summary(rule: dict[str, object]) -> None:
    labels = rule.get("labels")
    annotations = rule.get("annotations")
    assert isinstance(labels, dict)
    assert labels.get("severity") in {"critical", "warning", "info"}
    assert isinstance(annotations, dict)
    assert annotations.get("summary")
    assert annotations.get("description")


def test_every_alert_has_a_unit_test() -> None:
    tested = {
        case["alertname"]
        for test in load_yaml(ALERT_TESTS)["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    names = {rule["alert"] for rule in alert_rules() if "alert" in rule}
    untested = names - tested
    assert not untested, f"alerts without a firing promtool test: {sorted(untested)}"


def test_compose_prometheus_scrapes_the_workers_and_loads_the_rules() -> None:
    config = load_yaml(PROMETHEUS_CONFIG)
    assert config["rule_files"] == [ALERT_RULES.name]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    worker = jobs["streamfix-worker"]
    assert worker["metrics_path"] == "/metrics"
    (sd,) = worker["dns_sd_configs"]
    assert sd["names"] == ["worker"]
    assert sd["port"] == 8000
