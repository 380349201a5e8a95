"""The embedded development stack: one PostgreSQL (pip-installed pgserver) under a data
folder, one schema and role per service, development secrets (certificates, identity
providers' keys, each service's own subject keys), and the four services as separate
processes. `make up`, `make test` and the end-to-end tests all start the registry this way.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import asyncpg
import grpc
from gjeld_shared import db
from gjeld_shared.identity_numbers import SubjectKeys, dump_subject_keys
from gjeld_shared.tokens import Provider
from grpc_health.v1 import health_pb2, health_pb2_grpc

from .dev_identity import ISSUERS, PORTAL_CLIENT, DevelopmentIdentityProviders, audience
from .dev_pki import REGISTRY_ORGANIZATION, WORKLOAD_ID_PREFIX, DevelopmentPki, write_secret

SERVICES = ("ingest", "consent", "notify", "lookup")  # lookup last: it calls the others
# Min gjeld, the person's pages: HTTP for browsers, a client of lookup, consent and notify (as the person).
PORTAL = "portal"
PORTAL_CALLS = ("lookup", "consent", "notify", "ingest")
WORKLOADS = (*SERVICES, PORTAL)  # each with a workload certificate
# Each with a schema, a role, migrations and a key file of its own (the portal's: its browsers' sessions).
DATABASE_OWNERS = (*SERVICES, PORTAL)
DEFAULT_PORTAL_ADDRESS = "127.0.0.1:8080"
DEFAULT_IDPORTEN_ADDRESS = "127.0.0.1:8090"
LISTENERS = ("certificate", "token", "health")
# Each service listens three times (server.py): mutual TLS, TLS for tokens only, and plaintext health.
DEFAULT_PORTS = {
    "ingest": (50051, 50151, 50251),
    "lookup": (50052, 50152, 50252),
    "consent": (50053, 50153, 50253),
    "notify": (50054, 50154, 50254),
}
DEFAULT_ADDRESSES = {
    service: dict(zip(LISTENERS, (f"127.0.0.1:{port}" for port in ports), strict=True))
    for service, ports in DEFAULT_PORTS.items()
}
# The identity providers whose tokens each service takes: only those of its callers (see each ACCESS table).
TRUSTS = {
    "ingest": (Provider.MASKINPORTEN, Provider.IDPORTEN, Provider.OPERATOR),
    "lookup": (Provider.MASKINPORTEN, Provider.IDPORTEN, Provider.OPERATOR),
    "consent": (Provider.MASKINPORTEN, Provider.IDPORTEN),
    "notify": (Provider.MASKINPORTEN, Provider.IDPORTEN, Provider.OPERATOR),
}
# The services that accept institutions' enterprise certificates, and those that call institutions.
TAKES_INSTITUTION_CERTIFICATES = ("ingest", "lookup", "notify")
CALLS_INSTITUTIONS = ("ingest", "lookup")
INSTITUTIONS_FILE = Path(__file__).parent / "institutions.dev.json"
POPULATION_REGISTER_FILE = Path(__file__).parent / "population.dev.json"


def migrations_dir(service: str) -> Path:
    module = __import__(f"gjeld_{service}.bootstrap", fromlist=["MIGRATIONS"])
    return Path(module.MIGRATIONS)


@dataclass(frozen=True)
class DataFolder:
    """Everything the development stack keeps, under one folder (`.data/` by default)."""

    root: Path

    @property
    def pgdata(self) -> Path:
        return self.root / "pg"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def traces(self) -> Path:
        return self.root / "traces"

    @property
    def mailbox(self) -> Path:
        return self.root / "mailbox"

    @property
    def pki(self) -> DevelopmentPki:
        return DevelopmentPki(self.secrets / "pki")

    @property
    def identity(self) -> DevelopmentIdentityProviders:
        return DevelopmentIdentityProviders(self.secrets / "idp")

    def subject_keys(self, service: str) -> Path:
        """A service's own keys for identity numbers at rest: no service can read what another holds."""
        return self.secrets / service / "subject-keys.json"

    @property
    def extract_signing_key(self) -> Path:
        """lookup's key that signs score-model packages' manifests (DOM-11)."""
        return self.secrets / "lookup" / "extract-signing-key.pem"

    def ensure_secrets(self) -> None:
        """Create the development secrets once, and reuse them: certificates, identity providers, subject keys."""
        self.secrets.mkdir(parents=True, exist_ok=True)
        os.chmod(self.secrets, 0o700)
        self.pki.ensure(list(WORKLOADS))
        self.identity.ensure()
        for service in DATABASE_OWNERS:
            path = self.subject_keys(service)
            if not path.exists():
                write_secret(path, dump_subject_keys(SubjectKeys.generate()).encode())
        if not self.extract_signing_key.exists():
            from gjeld_lookup.extracts import generate_signing_key

            write_secret(self.extract_signing_key, generate_signing_key())


