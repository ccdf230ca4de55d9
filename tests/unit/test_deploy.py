"""The deploy files parse, and every TIDINGS_* variable they set is a setting Tidings reads."""

from __future__ import annotations

from pathlib import Path

import yaml

from tidings.settings import Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KNOWN = {f"TIDINGS_{name.upper()}" for name in Settings.model_fields}


def _tidings_vars(mapping: dict) -> set[str]:
    return {k for k in mapping if k.startswith("TIDINGS_")}


def test_compose_file_is_consistent() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"postgres", "temporal", "migrate", "api", "worker"} <= set(services)
    for name in ("migrate", "api", "worker"):
        env = services[name]["environment"]
        assert _tidings_vars(env) <= KNOWN, _tidings_vars(env) - KNOWN
        assert "TIDINGS_DATABASE_URL" in env and env["TIDINGS_DATABASE_URL"].startswith(
            "postgresql+asyncpg://"
        )
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
    assert services["api"]["command"] == ["tidings", "api"] and services["worker"]["command"] == [
        "tidings",
        "worker",
    ]


def test_kubernetes_manifests_are_consistent() -> None:
    docs = list(yaml.safe_load_all((DEPLOY / "k8s" / "tidings.yaml").read_text()))
    kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
    assert ("Deployment", "tidings-api") in kinds and ("Deployment", "tidings-worker") in kinds
    assert ("Job", "tidings-migrate") in kinds
    for doc in docs:
        if doc["kind"] in ("ConfigMap",):
            assert _tidings_vars(doc["data"]) <= KNOWN
        if doc["kind"] == "Secret":
            assert _tidings_vars(doc["stringData"]) <= KNOWN


def test_dockerfile_copies_every_package() -> None:
    text = (DEPLOY / "Dockerfile").read_text()
    for package in ("api", "activities", "store", "tidings", "workflows"):
        assert f"COPY {package} ./{package}" in text
    assert "COPY worker.py" in text
