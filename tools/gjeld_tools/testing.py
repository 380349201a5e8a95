"""pytest fixtures for gjeld (loaded with `-p gjeld_tools.testing`).

- `postgres`: a real embedded PostgreSQL for the session, with a template database in
  which every service's role, schema and migrations are in place;
- `database`: a fresh database per test, copied from that template;
- `registry`: the four services in this process, each a real gRPC server on port 0
  with its own role and schema, calling each other over real channels, with their
  spans collected in memory.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import pytest
from gjeld.consent.v1 import consent_service_pb2_grpc
from gjeld.ingest.v1 import ingest_service_pb2_grpc
from gjeld.lookup.v1 import lookup_service_pb2_grpc
from gjeld.notify.v1 import notify_service_pb2_grpc
from gjeld_shared.callers import SCOPE_LOOKUP, SCOPE_REPORT
from gjeld_shared.server import ServiceRuntime
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from . import devstack

TEMPLATE = "gjeld_template"


class CollectedSpans(InMemorySpanExporter):
    """The spans of every service in the test. A service that stops shuts its exporter down; this one outlives
    them all, so a test that stops and restarts a service still sees every span."""

    def shutdown(self) -> None:
        pass


@pytest.fixture(scope="session")
def data_folder(tmp_path_factory: pytest.TempPathFactory) -> devstack.DataFolder:
    folder = devstack.DataFolder(tmp_path_factory.mktemp("gjeld"))
    folder.ensure_secrets()
    return folder


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """The socket folder of a session-wide embedded PostgreSQL with a migrated template database."""
    pgdata = Path(tempfile.mkdtemp(prefix="gjeld-test-pg-"))
    server = devstack.start_postgres(pgdata)
    socket = devstack.socket_dir(server)
    asyncio.run(devstack.provision(socket, TEMPLATE))
    devstack.migrate(socket, TEMPLATE)
    yield socket
    server.cleanup()
    shutil.rmtree(pgdata, ignore_errors=True)


@pytest.fixture
async def database(postgres: str) -> AsyncIterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(host=postgres, user="postgres", database="postgres")
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
        await devstack.grant_database(admin, name)
        yield name
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def settings_for(
    service: str, folder: devstack.DataFolder, socket: str, database: str, addresses: dict[str, str], **extra: Any
) -> Any:
    module = __import__(f"gjeld_{service}.settings", fromlist=["x"])
    settings_type = getattr(module, f"{service.capitalize()}Settings")
    env = devstack.service_env(folder, service, socket, database, addresses, "127.0.0.1:0")
    values: dict[str, Any] = {key.removeprefix("GJELD_").lower(): value for key, value in env.items()}
    values.update(
        trace_file=None,
        port_file=None,
        relay_interval_seconds=0.1,
        delivery_interval_seconds=0.1,
        housekeeping_interval_seconds=0.1,
        merge_window_seconds=0.2,
    )
    values.update(extra)
    return settings_type(**{k: v for k, v in values.items() if k in settings_type.model_fields})


@dataclass
class Registry:
    """The four services running in the test's process, and how to call them."""

    folder: devstack.DataFolder
    spans: InMemorySpanExporter
    socket: str
    database: str
    institutions_file: Path | None = None
    runtimes: dict[str, ServiceRuntime] = field(default_factory=dict)
    addresses: dict[str, str] = field(default_factory=dict)
    _channels: list[grpc.aio.Channel] = field(default_factory=list)

    @property
    def mailbox(self) -> Path:
        return self.folder.mailbox

    def channel(self, service: str) -> grpc.aio.Channel:
        channel = grpc.aio.insecure_channel(self.addresses[service])
        self._channels.append(channel)
        return channel

    def ingest(self) -> ingest_service_pb2_grpc.IngestServiceStub:
        return ingest_service_pb2_grpc.IngestServiceStub(self.channel("ingest"))

    def consent(self) -> consent_service_pb2_grpc.ConsentServiceStub:
        return consent_service_pb2_grpc.ConsentServiceStub(self.channel("consent"))

    def lookup(self) -> lookup_service_pb2_grpc.LookupServiceStub:
        return lookup_service_pb2_grpc.LookupServiceStub(self.channel("lookup"))

    def notify(self) -> notify_service_pb2_grpc.NotifyServiceStub:
        return notify_service_pb2_grpc.NotifyServiceStub(self.channel("notify"))

    def as_institution(
        self, organization_number: str, scopes: Sequence[str] = (SCOPE_REPORT, SCOPE_LOOKUP)
    ) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.folder.issuer().institution(organization_number, scopes)}")]

    def as_subject(self, identity_number: str) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.folder.issuer().subject(identity_number)}")]

    def as_service(self, name: str) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.folder.issuer().service(name)}")]

    def as_operator(self, name: str = "ops-1") -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {self.folder.issuer().operator(name)}")]

    async def fetch(self, sql: str) -> list[asyncpg.Record]:
        """Read the test's database directly, as the administrator (to check what the services stored)."""
        connection = await asyncpg.connect(host=self.socket, user="postgres", database=self.database)
        try:
            return list(await connection.fetch(sql))
        finally:
            await connection.close()

    async def start(self, service: str, **extra: Any) -> None:
        """Start one service in this process (its settings overridden by `extra`)."""
        module = __import__(f"gjeld_{service}.bootstrap", fromlist=["build"])
        if self.institutions_file is not None:
            extra.setdefault("institutions_file", self.institutions_file)
        settings = settings_for(service, self.folder, self.socket, self.database, self.addresses, **extra)
        runtime = module.build(settings, [SimpleSpanProcessor(self.spans)])
        self.addresses[service] = f"127.0.0.1:{await runtime.start()}"
        self.runtimes[service] = runtime

    async def stop(self, service: str) -> None:
        await self.runtimes.pop(service).stop()

    async def configure_institutions(self, changes: dict[str, dict[str, Any]], restart: Sequence[str] = ()) -> None:
        """Change the operator's institution directory (by organisation number) and restart `restart` to read it."""
        assert self.institutions_file is not None
        document = json.loads(self.institutions_file.read_text())
        for entry in document["institutions"]:
            entry.update(changes.get(entry["organization_number"], {}))
        self.institutions_file.write_text(json.dumps(document))
        for service in restart:
            port = self.addresses[service].rsplit(":", 1)[1]
            await self.stop(service)
            await self.start(service, listen_address=f"127.0.0.1:{port}")

    async def close(self) -> None:
        for channel in self._channels:
            await channel.close()
        for service in reversed(list(self.runtimes)):
            await self.stop(service)