def start_postgres(pgdata: Path) -> Any:
    """Start (or reuse) the embedded PostgreSQL; it stops when this process exits."""
    from pgserver.postgres_server import get_server

    pgdata.mkdir(parents=True, exist_ok=True)
    return get_server(pgdata, cleanup_mode="stop")


def restart_postgres(server: Any, pgdata: Path, timeout: float = 60.0) -> Any:
    """Restart the embedded PostgreSQL on the same data and socket; returns the new server. A running one gets a
    fast shutdown (every session ended, as in a real restart); one that died is forgotten (pgserver would try to
    stop it), and the new one starts once the dead one's last backends have gone."""
    if postgres_running(pgdata):
        server.cleanup()
    else:
        type(server)._instances.pop(server.pgdata, None)
    deadline = time.monotonic() + timeout
    while True:
        try:
            started = start_postgres(pgdata)
            if postgres_running(pgdata):
                return started
        except subprocess.CalledProcessError:
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"PostgreSQL did not start again in {timeout:.0f} s")
        type(server)._instances.pop(server.pgdata, None)  # (it took the dead one for running: ask again)
        time.sleep(0.2)


def postgres_running(pgdata: Path) -> bool:
    """Whether the PostgreSQL of this data folder is alive (its postmaster's pid a live process, not a zombie)."""
    try:
        pid = int((pgdata / "postmaster.pid").read_text().split()[0])
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError, ValueError):
        return False


def socket_dir(server: Any) -> str:
    return str(parse_qs(urlparse(server.get_uri()).query)["host"][0])


def role(service: str) -> str:
    return f"gjeld_{service}"


def database_url(socket: str, service: str, database: str) -> str:
    return f"postgresql+asyncpg://{role(service)}@/{database}?host={socket}"


async def provision(socket: str, database: str) -> None:
    """Create the database, and for each service (and the portal) a login role owning its own schema."""
    admin = await asyncpg.connect(host=socket, user="postgres", database="postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await admin.execute(f'CREATE DATABASE "{database}"')
        for service in DATABASE_OWNERS:
            if not await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role(service)):
                await admin.execute(f"CREATE ROLE {role(service)} LOGIN")
    finally:
        await admin.close()
    conn = await asyncpg.connect(host=socket, user="postgres", database=database)
    try:
        await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        await grant_database(conn, database)
        for service in DATABASE_OWNERS:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {service} AUTHORIZATION {role(service)}")
    finally:
        await conn.close()


