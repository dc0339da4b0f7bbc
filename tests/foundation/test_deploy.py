"""The operator's files describe the same network as the code: every service, healthy order."""

from __future__ import annotations

from pathlib import Path

import yaml

from shared.settings import REPO_ROOT

SERVICES = ["gateway", "directory", "exchange", "alerts", "translation", "repository"]


def compose() -> dict[str, object]:
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


class TestCompose:
    def test_every_service_is_built_from_the_one_dockerfile_with_its_name(self) -> None:
        services = compose()["services"]
        for name in SERVICES:
            build = services[name]["build"]
            assert build["dockerfile"] == "deploy/Dockerfile"
            assert build["args"]["SERVICE"] == name

    def test_servers_have_health_checks_and_services_wait_for_them(self) -> None:
        services = compose()["services"]
        assert "healthcheck" in services["postgres"]
        assert "healthcheck" in services["rabbitmq"]
        for name in SERVICES:
            depends = services[name]["depends_on"]
            assert depends["postgres"]["condition"] == "service_healthy"
            assert depends["rabbitmq"]["condition"] == "service_healthy"
        gateway_needs = services["gateway"]["depends_on"]
        for name in SERVICES[1:]:
            assert gateway_needs[name]["condition"] == "service_healthy"

    def test_rabbitmq_has_management_and_definitions(self) -> None:
        rabbit = compose()["services"]["rabbitmq"]
        assert "management" in rabbit["image"]
        assert any("definitions.json" in volume for volume in rabbit["volumes"])

    def test_postgres_creates_one_database_per_service(self) -> None:
        script = (REPO_ROOT / "deploy/postgres/create-databases.sh").read_text()
        for name in SERVICES:
            assert name in script


class TestKubernetes:
    def test_each_service_has_its_deployment_database_and_probes(self) -> None:
        for name in SERVICES:
            docs = list(yaml.safe_load_all(Path(REPO_ROOT / f"deploy/k8s/20-{name}.yaml").open()))
            kinds = {(d["kind"], d["metadata"]["name"]) for d in docs}
            assert ("Deployment", name) in kinds
            assert ("StatefulSet", f"postgres-{name}") in kinds
            deployment = next(d for d in docs if d["kind"] == "Deployment")
            assert deployment["spec"]["replicas"] >= 2
            container = deployment["spec"]["template"]["spec"]["containers"][0]
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"

    def test_rabbitmq_is_a_cluster(self) -> None:
        docs = list(yaml.safe_load_all((REPO_ROOT / "deploy/k8s/10-rabbitmq.yaml").open()))
        statefulset = next(d for d in docs if d["kind"] == "StatefulSet")
        assert statefulset["spec"]["replicas"] == 3