@pytest.fixture
async def registry(
    postgres: str, database: str, tmp_path: Path, data_folder: devstack.DataFolder
) -> AsyncIterator[Registry]:
    folder = devstack.DataFolder(tmp_path)
    folder.secrets.mkdir(parents=True)
    for name in ("issuer.key.pem", "issuer.pub.pem", "subject-keys.json", *(f"{s}.token" for s in devstack.SERVICES)):
        shutil.copy(data_folder.secrets / name, folder.secrets / name)
    # The development directory, without creditor endpoints: a test gives live creditors the ports it started.
    document = json.loads(devstack.INSTITUTIONS_FILE.read_text())
    for entry in document["institutions"]:
        entry.pop("creditor_endpoint", None)
    institutions = tmp_path / "institutions.json"
    institutions.write_text(json.dumps(document))
    suite = Registry(folder, CollectedSpans(), postgres, database, institutions)
    try:
        for service in devstack.SERVICES:
            await suite.start(service)
        yield suite
    finally:
        await suite.close()


# --- test data ------------------------------------------------------------------------------------------------

BANK = "999888777"  # Fjordbanken ASA in the development institution directory
LENDER = "911222333"  # Nordlys Kreditt AS
PERSON = "14842249091"  # synthetic identity numbers (month + 80)
CO_BORROWER = "29868099311"


