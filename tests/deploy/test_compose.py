"""docker-compose.yml against the Compose Specification schema, plus the stack's own rules."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest

from tests.deploy.helpers import COMPOSE_FILE, REPO_ROOT, SCHEMAS, load_json, load_yaml

STREAMFIX_SERVICES = ("worker", "fixer", "watcher-loki", "watcher-railway")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = load_yaml(COMPOSE_FILE)
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    # The schema names draft-07 (as https://json-schema.org/draft-07/schema, which jsonschema does
    # not map by itself), so the validator class is chosen here.
    schema = load_json(SCHEMAS / "compose-spec.json")
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def _with_defaults(value: str) -> str:
    """Compose interpolation with an empty environment: ``${VAR:-default}`` becomes ``default``."""
    return re.sub(r"\$\{[A-Z0-9_]+(?::?-([^}]*))?\}", lambda m: m.group(1) or "", value)


def _errors(validator: jsonschema.Draft7Validator, document: Any) -> list[str]:
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def test_compose_file_matches_the_compose_specification(
    validator: jsonschema.Draft7Validator, compose: dict[str, Any]
) -> None:
    assert _errors(validator, compose) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(("services", "worker", "restart_policy"), "always", id="unknown-service-key"),
        pytest.param(
            ("services", "worker", "depends_on", "kafka", "condition"), "healthy", id="bad-condition"
        ),
        pytest.param(("services", "kafka", "healthcheck", "interval"), 10, id="interval-not-a-string"),
    ],
)
def test_schema_rejects_broken_variants(
    validator: jsonschema.Draft7Validator, compose: dict[str, Any], path: tuple[str, ...], value: Any
) -> None:
    """The schema really is strict: each broken copy of the file fails validation."""
    broken = load_yaml(COMPOSE_FILE)
    node = broken
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    assert _errors(validator, broken)


def test_kafka_is_the_official_image_in_kraft_mode(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "CONTROLLER" in env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"


def test_every_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    missing = [name for name, svc in compose["services"].items() if not svc.get("healthcheck")]
    assert missing == []
    disabled = [name for name, svc in compose["services"].items() if svc["healthcheck"].get("disable")]
    assert disabled == []


def test_depends_on_uses_conditions_and_healthy_targets_have_checks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, svc in services.items():
        depends = svc.get("depends_on", {})
        assert isinstance(depends, dict), f"{name}: depends_on must use the long form with conditions"
        for target, spec in depends.items():
            assert target in services, f"{name} depends on unknown service {target}"
            assert spec["condition"] in {
                "service_healthy",
                "service_started",
                "service_completed_successfully",
            }
            if spec["condition"] == "service_healthy":
                assert services[target].get("healthcheck"), f"{target} has no healthcheck"
    for name in STREAMFIX_SERVICES:
        assert services[name]["depends_on"]["kafka"]["condition"] == "service_healthy", name


def test_worker_can_scale(compose: dict[str, Any]) -> None:
    worker = compose["services"]["worker"]
    assert "container_name" not in worker
    assert "hostname" not in worker
    (port,) = worker["ports"]
    # Published as a host port range (or no host port at all), so replicas never clash.
    host_ip, host_ports, container_port = _with_defaults(port).split(":")
    assert (host_ip, container_port) == ("127.0.0.1", "8000")
    low, high = (int(p) for p in host_ports.split("-"))
    assert high > low, port
    assert "curl" not in str(worker["healthcheck"]["test"])
    assert "/error-monitor/health" in str(worker["healthcheck"]["test"])


def test_optional_services_are_behind_profiles(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["fixer"]["profiles"] == ["fixer"]
    assert services["watcher-loki"]["profiles"] == ["loki"]
    assert services["watcher-railway"]["profiles"] == ["railway"]
    assert services["watcher-railway"]["build"]["target"] == "railway"
    assert "--auto-fix" in str(services["watcher-railway"]["command"])
    assert "watch loki" in str(services["watcher-loki"]["command"])
    for always_on in ("kafka", "loki", "worker", "prometheus", "grafana"):
        assert "profiles" not in services[always_on], always_on


def test_streamfix_services_share_the_broker_and_ship_logs_to_loki(compose: dict[str, Any]) -> None:
    for name in STREAMFIX_SERVICES:
        env = compose["services"][name]["environment"]
        assert env["STREAMFIX_BROKER"] == "kafka://kafka:9092", name
        assert env["STREAMFIX_WEB_HOST"] == "0.0.0.0", name
        assert env["LOKI_PUSH_URL"] == "http://loki:3100/loki/api/v1/push", name
        assert compose["services"][name]["env_file"] == [{"path": ".env", "required": False}], name


def test_mounted_files_exist(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for volume in svc.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (REPO_ROOT / source).exists(), f"{name} mounts missing {source}"


def test_host_ports_bind_to_loopback(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            assert _with_defaults(port).startswith("127.0.0.1:"), (
                f"{name} publishes {port} on every interface"
            )


def test_no_secret_values_in_the_compose_file() -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for name in ("ANTHROPIC_API_KEY", "GITHUB_TOKEN", "RAILWAY_TOKEN", "STREAMFIX_API_TOKEN"):
        assert not re.search(rf"{name}\s*[:=]\s*\S", text), f"{name} is set in docker-compose.yml"


def test_loki_reads_the_mounted_config(compose: dict[str, Any]) -> None:
    loki = compose["services"]["loki"]
    (flag,) = loki["command"]
    config_path = flag.removeprefix("-config.file=")
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in loki["volumes"]}
    source = REPO_ROOT / mounts[config_path]
    config = load_yaml(source)
    assert config["server"]["http_listen_port"] == 3100
    assert config["auth_enabled"] is False
    assert config["common"]["path_prefix"] == "/loki"
    assert "/loki" in mounts


def test_prometheus_reads_the_mounted_config(compose: dict[str, Any]) -> None:
    prometheus = compose["services"]["prometheus"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prometheus["command"]
    assert "./deploy/prometheus:/etc/prometheus:ro" in prometheus["volumes"]
