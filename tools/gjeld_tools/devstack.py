"""The embedded development stack: one PostgreSQL (pip-installed pgserver) under a data
folder, one schema and role per service, development secrets, and the four services
as separate processes. `make up`, `make test` and the end-to-end tests all start the
registry this way.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import asyncpg
import grpc
from gjeld_shared import db
from gjeld_shared.callers import TokenIssuer, generate_signing_key
from gjeld_shared.identity_numbers import SubjectKeys
from gjeld_shared.settings import dump_subject_keys
from grpc_health.v1 import health_pb2, health_pb2_grpc

SERVICES = ("ingest", "consent", "notify", "lookup")  # lookup last: it calls the others
DEFAULT_ADDRESSES = {
    "ingest": "127.0.0.1:50051",
    "lookup": "127.0.0.1:50052",
    "consent": "127.0.0.1:50053",
    "notify": "127.0.0.1:50054",
}
ISSUER = "gjeld-dev-issuer"
AUDIENCE = "gjeld"
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
    def issuer_key(self) -> Path:
        return self.secrets / "issuer.key.pem"

    @property
    def issuer_public_key(self) -> Path:
        return self.secrets / "issuer.pub.pem"

    @property
    def subject_keys(self) -> Path:
        return self.secrets / "subject-keys.json"

    def service_token(self, service: str) -> Path:
        return self.secrets / f"{service}.token"

    def issuer(self) -> TokenIssuer:
        return TokenIssuer(self.issuer_key.read_bytes(), ISSUER, AUDIENCE)

    def ensure_secrets(self) -> None:
        """Create the development secrets once; issue fresh service tokens on every start."""
        self.secrets.mkdir(parents=True, exist_ok=True)
        os.chmod(self.secrets, 0o700)
        if not self.issuer_key.exists():
            private, public = generate_signing_key()
            self.issuer_key.write_bytes(private)
            self.issuer_public_key.write_bytes(public)
        if not self.subject_keys.exists():
            self.subject_keys.write_text(dump_subject_keys(SubjectKeys.generate()))
        issuer = self.issuer()
        for service in SERVICES:
            self.service_token(service).write_text(issuer.service(service))


def start_postgres(pgdata: Path) -> Any:
    """Start (or reuse) the embedded PostgreSQL; it stops when this process exits."""
    from pgserver.postgres_server import get_server

    pgdata.mkdir(parents=True, exist_ok=True)
    return get_server(pgdata, cleanup_mode="stop")


def socket_dir(server: Any) -> str:
    return str(parse_qs(urlparse(server.get_uri()).query)["host"][0])


def role(service: str) -> str:
    return f"gjeld_{service}"


def database_url(socket: str, service: str, database: str) -> str:
    return f"postgresql+asyncpg://{role(service)}@/{database}?host={socket}"


async def provision(socket: str, database: str) -> None:
    """Create the database, and for each service a login role owning its own schema."""
    admin = await asyncpg.connect(host=socket, user="postgres", database="postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            await admin.execute(f'CREATE DATABASE "{database}"')
        for service in SERVICES:
            if not await admin.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role(service)):
                await admin.execute(f"CREATE ROLE {role(service)} LOGIN")
    finally:
        await admin.close()
    conn = await asyncpg.connect(host=socket, user="postgres", database=database)
    try:
        await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
        await grant_database(conn, database)
        for service in SERVICES:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {service} AUTHORIZATION {role(service)}")
    finally:
        await conn.close()


async def grant_database(conn: asyncpg.Connection, database: str) -> None:
    """Database-wide privileges (not copied from a template database): each service may connect, and
    ingest may create the temporary tables it stages deliveries in."""
    await conn.execute(f'REVOKE ALL ON DATABASE "{database}" FROM PUBLIC')
    for service in SERVICES:
        await conn.execute(f'GRANT CONNECT ON DATABASE "{database}" TO {role(service)}')
    await conn.execute(f'GRANT TEMPORARY ON DATABASE "{database}" TO {role("ingest")}')


def migrate(socket: str, database: str) -> None:
    for service in SERVICES:
        db.upgrade(database_url(socket, service, database), migrations_dir(service))


def service_env(
    folder: DataFolder, service: str, socket: str, database: str, addresses: Mapping[str, str], listen: str
) -> dict[str, str]:
    return {
        "GJELD_LISTEN_ADDRESS": listen,
        "GJELD_DATABASE_URL": database_url(socket, service, database),
        "GJELD_TOKEN_ISSUER": ISSUER,
        "GJELD_TOKEN_AUDIENCE": AUDIENCE,
        "GJELD_TOKEN_PUBLIC_KEY_FILE": str(folder.issuer_public_key),
        "GJELD_SERVICE_TOKEN_FILE": str(folder.service_token(service)),
        "GJELD_SUBJECT_KEYS_FILE": str(folder.subject_keys),
        "GJELD_INSTITUTIONS_FILE": str(INSTITUTIONS_FILE),
        "GJELD_TRACE_FILE": str(folder.traces / f"{service}.jsonl"),
        "GJELD_MAILBOX_DIR": str(folder.mailbox),
        "GJELD_POPULATION_REGISTER_FILE": str(POPULATION_REGISTER_FILE),
        # Repeated lookups for one application share a letter within this window; short here, so a letter shows soon.
        "GJELD_MERGE_WINDOW_SECONDS": "3",
        "GJELD_PORT_FILE": str(folder.root / "run" / f"{service}.port"),
        **{f"GJELD_{name.upper()}_ADDRESS": address for name, address in addresses.items()},
    }


async def wait_serving(address: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with grpc.aio.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while True:
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"no healthy service at {address} after {timeout:.0f} s")
            await asyncio.sleep(0.1)


@dataclass
class Suite:
    """The four services as child processes."""

    folder: DataFolder
    socket: str
    database: str = "gjeld"
    listen: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_ADDRESSES))
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    log_dir: Path | None = None
    services: Sequence[str] = SERVICES

    def start(self, timeout: float = 30.0) -> dict[str, str]:
        """Start the services in order, each once the ones it calls are healthy; returns their addresses."""
        run = self.folder.root / "run"
        run.mkdir(parents=True, exist_ok=True)
        for service in self.services:
            port_file = run / f"{service}.port"
            port_file.unlink(missing_ok=True)
            env = {
                **os.environ,
                **service_env(self.folder, service, self.socket, self.database, self.addresses, self.listen[service]),
            }
            out = (self.log_dir / f"{service}.log").open("ab") if self.log_dir else None
            self.processes[service] = subprocess.Popen(
                [sys.executable, "-m", f"gjeld_{service}", "serve"], env=env, stdout=out, stderr=out
            )
            host = self.listen[service].rsplit(":", 1)[0]
            deadline = time.monotonic() + timeout
            while not port_file.exists() or not port_file.read_text():
                if self.processes[service].poll() is not None:
                    raise RuntimeError(f"{service} exited with code {self.processes[service].returncode}")
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{service} did not start in {timeout:.0f} s")
                time.sleep(0.05)
            self.addresses[service] = f"{host}:{port_file.read_text()}"
            asyncio.run(wait_serving(self.addresses[service], timeout))
        return self.addresses

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
