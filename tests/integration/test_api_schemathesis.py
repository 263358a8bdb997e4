"""Schemathesis against a live worker (real Kafka, replayed sample): every operation, valid and invalid
input, with a fixed seed. No server error, every answer conforms to the OpenAPI document, and at least
500 requests — counted by the worker itself in ``streamfix_api_requests_total``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from prometheus_client.parser import text_string_to_metric_families
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from streamfix.runtime.settings import Settings
from streamfix.web import openapi

from .helpers import running_worker
from .test_api_routes import API_ENV, AUTH, prepare_topics, replay_sample, wait_for_patterns

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

EXAMPLES = {GenerationMode.POSITIVE: 40, GenerationMode.NEGATIVE: 20}
SEED = 20261128


def api_requests(base: str) -> dict[str, float]:
    """``status -> requests`` from the worker's own counter."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(requests.get(f"{base}/metrics", timeout=10).text):
        if family.name == "streamfix_api_requests":
            for sample in family.samples:
                if sample.name.endswith("_total"):
                    status = sample.labels["status"]
                    out[status] = out.get(status, 0.0) + sample.value
    return out


def modes(operation: Any) -> list[GenerationMode]:
    """Negative cases only where there is input to get wrong."""
    documented = openapi.document()["paths"][operation.path][str(operation.method).lower()]
    return list(EXAMPLES) if documented["parameters"] else [GenerationMode.POSITIVE]


def run_operation(operation: Any, mode: GenerationMode, base: str, session: requests.Session,
                  query: dict[str, str] | None = None) -> int:
    calls = 0

    @seed(SEED)
    @settings(max_examples=EXAMPLES[mode], deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode, query=query))
    def check(case: Any) -> None:
        nonlocal calls
        calls += 1
        response = case.call(base_url=base, session=session, headers=AUTH, timeout=10)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path}: {response.status_code} {response.text}"
        )
        if mode is GenerationMode.POSITIVE:
            case.validate_response(response, headers=AUTH)
        else:
            assert response.status_code != 200 or case.method == "GET", response.text
            if (
                response.headers.get("Content-Type", "").startswith("application/json")
                and response.status_code >= 400
            ):
                body = response.json()
                assert isinstance(body, dict) and "error" in body and "detail" in body, body

    check()
    return calls


def test_schemathesis_finds_no_server_errors(kafka_settings: Settings, tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    base = f"http://127.0.0.1:{kafka_settings.web_port}"
    prepare_topics(kafka_settings)
    with running_worker(kafka_settings, log, **API_ENV):
        expected = replay_sample(kafka_settings, time.time())
        patterns = wait_for_patterns(kafka_settings.web_port, expected, log=log)["patterns"]
        # ids that exist, so the fix routes are exercised past their 404 too (the rest is generated)
        known = {"/error-monitor/fixes/generate-for-error": {"error_id": patterns[0]["fingerprint"]},
                 "/error-monitor/fixes/generate-batch": {"error_ids": patterns[0]["category"]}}
        schema = schemathesis.openapi.from_url(f"{base}/error-monitor/openapi.json")
        started = time.monotonic()
        made = 0
        with requests.Session() as session:
            for result in schema.get_all_operations():
                assert isinstance(result, Ok), result
                operation = result.ok()
                for mode in modes(operation):
                    made += run_operation(operation, mode, base, session)
                if operation.path in known:
                    made += run_operation(
                        operation, GenerationMode.POSITIVE, base, session, known[operation.path]
                    )
        elapsed = time.monotonic() - started
        counted = api_requests(base)
    print(
        f"\nschemathesis: {made} generated requests in {elapsed:.1f} s; by status: {dict(sorted(counted.items()))}"  # noqa: E501
    )
    assert made >= 500
    assert counted.get("202", 0) > 0
    assert sum(counted.values()) >= made
    assert not any(status.startswith("5") for status in counted), counted
    assert "API request failed" not in log.read_text()
    assert elapsed < 120