def demo_changes() -> list[Any]:
    """The demo delivery (NOGI format): three debts of PERSON, one of them joint with CO_BORROWER."""
    from . import nogi

    return list(nogi.changes(json.loads((Path(__file__).parent / "demo-delivery.json").read_text())))


async def report_demo(registry: Registry, request_id: str = "demo-1") -> Any:
    from gjeld.ingest.v1 import ingest_service_pb2

    return await registry.ingest().ReportDebtChanges(
        ingest_service_pb2.ReportDebtChangesRequest(request_id=request_id, changes=demo_changes()),
        metadata=registry.as_institution(BANK),
    )


async def grant(
    registry: Registry,
    subject: str = PERSON,
    institution: str = LENDER,
    days: float | None = 28,
    max_uses: int | None = None,
) -> Any:
    from gjeld.consent.v1 import consent_pb2, consent_service_pb2
    from gjeld.type.v1 import identity_pb2
    from google.protobuf import duration_pb2

    request = consent_service_pb2.GrantConsentRequest(
        institution=identity_pb2.OrganizationNumber(value=institution),
        scope=consent_pb2.CONSENT_SCOPE_PROCESSING,
        request_id=uuid.uuid4().hex,
        max_uses=max_uses,
    )
    if days is not None:
        request.validity.CopyFrom(duration_pb2.Duration(seconds=int(days * 86400)))
    return (await registry.consent().GrantConsent(request, metadata=registry.as_subject(subject))).consent


async def look_up(
    registry: Registry,
    subject: str = PERSON,
    lender: str = LENDER,
    reference: str = "",
    purpose: int = 1,  # DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT
    max_wait: float | None = None,
) -> Any:
    from gjeld.lookup.v1 import lookup_service_pb2
    from gjeld.type.v1 import identity_pb2

    request = lookup_service_pb2.LookUpDebtRequest(
        subject=identity_pb2.NationalIdentityNumber(value=subject), purpose=purpose, application_reference=reference
    )
    if max_wait is not None:
        request.max_wait.FromTimedelta(timedelta(seconds=max_wait))
    return await registry.lookup().LookUpDebt(request, metadata=registry.as_institution(lender))


async def eventually(check: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:
    """Await `check()` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await asyncio.sleep(interval)


def reason(error: grpc.aio.AioRpcError) -> str:
    from gjeld_shared import errors

    return errors.decode(error).reason


def snapshot_messages(
    debts: Sequence[Any],
    request_id: str,
    per_message: int = 1000,
    strictness: int = 0,
    extract_time: Any = None,
) -> list[Any]:
    """A snapshot delivery as the stream of messages a bank sends: the header in the first one."""
    from gjeld.ingest.v1 import ingest_service_pb2

    first = ingest_service_pb2.DeliverSnapshotRequest(request_id=request_id, strictness=strictness)
    first.extract_time.FromDatetime(extract_time or datetime(2026, 6, 25, 5, 0, tzinfo=UTC))
    messages = [first]
    for start in range(0, len(debts), per_message):
        if start:
            messages.append(ingest_service_pb2.DeliverSnapshotRequest())
        messages[-1].debts.extend(debts[start : start + per_message])
    return messages


async def deliver_snapshot(
    registry: Registry, institution: str, debts: Sequence[Any], request_id: str | None = None, **options: Any
) -> Any:
    """Deliver a full snapshot for `institution` through the streaming call; returns the response."""
    messages = snapshot_messages(debts, request_id or uuid.uuid4().hex, **options)

    async def stream() -> AsyncIterator[Any]:
        for message in messages:
            yield message

    return await registry.ingest().DeliverSnapshot(stream(), metadata=registry.as_institution(institution))
