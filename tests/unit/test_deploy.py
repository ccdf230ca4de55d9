"""deploy/ checked without a container engine: the compose file against the Compose spec, the Helm chart
rendered and validated against the Kubernetes schemas, the image recipe and its lock file, and the
properties a fleet relies on (health-gated start order, probes, hooks, non-root, no plain secrets)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from tidings.devserver import DYNAMIC_CONFIG
from tidings.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "tidings"
KNOWN = {f"TIDINGS_{name.upper()}" for name in Settings.model_fields}
K8S_VERSIONS = ("1.29.0", "1.33.0")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|DATABASE_URL|API_KEY|PRIVATE", re.I)

_spec = importlib.util.spec_from_file_location("chart_render", DEPLOY / "helm" / "render.py")
assert _spec is not None and _spec.loader is not None
render = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(render)

REQUIRED = {"image": {"repository": "registry.example/tidings"}, "existingSecret": "tidings-prod"}


def _tidings_vars(mapping: dict[str, Any]) -> set[str]:
    return {k for k in mapping if k.startswith("TIDINGS_")}


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def rendered(values: dict[str, Any] | None = None, **kwargs: Any) -> list[dict[str, Any]]:
    text = render.render_chart(CHART, render.merge(REQUIRED, values or {}), **kwargs)
    return [doc for doc in yaml.safe_load_all(text) if doc]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_specs(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {
        d["metadata"]["name"]: d["spec"]["template"]["spec"]
        for d in docs
        if d["kind"] in ("Deployment", "Job")
    }


# --- compose ---------------------------------------------------------------------------------------------


def test_compose_file_is_valid_against_the_compose_spec() -> None:
    checker = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.compose-spec", str(DEPLOY / "docker-compose.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_starts_in_health_order_after_a_one_shot_setup() -> None:
    services = compose()["services"]
    assert {"postgres", "temporal", "setup", "api", "worker", "proxy"} <= set(services)
    for name in ("postgres", "temporal", "api", "worker"):
        assert services[name]["healthcheck"]["test"], name
    assert services["setup"]["command"] == ["tidings", "setup"]
    assert services["setup"]["restart"] == "no"
    assert "|| true" not in (DEPLOY / "docker-compose.yml").read_text()
    for name in ("api", "worker"):
        depends = services[name]["depends_on"]
        assert depends["setup"] == {"condition": "service_completed_successfully"}
        assert depends["temporal"] == {"condition": "service_healthy"}
        assert depends["postgres"] == {"condition": "service_healthy"}
        env = services[name]["environment"]
        assert _tidings_vars(env) <= KNOWN, _tidings_vars(env) - KNOWN
        assert env["TIDINGS_DATABASE_URL"].startswith("postgresql+asyncpg://")
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert services["setup"]["depends_on"]["temporal"] == {"condition": "service_healthy"}
    assert services["proxy"]["depends_on"]["api"] == {"condition": "service_healthy"}
    assert services["api"]["command"] == ["tidings", "api"]
    assert services["worker"]["command"] == ["tidings", "worker"]


def test_compose_scales_the_api_behind_one_port_and_publishes_nothing_internal() -> None:
    services = compose()["services"]
    assert "ports" not in services["api"] and "ports" not in services["worker"]
    assert "ports" not in services["temporal"] and "ports" not in services["postgres"]
    assert services["api"]["deploy"]["replicas"] >= 2 and services["worker"]["deploy"]["replicas"] >= 2
    assert len(services["proxy"]["ports"]) == 1
    for name, service in services.items():
        if name != "proxy":
            for port in service.get("ports", []):
                assert str(port).startswith("127.0.0.1:"), (name, port)  # UIs without login: loopback only
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    assert (
        "dynamic a api 8000" in caddyfile
        and "./Caddyfile:/etc/caddy/Caddyfile:ro" in services["proxy"]["volumes"]
    )


def test_compose_keeps_secrets_out_of_the_file_and_drains_workers() -> None:
    text = (DEPLOY / "docker-compose.yml").read_text()
    assert "change-me" not in text
    env = compose()["services"]["api"]["environment"]
    assert env["TIDINGS_SECRET_KEY"].startswith("${TIDINGS_SECRET_KEY:?")
    assert "${POSTGRES_PASSWORD:?" in env["TIDINGS_DATABASE_URL"]
    worker = compose()["services"]["worker"]
    grace = float(worker["environment"]["TIDINGS_WORKER_SHUTDOWN_GRACE"])
    assert float(worker["stop_grace_period"].rstrip("s")) > grace
    assert (
        "8081" in str(worker["healthcheck"]["test"])
        and worker["environment"]["TIDINGS_WORKER_HEALTH_PORT"] == "8081"
    )
    assert "tidings keys create" in text and "tidings keys create" in (DEPLOY / "README.md").read_text()


def test_compose_runs_temporal_with_the_embedded_servers_settings() -> None:
    """The cluster's Temporal gets the settings ``tidings dev`` gives its own (tidings/devserver.py): without
    them a digest burst into one accumulator can stall it (docs/digest.md, "Bursts")."""
    temporal = compose()["services"]["temporal"]
    path = temporal["environment"]["DYNAMIC_CONFIG_FILE_PATH"]
    assert f"./temporal-dynamicconfig.yaml:{path}:ro" in temporal["volumes"]
    config = yaml.safe_load((DEPLOY / "temporal-dynamicconfig.yaml").read_text())
    assert {key: values[0]["value"] for key, values in config.items()} == DYNAMIC_CONFIG


# --- image -----------------------------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_non_root_and_checks_health() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    stages = re.findall(r"^FROM .+$", text, re.M)
    assert len(stages) >= 2
    runtime = text[text.rindex("\nFROM ") :]
    user = re.search(r"^USER (\S+)$", runtime, re.M)
    assert user is not None and user.group(1).split(":")[0] not in ("root", "0")
    assert "HEALTHCHECK" in runtime and "/health/ready" in runtime
    assert "COPY --from=build /opt/tidings /opt/tidings" in runtime and "COPY . " not in text
    assert "pip install --require-hashes --no-deps -r requirements.lock" in text
    for package in ("api", "activities", "store", "tidings", "workflows"):
        assert f"COPY {package} ./{package}" in text
    assert "COPY worker.py" in text


def test_dockerignore_keeps_local_state_and_secrets_out_of_the_build_context() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    for entry in ("**/.venv", "**/data", "**/secret.key", "**/node_modules", ".git", "**/.env"):
        assert entry in ignored, entry


def test_lock_pins_every_runtime_dependency_and_no_dev_binary() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = (ROOT / "requirements.lock").read_text()
    pinned = {
        m.group(1).lower().replace("_", "-"): m.group(2)
        for m in re.finditer(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", lock, re.M)
    }

    def name(requirement: str) -> str:
        return re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")

    for requirement in project["dependencies"]:
        assert name(requirement) in pinned, requirement
    for dev_only in project["optional-dependencies"]["embedded"]:
        assert name(dev_only) not in pinned, f"{dev_only} would ride along in the image"
        assert name(dev_only) not in {name(r) for r in project["dependencies"]}
    blocks = [b for b in re.split(r"\n(?=[A-Za-z])", lock) if re.match(r"[A-Za-z]", b)]
    assert blocks and all("--hash=sha256:" in b for b in blocks)


# --- Helm chart and the manifests generated from it ------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        {},
        {"worker": {"autoscaling": {"enabled": False}}},
        {"ingress": {"enabled": True, "className": "nginx", "tls": {"secretName": "tidings-tls"}}},
        {"imagePullSecrets": [{"name": "registry"}], "ingress": {"enabled": True, "annotations": {"a": "b"}}},
    ],
)
def test_rendered_chart_is_valid_kubernetes(values: dict[str, Any]) -> None:
    docs = rendered(values)
    for version in K8S_VERSIONS:
        for doc in docs:
            kubernetes_validate.validate(doc, version, strict=True)


def test_every_pod_is_non_root_without_service_links_or_plain_secrets() -> None:
    docs = rendered()
    assert not by_kind(docs, "Secret") and not by_kind(docs, "ConfigMap")
    specs = pod_specs(docs)
    assert set(specs) == {"tidings-api", "tidings-worker", "tidings-setup-1"}
    for name, spec in specs.items():
        assert spec["enableServiceLinks"] is False, name
        assert spec["automountServiceAccountToken"] is False, name
        assert spec["securityContext"]["runAsNonRoot"] is True and spec["securityContext"]["runAsUser"] != 0
        for container in spec["containers"]:
            sc = container["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False and sc["readOnlyRootFilesystem"] is True, name
            assert sc["capabilities"]["drop"] == ["ALL"]
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]
            assert container["image"] == "registry.example/tidings:0.1.0"
            assert container["envFrom"] == [{"secretRef": {"name": "tidings-prod"}}]
            env = {e["name"]: e for e in container["env"]}
            assert _tidings_vars(env) <= KNOWN, _tidings_vars(env) - KNOWN
            assert not [n for n in env if SECRET_NAME.search(n)], "secret-looking setting in plain env"
            assert all("value" in e for e in env.values())


def test_values_hold_no_secrets_and_refuse_to_render_without_the_existing_secret() -> None:
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert not [k for k in values["config"] if SECRET_NAME.search(k)]
    with pytest.raises(render.TemplateError, match="existingSecret is required"):
        render.render_chart(CHART, {"image": {"repository": "r/t"}})
    with pytest.raises(render.TemplateError, match="image.repository is required"):
        render.render_chart(CHART, {"existingSecret": "s"})


def test_probes_reach_the_health_endpoints_and_workers_drain_before_sigkill() -> None:
    docs = rendered()
    api = pod_specs(docs)["tidings-api"]["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert api["startupProbe"]["httpGet"]["path"] == "/health/live"
    worker_spec = pod_specs(docs)["tidings-worker"]
    worker = worker_spec["containers"][0]
    env = {e["name"]: e["value"] for e in worker["env"]}
    port = int(env["TIDINGS_WORKER_HEALTH_PORT"])
    assert worker["ports"] == [{"name": "health", "containerPort": port}]
    assert worker["readinessProbe"]["httpGet"] == {"path": "/health/ready", "port": "health"}
    assert worker["livenessProbe"]["httpGet"] == {"path": "/health/live", "port": "health"}
    assert worker_spec["terminationGracePeriodSeconds"] > float(env["TIDINGS_WORKER_SHUTDOWN_GRACE"])


def test_setup_runs_as_a_hook_job_per_release_before_pods_start() -> None:
    jobs = by_kind(rendered(revision=7), "Job")
    assert list(jobs) == ["tidings-setup-7"]
    job = jobs["tidings-setup-7"]
    annotations = job["metadata"]["annotations"]
    assert set(annotations["helm.sh/hook"].split(",")) == {"pre-install", "pre-upgrade"}
    assert "before-hook-creation" in annotations["helm.sh/hook-delete-policy"]
    container = job["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["tidings", "setup"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_workers_autoscale_and_both_deployments_have_disruption_budgets() -> None:
    docs = rendered()
    deployments = by_kind(docs, "Deployment")
    hpa = by_kind(docs, "HorizontalPodAutoscaler")["tidings-worker"]
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "tidings-worker",
    }
    assert "replicas" not in deployments["tidings-worker"]["spec"]  # the HPA owns it
    assert deployments["tidings-api"]["spec"]["replicas"] == 2
    for name, pdb in by_kind(docs, "PodDisruptionBudget").items():
        labels = deployments[name]["spec"]["template"]["metadata"]["labels"]
        assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    fixed = rendered({"worker": {"autoscaling": {"enabled": False}, "replicas": 3}})
    assert not by_kind(fixed, "HorizontalPodAutoscaler")
    assert by_kind(fixed, "Deployment")["tidings-worker"]["spec"]["replicas"] == 3


def test_ingress_terminates_tls_for_the_api_service() -> None:
    assert not by_kind(rendered(), "Ingress")
    docs = rendered({"ingress": {"enabled": True, "host": "n.acme.io", "tls": {"secretName": "n-tls"}}})
    ingress = by_kind(docs, "Ingress")["tidings-api"]["spec"]
    assert ingress["tls"] == [{"hosts": ["n.acme.io"], "secretName": "n-tls"}]
    backend = ingress["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] in by_kind(docs, "Service")


def test_plain_manifests_are_the_chart_rendered_with_their_values() -> None:
    values = yaml.safe_load((DEPLOY / "k8s" / "values.yaml").read_text())
    committed = (DEPLOY / "k8s" / "tidings.yaml").read_text()
    body = "\n".join(
        line
        for line in committed.splitlines()
        if not line.startswith("# GENERATED") and not line.startswith("# Apply:")
    )
    assert body.strip() == render.render_chart(CHART, values).strip(), "run `make k8s`"
    for doc in (d for d in yaml.safe_load_all(committed) if d):
        kubernetes_validate.validate(doc, K8S_VERSIONS[-1], strict=True)


def test_renderer_follows_go_template_semantics_for_what_the_chart_uses() -> None:
    renderer = render.Renderer({"Values": {"on": True, "m": {"b": 2, "a": "x"}, "n": None}})
    renderer.load('{{- define "t" -}}[{{ .Values.m.a }}]{{- end }}')
    nodes = renderer.load(
        "a:\n  {{- if .Values.on }} yes{{ else }} no{{ end }}\n"
        "{{- range $k, $v := .Values.m }}\n- {{ $k }}={{ $v | quote }}\n{{- end }}\n"
        '{{ include "t" . }}{{ .Values.n | default "d" }}{{ toYaml .Values.m | nindent 2 }}'
    )
    assert renderer.render(nodes, renderer.root, {}) == 'a: yes\n- a="x"\n- b="2"\n[x]d\n  a: x\n  b: 2'
    with pytest.raises(render.TemplateError, match="not supported"):
        renderer.load("{{ with .Values.m }}{{ end }}")
