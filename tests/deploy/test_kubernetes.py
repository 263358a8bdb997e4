"""`kubectl kustomize` renders each overlay, and every object validates against strict Kubernetes
JSON schemas (kubernetes-validate's bundled schemas, additionalProperties: false) or, for the
Prometheus Operator's ServiceMonitor and PrometheusRule, against the schemas in tests/deploy/schemas/.
No cluster needed."""

from __future__ import annotations

import shutil
import subprocess
from functools import cache
from typing import Any

import jsonschema
import pytest
import yaml

from streamfix.runtime.settings import Settings
from tests.deploy.helpers import ALERT_RULES, K8S, SCHEMAS, load_json, load_yaml, loud_skip

try:
    import kubernetes_validate
    from kubernetes_validate.utils import SchemaNotFoundError
except ModuleNotFoundError:  # pragma: no cover - only without the dev extra
    loud_skip(
        "KUBERNETES-VALIDATE NOT INSTALLED: the Kubernetes manifests were NOT validated. "
        "Run scripts/install-deploy-tools.sh or install the dev extra.",
        allow_module_level=True,
    )

KUBECTL = shutil.which("kubectl")
# The oldest Kubernetes minor version the manifests are meant for.
KUBERNETES_VERSION = "1.29"
OVERLAYS = ("dev", "prod", "monitoring")
SECRET_NAME = "streamfix-secrets"
BARE_ENV_NAMES = {
    "ANTHROPIC_API_KEY", "GITHUB_TOKEN", "LOKI_ENABLED", "LOKI_PUSH_URL", "ERROR_MONITORING_ENABLED",
    "AUTO_FIX_ENABLED",
}
# Read by tools in the image rather than by streamfix.
OTHER_ENV_NAMES = {"HOME", "RAILWAY_TOKEN"}


@cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    if KUBECTL is None:
        loud_skip("KUBECTL NOT FOUND: the Kubernetes manifests were NOT rendered or validated.")
    result = subprocess.run(
        [KUBECTL, "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def objects(overlay: str, kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in render(overlay) if obj["kind"] == kind}


# Custom resources of the Prometheus Operator → their vendored schema.
CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor-monitoring-v1.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "prometheusrule-monitoring-v1.json",
}


@cache
def _crd_validator(filename: str) -> jsonschema.Draft202012Validator:
    schema = load_json(SCHEMAS / filename)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def validation_errors(obj: dict[str, Any]) -> list[str]:
    """Schema errors of one rendered object; unknown fields count as errors."""
    crd_schema = CRD_SCHEMAS.get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if crd_schema is not None:
        return [
            f"{'.'.join(str(p) for p in e.absolute_path)}: {e.message}"
            for e in _crd_validator(crd_schema).iter_errors(obj)
        ]
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'.'.join(str(p) for p in exc.path)}: {exc.message}"]
    except SchemaNotFoundError as exc:
        return [exc.message]
    return []


