"""The dashboard and the alert rules query only metrics that streamfix really exports."""

from __future__ import annotations

import pytest

from tests.deploy.helpers import exported_metric_names, metric_names_in_deploy_files, promql_metric_names


@pytest.mark.parametrize(
    ("expr", "names"),
    [
        pytest.param("streamfix_patterns", {"streamfix_patterns"}, id="bare-name"),
        pytest.param(
            'sum by (category) (rate(streamfix_error_events_total{severity="CRITICAL"}[5m]))',
            {"streamfix_error_events_total"},
            id="grouping-matchers-range",
        ),
        pytest.param(
            "histogram_quantile(0.99, sum by (le) (rate(x_seconds_bucket[5m] offset 1h))) > 3 * y and on (a) z",  # noqa: E501
            {"x_seconds_bucket", "y", "z"},
            id="functions-offset-binary-ops",
        ),
        pytest.param('up{job="a b", x=~"and|or"} > bool 0.5e3', {"up"}, id="strings-bool-numbers"),
        pytest.param("sum(rate(a_sum[5m])) / sum(rate(a_count[5m]))", {"a_sum", "a_count"}, id="ratio"),
    ],
)
def test_promql_metric_names(expr: str, names: set[str]) -> None:
    assert promql_metric_names(expr) == names


def test_exported_names_include_histogram_and_counter_series() -> None:
    exported = exported_metric_names()
    assert "streamfix_error_events_total" in exported
    assert "streamfix_detection_latency_seconds_bucket" in exported
    assert "streamfix_patterns" in exported
    assert "streamfix_error_events" not in exported


def test_every_metric_in_dashboard_and_alerts_is_exported() -> None:
    used = metric_names_in_deploy_files()
    unknown = used - exported_metric_names()
    assert not unknown, f"queried but not exported by streamfix.runtime.metrics.REGISTRY: {sorted(unknown)}"


def test_dashboard_and_alerts_cover_the_main_metrics() -> None:
    used = metric_names_in_deploy_files()
    expected = {
        "streamfix_error_events_total",
        "streamfix_lines_ingested_total",
        "streamfix_patterns",
        "streamfix_dead_letters_total",
        "streamfix_fixes_total",
        "streamfix_prs_merged_total",
        "streamfix_fix_success_ratio",
        "streamfix_claude_calls_total",
        "streamfix_claude_tokens_total",
        "streamfix_claude_request_duration_seconds_bucket",
        "streamfix_source_lag_seconds",
        "streamfix_source_dropped_lines_total",
        "streamfix_detection_latency_seconds_bucket",
        "streamfix_api_request_duration_seconds_bucket",
    }
    assert expected <= used, f"not queried anywhere: {sorted(expected - used)}"
