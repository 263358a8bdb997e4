"""Shared helpers of the deployment tests: file locations, metric names and PromQL scanning.

:func:`metric_names_in_deploy_files` is the one to reuse elsewhere (for example against a running
worker's ``/metrics``): it returns every metric name the Grafana dashboard and the Prometheus alert
rules query.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
SCHEMAS = Path(__file__).resolve().parent / "schemas"

DOCKERFILE = REPO_ROOT / "Dockerfile"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
ENV_EXAMPLE = REPO_ROOT / ".env.example"
DASHBOARD = DEPLOY / "grafana" / "dashboards" / "streamfix.json"
GRAFANA_PROVISIONING = DEPLOY / "grafana" / "provisioning"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
ALERT_RULES = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts.test.yml"
K8S = DEPLOY / "k8s"
SYSTEMD_UNIT = DEPLOY / "systemd" / "streamfix-railway-watch.service"

# Grafana's built-in interval variables, replaced by a duration before PromQL is checked.
GRAFANA_DURATION_VARIABLES = ("$__rate_interval", "$__interval", "$__range")

_PROMQL_KEYWORDS = frozenset({
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right", "offset",
    "bool", "inf", "nan", "atan2",
})
# Aggregations accept their grouping clause before the parenthesis: sum by (x) (...).
_GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_MATCHERS = re.compile(r"\{[^{}]*\}")
_RANGE = re.compile(r"\[[^\]]*\]")
_IDENTIFIER = re.compile(r"(?<![\w.$:])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()")
_NUMBER_OR_DURATION = re.compile(r"^(\d+(\.\d+)?([smhdwy]|ms)?)+$")


def loud_skip(message: str, *, allow_module_level: bool = False) -> NoReturn:
    """Skip, with a banner on stderr: a missing tool must never pass for a passing check."""
    print(f"\n{'!' * 100}\n{message}\n{'!' * 100}", file=sys.stderr)
    pytest.skip(message, allow_module_level=allow_module_level)


def load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_json(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def substitute_grafana_variables(expr: str, duration: str = "5m") -> str:
    """Replace Grafana's interval variables by a concrete duration so that promtool can parse it."""
    for variable in GRAFANA_DURATION_VARIABLES:
        expr = expr.replace(variable, duration)
    return expr


def promql_metric_names(expr: str) -> set[str]:
    """Metric names a PromQL expression selects.

    Strips string literals, label matchers, range and offset brackets and grouping clauses, then
    keeps the identifiers that are neither function calls nor keywords nor numbers.
    """
    text = _STRING.sub('""', expr)
    text = _MATCHERS.sub(" ", text)
    text = _RANGE.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        token = match.group(1)
        if token.lower() in _PROMQL_KEYWORDS or _NUMBER_OR_DURATION.match(token):
            continue
        names.add(token)
    return names


def dashboard_panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel of a dashboard, including those nested in collapsed rows."""
    panels: list[dict[str, Any]] = []
    for panel in dashboard.get("panels", []):
        panels.append(panel)
        panels.extend(panel.get("panels", []))
    return panels


def _is_prometheus(datasource: Any) -> bool:
    return isinstance(datasource, dict) and datasource.get("type") == "prometheus"


def dashboard_promql(dashboard: dict[str, Any]) -> list[tuple[str, str]]:
    """``(panel title, expression)`` of every Prometheus target of the dashboard."""
    queries = []
    for panel in dashboard_panels(dashboard):
        for target in panel.get("targets", []):
            datasource = target.get("datasource", panel.get("datasource"))
            if _is_prometheus(datasource) and target.get("expr"):
                queries.append((panel.get("title", ""), target["expr"]))
    return queries


def alert_rules(rules_file: Path = ALERT_RULES) -> list[dict[str, Any]]:
    """Every rule (alerting or recording) of a Prometheus rule file."""
    document = load_yaml(rules_file)
    return [rule for group in document["groups"] for rule in group["rules"]]


def metric_names_in_deploy_files() -> set[str]:
    """Every metric name that the Grafana dashboard and the Prometheus alert rules query.

    Names are as queried, so histogram series carry ``_bucket``/``_sum``/``_count`` and counters
    ``_total``; compare them with :func:`exported_metric_names` or with the names of a live
    ``/metrics`` page.
    """
    names: set[str] = set()
    for _title, expr in dashboard_promql(load_json(DASHBOARD)):
        names |= promql_metric_names(substitute_grafana_variables(expr))
    for rule in alert_rules():
        names |= promql_metric_names(str(rule["expr"]))
    return names


def exported_metric_names() -> set[str]:
    """Every series name that :data:`streamfix.runtime.metrics.REGISTRY` can expose.

    Built from the metric families and their types rather than from current samples, because a
    labelled metric that has not been used yet has no samples.
    """
    from streamfix.runtime.metrics import REGISTRY

    suffixes = {
        "counter": ("_total", "_created"),
        "gauge": ("",),
        "histogram": ("_bucket", "_sum", "_count", "_created"),
        "summary": ("", "_sum", "_count", "_created"),
        "info": ("_info",),
        "stateset": ("",),
        "enum": ("",),
        "unknown": ("",),
    }
    names: set[str] = set()
    for family in REGISTRY.collect():
        for suffix in suffixes[family.type]:
            names.add(family.name + suffix)
    return names
