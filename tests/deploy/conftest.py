"""What the deploy tests share: the overlays built once with the real kubectl, and the services' code they are held
to (settings classes, access rules, Dockerfiles).

Without a kubectl that builds kustomize components (kustomize v4 or newer), the tests are skipped, unless
GJELD_REQUIRE_KUBECTL is set (CI sets it: there a deploy test that cannot run fails the run).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest
import yaml
from gjeld_consent.settings import ConsentSettings
from gjeld_ingest.settings import IngestSettings
from gjeld_lookup.settings import LookupSettings
from gjeld_notify.settings import NotifySettings
from gjeld_portal.settings import PortalSettings
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("development", "production")
SETTINGS: dict[str, type[BaseSettings]] = {
    "ingest": IngestSettings,
    "lookup": LookupSettings,
    "consent": ConsentSettings,
    "notify": NotifySettings,
    "portal": PortalSettings,
}
SERVICES = ("ingest", "lookup", "consent", "notify")  # the four gRPC services: three listeners each
WORKLOADS = (*SERVICES, "portal")
# The workloads with a database (a PostgreSQL cluster of their own, a migration Job), as the code has it: those whose
# settings read a database URL (the four services, and the portal for its sessions).
DATABASE_WORKLOADS = tuple(name for name in WORKLOADS if "database_url" in SETTINGS[name].model_fields)
LISTEN_FIELDS = {"listen_address", "token_listen_address", "health_listen_address", "portal_address"}


def kubectl() -> str:
    """The kubectl to build with; skips (or fails, under GJELD_REQUIRE_KUBECTL) when there is none that can."""
    found = shutil.which("kubectl")
    problem = "kubectl is not installed (make kubectl)"
    if found:
        version = json.loads(
            subprocess.run(
                [found, "version", "--client", "-o", "json"], capture_output=True, text=True, check=True
            ).stdout
        )
        kustomize = version.get("kustomizeVersion", "v0")
        if int(re.sub(r"\D.*", "", kustomize.lstrip("v")) or 0) >= 4:
            return found
        problem = f"kubectl's kustomize {kustomize} cannot build components (v4 or newer needed)"
    if os.environ.get("GJELD_REQUIRE_KUBECTL"):
        pytest.fail(f"{problem}, and GJELD_REQUIRE_KUBECTL is set")
    pytest.skip(problem)


def build(overlay: Path) -> list[dict[str, Any]]:
    result = subprocess.run([kubectl(), "kustomize", str(overlay)], capture_output=True, text=True)
    assert result.returncode == 0, f"kubectl kustomize {overlay} failed:\n{result.stderr}"
    return [document for document in yaml.safe_load_all(result.stdout) if document]


@dataclass
class Build:
    """One overlay's objects, and ways to find them."""

    overlay: str
    objects: list[dict[str, Any]]

    def all(self, kind: str) -> list[dict[str, Any]]:
        return [o for o in self.objects if o["kind"] == kind]

    def get(self, kind: str, name: str) -> dict[str, Any]:
        found = [o for o in self.all(kind) if o["metadata"]["name"] == name]
        assert len(found) == 1, f"{self.overlay}: {len(found)} {kind} named {name}"
        return found[0]

    @cached_property
    def namespace(self) -> str:
        return str(self.get("Deployment", "lookup")["metadata"]["namespace"])

    def container(self, kind: str, name: str, container: str) -> dict[str, Any]:
        spec = self.get(kind, name)["spec"]["template"]["spec"]
        found = [c for c in [*spec.get("initContainers", []), *spec["containers"]] if c["name"] == container]
        assert len(found) == 1, f"{self.overlay}: {kind} {name} has no container {container}"
        return found[0]

    def environment(self, container: dict[str, Any], secrets: dict[str, str] | None = None) -> dict[str, str]:
        """The container's environment as the kubelet makes it: ConfigMaps whole, then `env` in order, $(VAR)
        expanded; a secret's value is `secrets[name/key]` or a placeholder."""
        env: dict[str, str] = {}
        for source in container.get("envFrom", []):
            env.update(self.get("ConfigMap", source["configMapRef"]["name"]).get("data", {}))
        for variable in container.get("env", []):
            if "value" in variable:
                env[variable["name"]] = re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]), variable["value"])
            else:
                ref = variable["valueFrom"]["secretKeyRef"]
                env[variable["name"]] = (secrets or {}).get(f"{ref['name']}/{ref['key']}", "0123456789abcdef")
        return env


@pytest.fixture(scope="session")
def builds() -> dict[str, Build]:
    """Every overlay, built once."""
    return {overlay: Build(overlay, build(K8S / "overlays" / overlay)) for overlay in OVERLAYS}


def dockerfile_ports(service: str) -> set[int]:
    """The ports the service's image says it listens on (every EXPOSE line of its Dockerfile)."""
    text = (ROOT / "services" / service / "Dockerfile").read_text()
    return {int(port.split("/")[0]) for line in re.findall(r"^EXPOSE\s+(.+)$", text, re.M) for port in line.split()}


def code_calls() -> set[tuple[str, str]]:
    """Who calls whom, as the code has it: each settings class's `<service>_address` fields."""
    return {
        (caller, field.removesuffix("_address"))
        for caller, settings in SETTINGS.items()
        for field in settings.model_fields
        if field.endswith("_address") and field not in LISTEN_FIELDS
    }
