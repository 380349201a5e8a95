"""The operators' resources give the services what their code checks: cert-manager certificates that name each
workload as shared/gjeld_shared/certificates.py recognises it, in the Secret its Deployment mounts; for each workload
with a database (the services, the portal's sessions) a CloudNativePG cluster of its own, named by its database URL,
with the database, schema and role the URL names, the role's password from the Secret the workload mounts, the
cluster's own CA trusted; production's clusters as docs/production-layout.md has them."""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import pytest
from gjeld_tools import network_policies
from sqlalchemy.engine import make_url

from .conftest import DATABASE_WORKLOADS, OVERLAYS, ROOT, SETTINGS, WORKLOADS, Build


def workload_secret(built: Build, name: str) -> str:
    """The Secret mounted where the workload's settings find its certificate (GJELD_TLS_CERTIFICATE_FILE)."""
    container = built.container("Deployment", name, "server")
    certificate = Path(built.environment(container)["GJELD_TLS_CERTIFICATE_FILE"])
    mount = next(m for m in container["volumeMounts"] if Path(m["mountPath"]) == certificate.parent)
    volumes = built.get("Deployment", name)["spec"]["template"]["spec"]["volumes"]
    return str(next(v for v in volumes if v["name"] == mount["name"])["secret"]["secretName"])


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("name", WORKLOADS)
def test_each_workload_certificate_names_it_as_the_code_checks(
    builds: dict[str, Build], overlay: str, name: str
) -> None:
    built = builds[overlay]
    env = built.environment(built.container("Deployment", name, "server"))
    prefix = env.get("GJELD_WORKLOAD_ID_PREFIX", SETTINGS["ingest"].model_fields["workload_id_prefix"].default)
    secret = workload_secret(built, name)
    [certificate] = [c for c in built.all("Certificate") if c["spec"]["secretName"] == secret]
    spec: dict[str, Any] = certificate["spec"]
    # The one SPIFFE ID the code turns into this service's name; its namespace and account are the pod's own.
    assert spec["uris"] == [f"{prefix}{name}"]
    assert f"/ns/{built.namespace}/sa/{name}" in spec["uris"][0]
    assert built.get("Deployment", name)["spec"]["template"]["spec"]["serviceAccountName"] == name
    assert {"server auth", "client auth"} <= set(spec["usages"])
    # Every name others dial this workload by (`consent:50053`): a client checks it against the certificate.
    dialled = {
        address.rsplit(":", 1)[0]
        for other in WORKLOADS
        if other != name
        and (
            address := built.environment(built.container("Deployment", other, "server")).get(
                f"GJELD_{name.upper()}_ADDRESS"
            )
        )
    }
    assert dialled <= set(spec["dnsNames"])
    # Issued by the workload CA's issuer: a CA issuer whose secret is the CA certificate's.
    issuer = built.get(spec["issuerRef"].get("kind", "Issuer"), spec["issuerRef"]["name"])
    authority = built.get("Certificate", "gjeld-workload-ca")["spec"]
    assert issuer["spec"]["ca"]["secretName"] == authority["secretName"] and authority["isCA"] is True