def containers(deployment: dict[str, Any]) -> list[dict[str, Any]]:
    spec = deployment["spec"]["template"]["spec"]
    return list(spec.get("initContainers", [])) + list(spec["containers"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_and_every_object_is_schema_valid(overlay: str) -> None:
    rendered = render(overlay)
    assert rendered
    problems = {
        f"{obj['kind']}/{obj['metadata']['name']}": errors
        for obj in rendered
        if (errors := validation_errors(obj))
    }
    assert problems == {}


@pytest.mark.parametrize(
    ("kind", "api_version", "mutate"),
    [
        pytest.param(
            "Deployment",
            "apps/v1",
            lambda o: o["spec"]["template"]["spec"]["containers"][0].update(readinessProbes=[]),
            id="unknown-container-field",
        ),
        pytest.param("Deployment", "apps/v1", lambda o: o["spec"].update(replicas="two"), id="wrong-type"),
        pytest.param(
            "Service", "v1", lambda o: o["spec"]["ports"][0].update(prot="TCP"), id="unknown-port-field"
        ),
        pytest.param(
            "ServiceMonitor",
            "monitoring.coreos.com/v1",
            lambda o: o["spec"]["endpoints"][0].update(metricsPath="/metrics"),
            id="servicemonitor-unknown",
        ),
        pytest.param(
            "PrometheusRule",
            "monitoring.coreos.com/v1",
            lambda o: o["spec"]["groups"][0]["rules"][0].update(annotation={}),
            id="prometheusrule-unknown",
        ),
        pytest.param(
            "PrometheusRule",
            "monitoring.coreos.com/v1",
            lambda o: o["spec"]["groups"][0]["rules"][0].update({"for": "5 minutes"}),
            id="prometheusrule-bad-duration",
        ),
    ],
)
def test_validation_rejects_broken_objects(kind: str, api_version: str, mutate: Any) -> None:
    """The validation is strict: a typo or a wrong type is caught."""
    original = next(o for o in render("monitoring") if o["kind"] == kind and o["apiVersion"] == api_version)
    broken = yaml.safe_load(yaml.safe_dump(original))
    mutate(broken)
    assert validation_errors(broken)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_worker_deployment_has_probes_resources_and_runs_unprivileged(overlay: str) -> None:
    worker = objects(overlay, "Deployment")["streamfix-worker"]
    pod = worker["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    (container,) = pod["containers"]
    assert container["args"] == ["streamfix", "worker"]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert container[probe]["httpGet"]["path"] == "/error-monitor/health", probe
        assert container[probe]["httpGet"]["port"] == "http", probe
    assert {p["name"]: p["containerPort"] for p in container["ports"]} == {"http": 8000}
    resources = container["resources"]
    assert resources["requests"]["cpu"] and resources["requests"]["memory"]
    assert resources["limits"]["memory"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_is_unprivileged_and_bounded(overlay: str) -> None:
    for name, deployment in objects(overlay, "Deployment").items():
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["automountServiceAccountToken"] is False, name
        for container in containers(deployment):
            assert container["securityContext"]["capabilities"]["drop"] == ["ALL"], name
            assert container["resources"]["limits"]["memory"], name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_and_pdb_select_the_worker_pods(overlay: str) -> None:
    worker = objects(overlay, "Deployment")["streamfix-worker"]
    pod_labels = worker["spec"]["template"]["metadata"]["labels"]
    service = objects(overlay, "Service")["streamfix-worker"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    pdb = objects(overlay, "PodDisruptionBudget")["streamfix-worker"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert worker["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_only_referenced(overlay: str) -> None:
    rendered = render(overlay)
    assert not [o for o in rendered if o["kind"] == "Secret"], "a Secret object in the manifests"
    for name, deployment in objects(overlay, "Deployment").items():
        for container in containers(deployment):
            for source in container.get("envFrom", []):
                if "secretRef" in source:
                    assert source["secretRef"]["name"] == SECRET_NAME, name
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["name"] == SECRET_NAME, name
                    assert ref["key"] == env["name"], name
                secretish = any(word in env["name"] for word in ("TOKEN", "KEY", "PASSWORD"))
                assert not (secretish and "value" in env), f"{name}: {env['name']} has a literal value"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_environment_names_are_streamfix_settings(overlay: str) -> None:
    """Every STREAMFIX_* name in the ConfigMap and the env lists is a field of Settings."""
    fields = {name.upper() for name in Settings.model_fields}
    names: set[str] = set()
    for config_map in objects(overlay, "ConfigMap").values():
        names |= set(config_map.get("data", {}))
    for deployment in objects(overlay, "Deployment").values():
        for container in containers(deployment):
            names |= {env["name"] for env in container.get("env", [])}
    for name in names:
        if name.startswith("STREAMFIX_"):
            assert name.removeprefix("STREAMFIX_") in fields, name
        else:
            assert name in BARE_ENV_NAMES | OTHER_ENV_NAMES, name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_config_uses_the_memory_store_and_workers_fit_the_partitions(overlay: str) -> None:
    (config,) = objects(overlay, "ConfigMap").values()
    data = config["data"]
    assert data["STREAMFIX_STORE"] == "memory://"
    assert data["STREAMFIX_WEB_HOST"] == "0.0.0.0"
    partitions = int(data["STREAMFIX_TOPIC_PARTITIONS"])
    worker = objects(overlay, "Deployment")["streamfix-worker"]
    assert 1 <= worker["spec"]["replicas"] <= partitions


def test_overlays_add_their_watchers() -> None:
    assert "streamfix-watcher-loki" in objects("dev", "Deployment")
    assert "streamfix-watcher-railway" in objects("prod", "Deployment")
    railway = objects("prod", "Deployment")["streamfix-watcher-railway"]
    (container,) = railway["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["streamfix", "watch", "railway", "--auto-fix"]
    assert container["image"].startswith("streamfix-railway:")
    for name, deployment in objects("prod", "Deployment").items():
        if name.startswith("streamfix-watcher-") or name == "streamfix-fixer":
            assert deployment["spec"]["replicas"] == 1, name
            assert deployment["spec"]["strategy"]["type"] == "Recreate", name


def test_monitoring_overlay_scrapes_the_worker_service() -> None:
    (monitor,) = objects("monitoring", "ServiceMonitor").values()
    service = objects("monitoring", "Service")["streamfix-worker"]
    assert monitor["metadata"]["namespace"] == service["metadata"]["namespace"]
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    port_names = {port["name"] for port in service["spec"]["ports"]}
    for endpoint in monitor["spec"]["endpoints"]:
        assert endpoint["port"] in port_names
        assert endpoint["path"] == "/metrics"
    assert not objects("prod", "ServiceMonitor"), "prod must work without the Prometheus Operator"


def test_monitoring_overlay_carries_the_alert_rules_unchanged() -> None:
    (rule,) = objects("monitoring", "PrometheusRule").values()
    assert rule["spec"]["groups"] == load_yaml(ALERT_RULES)["groups"]
    assert not objects("prod", "PrometheusRule")