async def grant_database(conn: asyncpg.Connection, database: str) -> None:
    """Database-wide privileges (not copied from a template database): each service may connect, and
    ingest may create the temporary tables it stages deliveries in."""
    await conn.execute(f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC')
    for service in DATABASE_OWNERS:
        await conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {role(service)}')
    await conn.execute(f'GRANT TEMPORARY ON DATABASE "{database}" TO {role("ingest")}')


def migrate(socket: str, database: str) -> None:
    for service in DATABASE_OWNERS:
        db.upgrade(database_url(socket, service, database), migrations_dir(service))
    asyncio.run(harden(socket, database))


# The disclosure log's own role: it owns the log (and the trigger that keeps it append-only), so that lookup's role,
# which may only SELECT and INSERT there, can neither rewrite it nor drop it (DOM-15).
LOG_OWNER = "gjeld_lookup_log"


async def harden(socket: str, database: str) -> None:
    """After the migrations, as the administrator: the disclosure log passes to its own owner; lookup's schema to the
    administrator (a schema's owner may drop what is in it), lookup keeping USAGE and CREATE there. Run again after
    every migration; idempotent. In production the same statements run as the migration job's last step."""
    conn = await asyncpg.connect(host=socket, user="postgres", database=database)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", LOG_OWNER):
            await conn.execute(f"CREATE ROLE {LOG_OWNER} NOLOGIN")
        await conn.execute("ALTER SCHEMA lookup OWNER TO postgres")
        await conn.execute(f"GRANT USAGE, CREATE ON SCHEMA lookup TO {role('lookup')}")
        await conn.execute(f"GRANT USAGE ON SCHEMA lookup TO {LOG_OWNER}")
        await conn.execute(f"ALTER TABLE lookup.audit_log OWNER TO {LOG_OWNER}")
        await conn.execute(f"ALTER FUNCTION lookup.audit_log_append_only() OWNER TO {LOG_OWNER}")
        await conn.execute(f"REVOKE ALL ON lookup.audit_log FROM {role('lookup')}")
        await conn.execute(f"GRANT SELECT, INSERT ON lookup.audit_log TO {role('lookup')}")
    finally:
        await conn.close()


def service_env(
    folder: DataFolder,
    service: str,
    socket: str,
    database: str,
    addresses: Mapping[str, str],
    listen: Mapping[str, str],
    institutions_file: Path = INSTITUTIONS_FILE,
) -> dict[str, str]:
    """A service's environment: `addresses` are the other services' certificate listeners, `listen` its own."""
    pki, identity = folder.pki, folder.identity
    own = pki.service(service)
    env = {
        "GJELD_LISTEN_ADDRESS": listen["certificate"],
        "GJELD_TOKEN_LISTEN_ADDRESS": listen["token"],
        "GJELD_HEALTH_LISTEN_ADDRESS": listen["health"],
        "GJELD_DATABASE_URL": database_url(socket, service, database),
        "GJELD_TLS_CERTIFICATE_FILE": str(own.certificate_file),
        "GJELD_TLS_KEY_FILE": str(own.key_file),
        "GJELD_WORKLOAD_CA_FILE": str(pki.workload_ca),
        "GJELD_WORKLOAD_ID_PREFIX": WORKLOAD_ID_PREFIX,
        "GJELD_TOKEN_AUDIENCE": audience(service),
        **{
            f"GJELD_{provider.name}_{field}": value
            for provider in TRUSTS[service]
            for field, value in (("ISSUER", ISSUERS[provider]), ("JWKS_FILE", str(identity.jwks_file(provider))))
        },
        "GJELD_SUBJECT_KEYS_FILE": str(folder.subject_keys(service)),
        "GJELD_INSTITUTIONS_FILE": str(institutions_file),
        "GJELD_TRACE_FILE": str(folder.traces / f"{service}.jsonl"),
        "GJELD_MAILBOX_DIR": str(folder.mailbox),
        "GJELD_POPULATION_REGISTER_FILE": str(POPULATION_REGISTER_FILE),
        # notify: the development twins (the sandbox population, letters as files) for providers not configured.
        "GJELD_ENVIRONMENT": "development",
        # Repeated lookups for one application share a letter within this window; short here, so a letter shows soon.
        "GJELD_MERGE_WINDOW_SECONDS": "3",
        "GJELD_PORT_FILE": str(folder.root / "run" / f"{service}.port"),
        **{f"GJELD_{name.upper()}_ADDRESS": address for name, address in addresses.items()},
    }
    if service in TAKES_INSTITUTION_CERTIFICATES:
        env["GJELD_INSTITUTION_CA_FILE"] = str(pki.enterprise_ca)
        env["GJELD_INSTITUTION_CRL_FILE"] = str(pki.enterprise_crl)
    if service == "lookup":
        env["GJELD_EXTRACT_SIGNING_KEY_FILE"] = str(folder.extract_signing_key)
        # The disclosure log's checkpoints: outside the database, beside the data (a witness's copy in production).
        env["GJELD_AUDIT_CHECKPOINT_FILE"] = str(folder.root / "audit" / "checkpoints.jsonl")
        env["GJELD_REGISTRY_ORGANIZATION_NUMBER"] = REGISTRY_ORGANIZATION
    if service in CALLS_INSTITUTIONS:
        registry = pki.registry()
        env["GJELD_REGISTRY_CERTIFICATE_FILE"] = str(registry.certificate_file)
        env["GJELD_REGISTRY_KEY_FILE"] = str(registry.key_file)
        # Banks' server certificates: in development issued by the enterprise CA, in production a public CA.
        env["GJELD_CREDITOR_CA_FILE"] = str(pki.enterprise_ca)
    return env


def portal_env(
    folder: DataFolder,
    addresses: Mapping[str, str],
    listen: str,
    idporten_url: str,
    socket: str,
    database: str,
    public_url: str = "",
) -> dict[str, str]:
    """The portal's environment: `addresses` are the services' certificate listeners, `idporten_url` where the
    development ID-porten serves (the portal is registered there as a client), `socket` and `database` where its
    sessions are kept."""
    pki, identity = folder.pki, folder.identity
    own = pki.service(PORTAL)
    public = public_url or f"http://{listen}"
    secret = identity.register_portal([audience(s) for s in PORTAL_CALLS], f"{public}/innlogget")
    return {
        "GJELD_PORTAL_ADDRESS": listen,
        "GJELD_PUBLIC_URL": public_url,
        "GJELD_SECURE_COOKIES": "false",  # development serves plain HTTP on the loopback address
        "GJELD_DATABASE_URL": database_url(socket, PORTAL, database),
        "GJELD_SESSION_KEYS_FILE": str(folder.subject_keys(PORTAL)),
        **{f"GJELD_{service.upper()}_ADDRESS": addresses[service] for service in PORTAL_CALLS},
        **{f"GJELD_{service.upper()}_AUDIENCE": audience(service) for service in PORTAL_CALLS},
        "GJELD_TLS_CERTIFICATE_FILE": str(own.certificate_file),
        "GJELD_TLS_KEY_FILE": str(own.key_file),
        "GJELD_WORKLOAD_CA_FILE": str(pki.workload_ca),
        "GJELD_OIDC_ISSUER": ISSUERS[Provider.IDPORTEN],
        "GJELD_OIDC_DISCOVERY_URL": f"{idporten_url}/.well-known/openid-configuration",
        "GJELD_OIDC_CLIENT_ID": PORTAL_CLIENT,
        "GJELD_OIDC_CLIENT_SECRET_FILE": str(secret),
        "GJELD_INSTITUTIONS_FILE": str(INSTITUTIONS_FILE),
        "GJELD_TRACE_FILE": str(folder.traces / f"{PORTAL}.jsonl"),
        "GJELD_PORT_FILE": str(folder.root / "run" / f"{PORTAL}.port"),
    }


def start_http(
    command: list[str], env: Mapping[str, str], port_file: Path, out: Any = None, timeout: float = 30.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start an HTTP server process (the portal, the development ID-porten) that writes the port it bound to
    `port_file`; returns the process and its address once it answers."""
    import urllib.error
    import urllib.request

    port_file.unlink(missing_ok=True)
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=out, stderr=out)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{command[2]} exited with code {process.returncode}")
        if time.monotonic() > deadline:
            process.kill()
            raise TimeoutError(f"{command[2]} did not start in {timeout:.0f} s")
        if port_file.exists() and port_file.read_text():
            address = f"127.0.0.1:{json.loads(port_file.read_text())['http']}"
            try:
                with urllib.request.urlopen(f"http://{address}/", timeout=2):
                    return process, address
            except urllib.error.HTTPError:  # it answers
                return process, address
            except OSError:
                pass
        time.sleep(0.05)


async def wait_serving(health_address: str, timeout: float) -> None:
    """Wait until the service's health listener (plaintext, as the kubelet probes it) says SERVING."""
    deadline = time.monotonic() + timeout
    async with grpc.aio.insecure_channel(health_address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no healthy service at {health_address} after {timeout:.0f} s")
            await asyncio.sleep(0.02)


@dataclass
class Suite:
    """The four services as child processes."""

    folder: DataFolder
    socket: str
    database: str = "gjeld"
    listen: Mapping[str, Mapping[str, str]] = field(default_factory=lambda: dict(DEFAULT_ADDRESSES))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # Where each service listens, by listener (certificate, token, health), once started.
    addresses: dict[str, dict[str, str]] = field(default_factory=dict)
    log_dir: Path | None = None
    services: Sequence[str] = SERVICES
    institutions_file: Path = INSTITUTIONS_FILE
    # How a service is started (a benchmark may start it another way).
    command: Callable[[str], list[str]] = field(
        default=lambda service: [sys.executable, "-m", f"gjeld_{service}", "serve"]
    )

    def start(self, timeout: float = 30.0) -> dict[str, dict[str, str]]:
        """Start the services in order, each once the ones it calls are healthy; returns their addresses."""
        for service in self.services:
            self._launch(service, timeout)
        return self.addresses

    def restart(self, service: str, timeout: float = 30.0) -> float:
        """Start a service that stopped again, on the addresses it had (where the others keep calling it), as
        Kubernetes restarts a container; returns the seconds until it served again."""
        began = time.monotonic()
        process = self.processes[service]
        if process.poll() is None:
            process.kill()
            process.wait()
        self.listen = {**self.listen, service: self.addresses[service]}
        self._launch(service, timeout)
        return time.monotonic() - began

    def _launch(self, service: str, timeout: float) -> None:
        run = self.folder.root / "run"
        run.mkdir(parents=True, exist_ok=True)
        port_file = run / f"{service}.port"
        port_file.unlink(missing_ok=True)
        internal = {name: listeners["certificate"] for name, listeners in self.addresses.items() if name != service}
        env = {
            **os.environ,
            **service_env(
                self.folder,
                service,
                self.socket,
                self.database,
                internal,
                self.listen[service],
                self.institutions_file,
            ),
        }
        out = (self.log_dir / f"{service}.log").open("ab") if self.log_dir else None
        self.processes[service] = subprocess.Popen(self.command(service), env=env, stdout=out, stderr=out)
        host = self.listen[service]["certificate"].rsplit(":", 1)[0]
        deadline = time.monotonic() + timeout
        while not port_file.exists() or not port_file.read_text():
            if self.processes[service].poll() is not None:
                raise RuntimeError(f"{service} exited with code {self.processes[service].returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{service} did not start in {timeout:.0f} s")
            time.sleep(0.01)
        ports = json.loads(port_file.read_text())
        self.addresses[service] = {listener: f"{host}:{ports[listener]}" for listener in LISTENERS}
        asyncio.run(wait_serving(self.addresses[service]["health"], timeout))

    def stop(self, timeout: float = 15.0) -> dict[str, int | None]:
        """SIGTERM to every service, in reverse order; returns their exit codes."""
        for service in reversed(list(self.processes)):
            process = self.processes[service]
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes: dict[str, int | None] = {}
        for service, process in self.processes.items():
            try:
                codes[service] = process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[service] = None
        return codes