def mounted_secret(built: Build, kind: str, name: str, container: dict[str, Any], path: Path) -> dict[str, Any]:
    """The secret volume mounted where `path` lies in the container (its `secret` source), the path projected."""
    [mount] = [m for m in container["volumeMounts"] if Path(m["mountPath"]) == path.parent]
    pod = built.get(kind, name)["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    source: dict[str, Any] = volume["secret"]
    assert path.name in {i["path"] for i in source.get("items", [])}, f"{kind} {name}: {path} is not projected"
    return source


def pods_of(built: Build, service: str) -> list[tuple[str, str, str]]:
    """The workload's server and its migration Job's migrate container: (kind, name, container)."""
    return [("Deployment", service, "server"), ("Job", f"{service}-migrate", "migrate")]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_one_database_cluster_per_service(builds: dict[str, Build], overlay: str) -> None:
    built = builds[overlay]
    clusters = {c["metadata"]["name"]: c for c in built.all("Cluster")}
    assert set(clusters) == {f"{service}-postgres" for service in DATABASE_WORKLOADS}
    # One Database in each, and only lookup's cluster has the administrator's secret (its migration Job's steps).
    assert sorted(d["spec"]["cluster"]["name"] for d in built.all("Database")) == sorted(clusters)
    superuser = {name for name, c in clusters.items() if c["spec"].get("enableSuperuserAccess")}
    assert superuser == {"lookup-postgres"}


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", DATABASE_WORKLOADS)
def test_each_service_has_its_database_schema_and_role(builds: dict[str, Build], overlay: str, service: str) -> None:
    built = builds[overlay]
    server = built.container("Deployment", service, "server")
    url = make_url(built.environment(server)["GJELD_DATABASE_URL"])
    # The URL names the service's own cluster (its primary's Service) and the database in it.
    cluster = built.get("Cluster", f"{service}-postgres")
    name = cluster["metadata"]["name"]
    assert url.host == f"{name}-rw" and url.port == 5432
    assert network_policies.load()["workloads"][service]["database"] == name, "calls.yaml names the same cluster"
    [database] = [d for d in built.all("Database") if d["spec"]["cluster"]["name"] == name]
    assert database["spec"]["name"] == url.database
    schema = importlib.import_module(f"gjeld_{service}.adapters").SCHEMA
    assert schema in {s["name"] for s in database["spec"]["schemas"]}, "the schema the service's tables live in"
    # The cluster's roles are the service's own, nothing of another service's.
    roles = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
    assert set(roles) == {f"gjeld_{service}"} | ({"gjeld_lookup_log"} if service == "lookup" else set())
    assert url.username == f"gjeld_{service}" and roles[url.username]["login"] is True
    assert all(r["login"] is False for n, r in roles.items() if n != url.username), "only the service's role logs in"
    # The role logs in with the password file the settings name, mounted from the role's own Secret, the one the
    # cluster gives the role (server and migration Job alike); the URL in the environment holds none.
    assert url.password is None
    for kind, pod, container_name in pods_of(built, service):
        container = built.container(kind, pod, container_name)
        env = built.environment(container)
        assert env["GJELD_DATABASE_URL"] == str(url)
        source = mounted_secret(built, kind, pod, container, Path(env["GJELD_DATABASE_PASSWORD_FILE"]))
        assert roles[url.username]["passwordSecret"]["name"] == source["secretName"] == f"{service}-database"
        assert [i["key"] for i in source["items"]] == ["password"]


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", DATABASE_WORKLOADS)
def test_each_service_trusts_its_own_clusters_ca(builds: dict[str, Build], overlay: str, service: str) -> None:
    """ssl=verify-full against the CA of the cluster the URL names: its ca.crt only, never the key beside it."""
    built = builds[overlay]
    for kind, pod, container_name in pods_of(built, service):
        container = built.container(kind, pod, container_name)
        env = built.environment(container)
        host = make_url(env["GJELD_DATABASE_URL"]).host
        assert "ssl=verify-full" in env["GJELD_DATABASE_URL"]
        source = mounted_secret(built, kind, pod, container, Path(env["PGSSLROOTCERT"]))
        assert source["secretName"] == f"{str(host).removesuffix('-rw')}-ca" == f"{service}-postgres-ca"
        assert [(i["key"], i["path"]) for i in source["items"]] == [("ca.crt", "ca.crt")]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_lookups_administrator_steps_use_lookups_own_cluster(builds: dict[str, Build], overlay: str) -> None:
    built = builds[overlay]
    url = make_url(built.environment(built.container("Deployment", "lookup", "server"))["GJELD_DATABASE_URL"])
    for step in ("before-migrations", "after-migrations"):
        container = built.container("Job", "lookup-migrate", step)
        env = built.environment(container, {"lookup-postgres-superuser/username": "postgres"})
        assert env["PGHOST"] == url.host == "lookup-postgres-rw" and env["PGDATABASE"] == url.database
        assert env["PGSSLMODE"] == "verify-full" and env["PGUSER"] == "postgres"
        secrets = {v["valueFrom"]["secretKeyRef"]["name"] for v in container["env"] if "valueFrom" in v}
        assert secrets == {"lookup-postgres-superuser"}, "the administrator of lookup's cluster, nobody else's"
        source = mounted_secret(built, "Job", "lookup-migrate", container, Path(env["PGSSLROOTCERT"]))
        assert source["secretName"] == "lookup-postgres-ca"


def layout() -> dict[str, str]:
    """docs/production-layout.md's table of clusters: the text of each workload's cluster column."""
    text = (ROOT / "docs" / "production-layout.md").read_text()
    rows = re.findall(r"^\| (\w+) \| [^|]+ \| ([^|]+) \|$", text, re.M)
    return {service: cluster for service, cluster in rows if service in DATABASE_WORKLOADS}


def test_the_documented_layout_has_every_cluster() -> None:
    assert set(layout()) == set(DATABASE_WORKLOADS)


@pytest.mark.parametrize("service", DATABASE_WORKLOADS)
def test_production_clusters_are_the_documented_layout(builds: dict[str, Build], service: str) -> None:
    documented = layout()[service]
    spec = builds["production"].get("Cluster", f"{service}-postgres")["spec"]
    assert spec["instances"] == int(re.search(r"(\d+) instances", documented)[1])  # type: ignore[index]
    quorum = re.search(r"synchronous quorum of (\d+)", documented)
    synchronous = spec["postgresql"].get("synchronous")
    if quorum:
        assert synchronous == {"method": "any", "number": int(quorum[1])}
    else:
        assert synchronous is None
    cpu, memory = re.search(r"(\d+) vCPU / (\d+) GiB", documented).groups()  # type: ignore[union-attr]
    for bound in ("requests", "limits"):  # Guaranteed QoS
        assert spec["resources"][bound] == {"cpu": cpu, "memory": f"{memory}Gi"}, bound
    volume = re.search(r"(\d+) GiB volume", documented)
    if volume:
        assert spec["storage"]["size"] == f"{volume[1]}Gi"
    assert builds["development"].get("Cluster", f"{service}-postgres")["spec"]["instances"] == 1
