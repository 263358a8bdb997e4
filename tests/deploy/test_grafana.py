"""The Grafana dashboard and its provisioning."""

from __future__ import annotations

from typing import Any

import pytest

from tests.deploy.helpers import (
    COMPOSE_FILE,
    DASHBOARD,
    GRAFANA_PROVISIONING,
    dashboard_panels,
    dashboard_promql,
    exported_metric_names,
    load_json,
    load_yaml,
    promql_metric_names,
    substitute_grafana_variables,
)

REQUIRED_PANELS = (
    "Error events rate by category",
    "Lines ingested rate",
    "Error patterns",
    "Dead letters",
    "Fixes by status",
    "PRs merged",
    "Fix success ratio",
    "Claude calls by outcome",
    "Claude tokens",
    "Claude latency p95",
    "Source lag",
    "Dropped lines",
    "Detection latency p99",
    "API latency",
)


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    document = load_json(DASHBOARD)
    assert isinstance(document, dict)
    return document


def test_dashboard_identity(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"] == "streamfix"
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    assert "id" not in dashboard or dashboard["id"] is None


def test_required_panels_are_present(dashboard: dict[str, Any]) -> None:
    titles = {panel.get("title") for panel in dashboard_panels(dashboard)}
    missing = [title for title in REQUIRED_PANELS if title not in titles]
    assert missing == []


def test_panel_ids_are_unique_and_the_grid_fits(dashboard: dict[str, Any]) -> None:
    panels = dashboard_panels(dashboard)
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids))
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        assert grid["h"] > 0 and grid["y"] >= 0, panel["title"]


def test_every_data_panel_has_a_query(dashboard: dict[str, Any]) -> None:
    for panel in dashboard_panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel.get("targets"), panel["title"]
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(ref_ids) == len(set(ref_ids)), panel["title"]


@pytest.mark.parametrize(
    ("title", "expr"), dashboard_promql(load_json(DASHBOARD)), ids=lambda value: str(value)[:60]
)
def test_every_panel_query_names_an_exported_metric(title: str, expr: str) -> None:
    names = promql_metric_names(substitute_grafana_variables(expr))
    assert names, f"{title}: no metric in {expr}"
    unknown = names - exported_metric_names()
    assert not unknown, f"{title}: {sorted(unknown)} not exported by streamfix.runtime.metrics.REGISTRY"


def test_datasources_are_the_provisioned_ones(dashboard: dict[str, Any]) -> None:
    provisioned = load_yaml(GRAFANA_PROVISIONING / "datasources" / "streamfix.yml")
    uids = {ds["type"]: ds["uid"] for ds in provisioned["datasources"]}
    assert uids == {"prometheus": "prometheus", "loki": "loki"}
    variables = {var["name"]: var for var in dashboard["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["datasource"]["current"]["value"] == uids["prometheus"]
    assert variables["loki"]["query"] == "loki"
    assert variables["loki"]["current"]["value"] == uids["loki"]
    for panel in dashboard_panels(dashboard):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] in {"${datasource}", "${loki}"}, panel["title"]


def test_dashboard_provider_points_at_the_mounted_folder() -> None:
    provider = load_yaml(GRAFANA_PROVISIONING / "dashboards" / "streamfix.yml")["providers"][0]
    assert provider["type"] == "file"
    compose = load_yaml(COMPOSE_FILE)
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts
    assert "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in mounts
    datasource_urls = {
        ds["url"] for ds in load_yaml(GRAFANA_PROVISIONING / "datasources" / "streamfix.yml")["datasources"]
    }
    assert datasource_urls == {"http://prometheus:9090", "http://loki:3100"}
