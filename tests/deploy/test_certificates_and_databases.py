"""The operators' resources give the services what their code checks: cert-manager certificates that name each
workload as shared/gjeld_shared/certificates.py recognises it, in the Secret its Deployment mounts; a CloudNativePG
database, schema and role for each service's database URL, the role's password from the same Secret."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from .conftest import OVERLAYS, SERVICES, SETTINGS, WORKLOADS, Build


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


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_its_database_schema_and_role(builds: dict[str, Build], overlay: str, service: str) -> None:
    built = builds[overlay]
    server = built.container("Deployment", service, "server")
    url = make_url(built.environment(server)["GJELD_DATABASE_URL"])
    cluster = built.get("Cluster", "gjeld-postgres")
    assert url.host == f"{cluster['metadata']['name']}-rw" and url.port == 5432
    [database] = [d for d in built.all("Database") if d["spec"]["name"] == url.database]
    assert database["spec"]["cluster"]["name"] == cluster["metadata"]["name"]
    schema = importlib.import_module(f"gjeld_{service}.adapters").SCHEMA
    assert schema in {s["name"] for s in database["spec"]["schemas"]}, "the schema the service's tables live in"
    # The role logs in with the password file the settings name, mounted from the role's own Secret; the URL in the
    # environment holds none.
    assert url.password is None
    password_file = Path(built.environment(server)["GJELD_DATABASE_PASSWORD_FILE"])
    [mount] = [m for m in server["volumeMounts"] if Path(m["mountPath"]) == password_file.parent]
    pod = built.get("Deployment", service)["spec"]["template"]["spec"]
    [volume] = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    [item] = [i for i in volume["secret"]["items"] if i["path"] == password_file.name]
    [role] = [r for r in cluster["spec"]["managed"]["roles"] if r["name"] == url.username]
    assert role["login"] is True
    assert role["passwordSecret"]["name"] == volume["secret"]["secretName"] == f"{service}-database"
    assert item["key"] == "password"
