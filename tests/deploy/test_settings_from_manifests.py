"""No drift between the manifests and the code: every Deployment's environment and mounted files parse into its
service's settings class, every file a setting names is mounted (from the service's own secrets), and the ports and
probes are those the service serves (settings == containerPort == Service targetPort == Dockerfile EXPOSE)."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from gjeld_portal.pages import Portal
from gjeld_shared.settings import DatabaseSettings
from pydantic_settings import BaseSettings

from .conftest import DATABASE_WORKLOADS, OVERLAYS, SETTINGS, WORKLOADS, Build, dockerfile_ports

# Secrets more than one workload mounts: none (each workload's PostgreSQL cluster, and so its CA, is its own:
# <workload>-postgres-ca, its ca.crt only, test_certificates_and_databases).
SHARED_SECRET_ITEMS: dict[str, set[str]] = {}


def mounted_file(container: dict[str, Any], volumes: dict[str, dict[str, Any]], path: str) -> str | None:
    """Why `path` is not a file the container can read, or None if it is."""
    for mount in container.get("volumeMounts", []):
        base = PurePosixPath(mount["mountPath"])
        if not PurePosixPath(path).is_relative_to(base):
            continue
        volume = volumes[mount["name"]]
        source = volume.get("secret") or volume.get("configMap")
        inner = str(PurePosixPath(path).relative_to(base))
        if source and "items" in source and inner not in {item["path"] for item in source["items"]}:
            return f"{path}: volume {mount['name']} projects only {[i['path'] for i in source['items']]}"
        return None
    return f"{path}: no volume is mounted there"


def settings_from(
    settings_type: type[BaseSettings], env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> BaseSettings:
    """The settings the service would read from `env`, its files made as placeholders under tmp_path."""
    for name in [n for n in os.environ if n.startswith("GJELD_")]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        if value.startswith("/"):
            placeholder = tmp_path / value.lstrip("/")
            placeholder.parent.mkdir(parents=True, exist_ok=True)
            placeholder.write_text("placeholder")
            value = str(placeholder)
        monkeypatch.setenv(name, value)
    return settings_type()


def file_settings(settings_type: type[BaseSettings], env: dict[str, str]) -> dict[str, str]:
    """The settings of type Path (files the service reads) that the environment sets."""
    return {
        f"GJELD_{field.upper()}": env[f"GJELD_{field.upper()}"]
        for field, info in settings_type.model_fields.items()
        if "Path" in str(info.annotation) and f"GJELD_{field.upper()}" in env
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", WORKLOADS)
def test_deployment_environment_parses_into_the_settings(
    builds: dict[str, Build], overlay: str, service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built, settings_type = builds[overlay], SETTINGS[service]
    container = built.container("Deployment", service, "server")
    env = built.environment(container)
    # Every GJELD_ variable names a setting: the settings ignore unknown ones, so a misspelt name would go unnoticed.
    fields = {f"GJELD_{field.upper()}" for field in settings_type.model_fields}
    assert {name for name in env if name.startswith("GJELD_")} <= fields, "variables no setting reads"
    # Every file a setting names is mounted where the setting says.
    volumes = {v["name"]: v for v in built.get("Deployment", service)["spec"]["template"]["spec"]["volumes"]}
    files = file_settings(settings_type, env).values()
    unmounted = [why for path in files if (why := mounted_file(container, volumes, path))]
    assert files and not unmounted, unmounted
    settings = settings_from(settings_type, env, tmp_path, monkeypatch)
    if service == "notify" and getattr(settings, "environment", "") == "production":
        # notify refuses to start in production without every provider (its bootstrap).
        assert not settings.unset_providers(), settings.unset_providers()  # type: ignore[attr-defined]


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", DATABASE_WORKLOADS)
def test_migration_job_environment_parses_into_the_settings(
    builds: dict[str, Build], overlay: str, service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = builds[overlay]
    job = built.get("Job", f"{service}-migrate")
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"OnFailure", "Never"}
    migrate = built.container("Job", f"{service}-migrate", "migrate")
    assert migrate["args"] == ["migrate"]
    settings = settings_from(SETTINGS[service], built.environment(migrate), tmp_path, monkeypatch)
    server = settings_from(
        SETTINGS[service], built.environment(built.container("Deployment", service, "server")), tmp_path, monkeypatch
    )
    assert settings.database_url == server.database_url  # type: ignore[attr-defined]
    # `migrate` needs the database (DatabaseSettings: the URL, the password file) and the cluster's CA, and the Job
    # mounts exactly those (and its scratch space): nothing else of the workload's secrets.
    env = built.environment(migrate)
    database = settings_from(DatabaseSettings, env, tmp_path, monkeypatch)
    assert database.database_url == server.database_url  # type: ignore[attr-defined]
    needed = [*file_settings(DatabaseSettings, env).values(), env["PGSSLROOTCERT"]]
    volumes = {v["name"]: v for v in job["spec"]["template"]["spec"]["volumes"]}
    unmounted = [why for path in needed if (why := mounted_file(migrate, volumes, path))]
    assert not unmounted, unmounted
    mounted = {m["mountPath"] for m in migrate["volumeMounts"]}
    assert mounted == {"/tmp"} | {str(PurePosixPath(path).parent) for path in needed}, "the Job mounts only these"
    # Migrations run in the Job, not in the replicas.
    deployment = built.get("Deployment", service)["spec"]["template"]["spec"]
    assert all(c.get("args") == ["serve"] for c in deployment["containers"])
    assert "initContainers" not in deployment


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", WORKLOADS)
def test_each_workload_mounts_only_its_own_secrets(builds: dict[str, Build], overlay: str, service: str) -> None:
    built = builds[overlay]
    kinds = [("Deployment", service)] + ([("Job", f"{service}-migrate")] if service in DATABASE_WORKLOADS else [])
    for kind, name in kinds:
        spec = built.get(kind, name)["spec"]["template"]["spec"]
        for volume in spec.get("volumes", []):
            secret = volume.get("secret")
            if secret is None:
                continue
            items = {item["key"] for item in secret.get("items", [])}
            shared = SHARED_SECRET_ITEMS.get(secret["secretName"])
            assert secret["secretName"].startswith(f"{service}-") or (shared and items and items <= shared), (
                f"{kind} {name} mounts {secret['secretName']} ({items or 'every key'})"
            )
        for container in [*spec.get("initContainers", []), *spec["containers"]]:
            if container["name"] not in {"server", "migrate"}:
                continue  # lookup's administrator steps: they take the administrator's secret, and nothing else
            for variable in container.get("env", []):
                ref = variable.get("valueFrom", {}).get("secretKeyRef")
                assert ref is None or ref["name"].startswith(f"{service}-"), f"{name} reads {ref}"


def hardened(spec: dict[str, Any]) -> None:
    pod = spec["securityContext"]
    assert pod["runAsNonRoot"] is True and pod["runAsUser"] == 10001
    assert pod["seccompProfile"] == {"type": "RuntimeDefault"}
    assert spec["automountServiceAccountToken"] is False
    # A secret mounted for owner and group only (0440) is readable by the pod's user only through fsGroup: without
    # it the kubelet leaves the files root's.
    for volume in spec.get("volumes", []):
        mode = volume.get("secret", {}).get("defaultMode", 0o644)
        if not mode & 0o004:
            assert pod.get("fsGroup") == pod["runAsGroup"], f"{volume['name']}: mode {mode:o} and no fsGroup"
    for container in [*spec.get("initContainers", []), *spec["containers"]]:
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True
        assert context["allowPrivilegeEscalation"] is False
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert {"requests", "limits"} <= set(container["resources"])
        assert "/tmp" in {m["mountPath"] for m in container.get("volumeMounts", [])}, "scratch space on /tmp"


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", WORKLOADS)
def test_pods_are_hardened(builds: dict[str, Build], overlay: str, service: str) -> None:
    built = builds[overlay]
    hardened(built.get("Deployment", service)["spec"]["template"]["spec"])
    if service in DATABASE_WORKLOADS:
        hardened(built.get("Job", f"{service}-migrate")["spec"]["template"]["spec"])
    account = built.get("ServiceAccount", service)
    assert account["automountServiceAccountToken"] is False


def port_of(address: str) -> int:
    host, port = address.rsplit(":", 1)
    assert host == "0.0.0.0", f"{address}: a pod must listen on every interface"
    return int(port)


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", WORKLOADS)
def test_ports_and_probes_are_what_the_service_serves(
    builds: dict[str, Build], overlay: str, service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = builds[overlay]
    container = built.container("Deployment", service, "server")
    settings: Any = settings_from(SETTINGS[service], built.environment(container), tmp_path, monkeypatch)
    if service == "portal":
        listening = {"http": port_of(settings.portal_address)}
    else:
        listening = {
            "grpc": port_of(settings.listen_address),
            "grpc-token": port_of(settings.token_listen_address),
            "health": port_of(settings.health_listen_address),
        }
    declared = {port["name"]: port["containerPort"] for port in container["ports"]}
    assert declared == listening, "containerPorts (by name) against the settings' listen addresses"
    assert set(declared.values()) == dockerfile_ports(service), "containerPorts against the Dockerfile's EXPOSE"
    service_ports = {port["name"]: port["targetPort"] for port in built.get("Service", service)["spec"]["ports"]}
    assert service_ports == listening, "the Service's ports (by name) against the settings"
    for probe in ("readinessProbe", "livenessProbe"):
        if service == "portal":
            check = container[probe]["httpGet"]
            assert check["port"] == listening["http"]
            served = {route.path for route in Portal.routes(Portal.__new__(Portal)) if "GET" in (route.methods or ())}
            assert check["path"] in served, f"{check['path']} is not a page the portal serves"
        else:
            # Native gRPC probes speak plaintext: only the health listener answers them.
            assert container[probe].get("grpc", {}).get("port") == listening["health"], probe


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_addresses_dialled_are_the_services_certificate_ports(builds: dict[str, Build], overlay: str) -> None:
    built = builds[overlay]
    dialled = 0
    for service in WORKLOADS:
        env = built.environment(built.container("Deployment", service, "server"))
        for callee in WORKLOADS:
            address = env.get(f"GJELD_{callee.upper()}_ADDRESS")
            if address is None or callee == service:  # (the portal's own listen address)
                continue
            host, port = address.rsplit(":", 1)
            ports = {p["name"]: p["port"] for p in built.get("Service", host)["spec"]["ports"]}
            assert host == callee and int(port) == ports["grpc"], f"{service} dials {callee} at {address}"
            dialled += 1
    assert dialled == 7  # lookup → 3, portal → 4
