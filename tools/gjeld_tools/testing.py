"""pytest fixtures for gjeld (loaded with `-p gjeld_tools.testing`).

- `postgres`: a real embedded PostgreSQL for the session, with a template database in
  which every service's role, schema and migrations are in place;
- `database`: a fresh database per test, copied from that template;
- `registry`: the four services in this process, each a real gRPC server on port 0
  with its own role and schema, calling each other over real mutual-TLS channels, with
  their spans collected in memory.

Tests call the services over TLS as their real callers would: `registry.ingest()` and the
like return stubs that take a `Credential` as `metadata` (`registry.as_institution(ORG)`,
`as_subject`, `as_operator`, `as_service`) and pick the listener and certificate for it,
making each token for the called API's audience.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
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
from gjeld_shared.callers import SCOPE_LOOKUP
from gjeld_shared.server import ServiceRuntime
from google.protobuf import descriptor_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from . import devstack
from .connect import NOBODY, Credential, channel_for, secure_channel
from .fake_bank import FakeBank

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


async def fresh_database(socket: str) -> str:
    """A database of its own, migrated (from the session's template), for services started as processes."""
    name = f"e2e_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(host=socket, user="postgres", database="postgres")
    await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    await admin.close()
    return name


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


ANY_PORT = {listener: "127.0.0.1:0" for listener in devstack.LISTENERS}


def settings_for(
    service: str, folder: devstack.DataFolder, socket: str, database: str, addresses: dict[str, str], **extra: Any
) -> Any:
    module = __import__(f"gjeld_{service}.settings", fromlist=["x"])
    settings_type = getattr(module, f"{service.capitalize()}Settings")
    env = devstack.service_env(folder, service, socket, database, addresses, ANY_PORT)
    values: dict[str, Any] = {key.removeprefix("GJELD_").lower(): value for key, value in env.items()}
    values.update(
        trace_file=None,
        port_file=None,
        relay_interval_seconds=0.1,
        delivery_interval_seconds=0.1,
        housekeeping_interval_seconds=0.1,
        extract_housekeeping_interval_seconds=0.1,
        # Reminders wait for the test that moves the clock (it restarts ingest with a short interval): a reminder round
        # in a transaction at any moment would be counted by the tests that look for transactions left open.
        correction_housekeeping_interval_seconds=3600,
        correction_relay_interval_seconds=0.1,
        audit_checkpoint_interval_seconds=0.2,
        merge_window_seconds=0.2,
        snapshot_fetch_time_utc="",  # no daily round: a test fetches when it means to, whatever the hour
        statistics_time_utc="",  # nor a daily count: a test counts when it means to
    )
    values.update(extra)
    return settings_type(**{k: v for k, v in values.items() if k in settings_type.model_fields})


class _Stub:
    """A service's stub whose calls take a `Credential` as `metadata` and go to the listener it calls."""

    def __init__(self, registry: Registry, service: str, stub_type: Any) -> None:
        self._registry, self._service, self._stub_type = registry, service, stub_type

    def __getattr__(self, method: str) -> Any:
        def call(request: Any, *, metadata: Credential = NOBODY, **options: Any) -> Any:
            channel = self._registry.channel(self._service, metadata)
            stub = self._stub_type(channel)
            return getattr(stub, method)(request, metadata=metadata.metadata(self._service), **options)

        return call


@dataclass
class Registry:
    """The four services running in the test's process, and how to call them."""

    folder: devstack.DataFolder
    spans: InMemorySpanExporter
    socket: str
    database: str
    institutions_file: Path | None = None
    runtimes: dict[str, ServiceRuntime] = field(default_factory=dict)
    # Each service's listeners (certificate, token, health) by name, once started.
    listeners: dict[str, dict[str, str]] = field(default_factory=dict)
    _channels: dict[tuple[str, str, Any], grpc.aio.Channel] = field(default_factory=dict)

    @property
    def mailbox(self) -> Path:
        return self.folder.mailbox

    @property
    def addresses(self) -> dict[str, str]:
        """Each service's certificate listener: where the other services call it."""
        return {service: listeners["certificate"] for service, listeners in self.listeners.items()}

    def channel(self, service: str, credential: Credential = NOBODY) -> grpc.aio.Channel:
        """A TLS channel to `service` for `credential`, kept open for the test."""
        key = (service, credential.listener(service), credential.certificate)
        if key not in self._channels:
            self._channels[key] = channel_for(service, self.listeners[service], credential, self.folder.pki.workload_ca)
        return self._channels[key]

    def ingest(self) -> Any:
        """ingest's stub: each call takes a `Credential` as `metadata`."""
        return _Stub(self, "ingest", ingest_service_pb2_grpc.IngestServiceStub)

    def consent(self) -> Any:
        """consent's stub: each call takes a `Credential` as `metadata`."""
        return _Stub(self, "consent", consent_service_pb2_grpc.ConsentServiceStub)

    def lookup(self) -> Any:
        """lookup's stub: each call takes a `Credential` as `metadata`."""
        return _Stub(self, "lookup", lookup_service_pb2_grpc.LookupServiceStub)

    def notify(self) -> Any:
        """notify's stub: each call takes a `Credential` as `metadata`."""
        return _Stub(self, "notify", notify_service_pb2_grpc.NotifyServiceStub)

    def as_institution(self, organization_number: str, scopes: Sequence[str] = (SCOPE_LOOKUP,)) -> Credential:
        """An institution: its enterprise certificate, and a Maskinporten token with `scopes`."""
        identity = self.folder.identity
        return Credential(
            self.folder.pki.institution(organization_number),
            lambda aud: identity.institution(organization_number, scopes, aud),
        )

    def as_subject(self, identity_number: str) -> Credential:
        """A person: an ID-porten token, no certificate."""
        identity = self.folder.identity
        return Credential(token=lambda aud: identity.subject(identity_number, aud))

    def as_service(self, name: str) -> Credential:
        """One of gjeld's services: its workload certificate, no token."""
        return Credential(self.folder.pki.service(name), workload=True)

    def as_operator(self, name: str = "ops-1") -> Credential:
        """A member of the operator's staff: a token from the operator's identity provider."""
        identity = self.folder.identity
        return Credential(token=lambda aud: identity.operator(name, aud))

    async def serve_bank(self, debts: Sequence[Any]) -> tuple[FakeBank, grpc.aio.Server, str]:
        """A fake bank (gjeld.creditor.v1) over mutual TLS that lets only the registry's certificate in; returns
        the bank, its server and its address."""
        from .dev_pki import REGISTRY_ORGANIZATION
        from .fake_bank import serve

        bank = FakeBank(debts, REGISTRY_ORGANIZATION)
        server, port = await serve(bank, self.folder.pki.bank("fake-bank"), self.folder.pki.enterprise_ca)
        return bank, server, f"127.0.0.1:{port}"

    async def fetch(self, sql: str) -> list[asyncpg.Record]:
        """Read the test's database directly, as the administrator (to check what the services stored)."""
        connection = await asyncpg.connect(host=self.socket, user="postgres", database=self.database)
        try:
            return list(await connection.fetch(sql))
        finally:
            await connection.close()

    async def idle_transactions(self, service: str, longer_than: float = 0.0) -> int:
        """How many transactions of `service` are open and waiting (on a client, on the network, on nothing), for
        longer than `longer_than` seconds (a use case between two of its statements waits a moment too)."""
        [row] = await self.fetch(
            f"SELECT count(*) AS n FROM pg_stat_activity WHERE datname = '{self.database}'"
            f" AND application_name = 'gjeld-{service}' AND state LIKE 'idle in transaction%'"
            f" AND state_change <= now() - interval '{longer_than} seconds'"
        )
        return int(row["n"])

    async def start(self, service: str, **extra: Any) -> None:
        """Start one service in this process (its settings overridden by `extra`); a service started before comes
        back on the same ports, where the others keep calling it."""
        module = __import__(f"gjeld_{service}.bootstrap", fromlist=["build"])
        if service in self.listeners:
            listeners = self.listeners[service]
            extra.setdefault("listen_address", listeners["certificate"])
            extra.setdefault("token_listen_address", listeners["token"])
            extra.setdefault("health_listen_address", listeners["health"])
        if self.institutions_file is not None:
            extra.setdefault("institutions_file", self.institutions_file)
        settings = settings_for(service, self.folder, self.socket, self.database, self.addresses, **extra)
        runtime = module.build(settings, [SimpleSpanProcessor(self.spans)])
        ports = await runtime.start()
        self.listeners[service] = {listener: f"127.0.0.1:{port}" for listener, port in ports.items()}
        self.runtimes[service] = runtime

    async def restart(self, service: str, **extra: Any) -> None:
        await self.stop(service)
        await self.start(service, **extra)

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
            await self.restart(service)

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()
        for service in reversed(list(self.runtimes)):
            await self.stop(service)


@pytest.fixture
async def services(
    postgres: str, database: str, tmp_path: Path, data_folder: devstack.DataFolder
) -> AsyncIterator[Callable[..., Awaitable[Registry]]]:
    """Starts the services a test names (`await services("consent")`): one alone, or several; each a real gRPC
    server over TLS on its own role and schema. Stopped when the test ends."""
    folder = devstack.DataFolder(tmp_path)
    # The session's secrets (made once: certificates and keys take a while), copied so a test may change its own.
    shutil.copytree(data_folder.secrets, folder.secrets)
    # The development directory, without creditor endpoints: a test gives live creditors the ports it started.
    document = json.loads(devstack.INSTITUTIONS_FILE.read_text())
    for entry in document["institutions"]:
        entry.pop("creditor_endpoint", None)
    institutions = tmp_path / "institutions.json"
    institutions.write_text(json.dumps(document))
    suite = Registry(folder, CollectedSpans(), postgres, database, institutions)

    async def start(*names: str) -> Registry:
        for service in names:
            await suite.start(service)
        return suite

    try:
        yield start
    finally:
        await suite.close()


@pytest.fixture
async def registry(services: Callable[..., Awaitable[Registry]]) -> Registry:
    """The four services, in the order they call each other."""
    return await services(*devstack.SERVICES)


@dataclass
class MinGjeld:
    """The person's pages and the development ID-porten, served in the test's process over real HTTP."""

    url: str
    idporten_url: str
    settings: Any
    registry: Registry

    async def log_in(self, client: Any, person: str) -> Any:
        """Log `person` in through the development ID-porten with an httpx client (as a browser would, minus the
        clicking); returns the page the login ends on."""
        from urllib.parse import parse_qs, urlsplit

        to_provider = await client.get(f"{self.url}/logg-inn", follow_redirects=False)
        authorize = to_provider.headers["location"]
        asked = {
            key: values if key == "resource" else values[0]
            for key, values in parse_qs(urlsplit(authorize).query).items()
        }
        page = await client.post(f"{self.idporten_url}/authorize", data={**asked, "pid": person}, follow_redirects=True)
        return page


@pytest.fixture
async def min_gjeld(registry: Registry, request: pytest.FixtureRequest) -> AsyncIterator[MinGjeld]:
    """Min gjeld and the development ID-porten, in front of the four services. A test may change the portal's
    settings with `@pytest.mark.portal_settings(...)`."""
    from gjeld_portal.bootstrap import HttpServer, build
    from gjeld_portal.settings import PortalSettings

    from .dev_idporten import DevelopmentIdPorten

    idporten = HttpServer("127.0.0.1:0")
    idporten_url = f"http://127.0.0.1:{idporten.port}"
    await idporten.start(DevelopmentIdPorten(registry.folder.identity, idporten_url).app())
    portal = HttpServer("127.0.0.1:0")
    env = devstack.portal_env(
        registry.folder,
        registry.addresses,
        f"127.0.0.1:{portal.port}",
        idporten_url,
        registry.socket,
        registry.database,
    )
    values: dict[str, Any] = {key.removeprefix("GJELD_").lower(): value for key, value in env.items()}
    values.update(trace_file=None, port_file=None, institutions_file=registry.institutions_file)
    marker = request.node.get_closest_marker("portal_settings")
    values.update(marker.kwargs if marker else {})
    settings = PortalSettings(**values)
    await portal.start(build(settings))
    try:
        yield MinGjeld(f"http://127.0.0.1:{portal.port}", idporten_url, settings, registry)
    finally:
        await portal.stop()
        await idporten.stop()


async def rolls_back_unless_committed(
    unit_of_work: Callable[[], Any],
    write: Callable[[Any], Awaitable[None]],
    written: Callable[[Any], Awaitable[bool]],
) -> None:
    """A service's unit of work keeps nothing it was not told to commit: not when the use case just returns, not
    when it fails; and keeps what it commits."""
    async with unit_of_work() as uow:
        await write(uow)
    async with unit_of_work() as uow:
        assert not await written(uow), "kept without a commit"
    with pytest.raises(RuntimeError):
        async with unit_of_work() as uow:
            await write(uow)
            raise RuntimeError("the use case fails")
    async with unit_of_work() as uow:
        assert not await written(uow), "kept after a failure"
    async with unit_of_work() as uow:
        await write(uow)
        await uow.commit()
    async with unit_of_work() as uow:
        assert await written(uow), "not kept after a commit"


def service_engine(socket: str, service: str, database: str) -> Any:
    """An engine on the test's database with the service's own role."""
    from gjeld_shared import db

    return db.create_engine(devstack.database_url(socket, service, database))


@asynccontextmanager
async def debt_statistics(registry: Registry, k: int = 10, residences: Any = "sandbox") -> AsyncIterator[Any]:
    """ingest's daily debt statistics as a replica counts them (its own role and keys; where debtors live from
    `residences`: the sandbox population unless given, None for no county table), for a test to count a day when it
    means to (the services' daily round is off in tests)."""
    from gjeld_ingest.adapters import StatisticsStore
    from gjeld_ingest.residences import SandboxResidences
    from gjeld_ingest.service_layer import DebtStatistics
    from gjeld_shared.db import exclusive
    from gjeld_shared.identity_numbers import load_subject_keys

    engine = service_engine(registry.socket, "ingest", registry.database)
    keys = load_subject_keys(registry.folder.subject_keys("ingest"))
    try:
        yield DebtStatistics(
            StatisticsStore(engine),
            keys,
            SandboxResidences() if residences == "sandbox" else residences,
            lambda name: exclusive(engine, name),
            k,
        )
    finally:
        await engine.dispose()


PUBLIC = ("grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection")


@dataclass(frozen=True)
class Method:
    """One RPC a service serves, as its reflection describes it."""

    service: str
    path: str
    client_streaming: bool
    input_type: str  # the request message's full name


async def discover(registry: Registry) -> list[Method]:
    """Every RPC each service serves, as its server reflection lists them."""
    methods: list[Method] = []
    for service, listeners in registry.listeners.items():
        async with secure_channel(listeners["token"], registry.folder.pki.workload_ca) as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)

            async def ask(
                request: reflection_pb2.ServerReflectionRequest, stub: Any = stub
            ) -> reflection_pb2.ServerReflectionResponse:
                async for response in stub.ServerReflectionInfo(iter([request])):
                    return response
                raise AssertionError("no reflection answer")

            listed = await ask(reflection_pb2.ServerReflectionRequest(list_services=""))
            for served in listed.list_services_response.service:
                if served.name in PUBLIC:
                    continue
                files = await ask(reflection_pb2.ServerReflectionRequest(file_containing_symbol=served.name))
                for blob in files.file_descriptor_response.file_descriptor_proto:
                    descriptor = descriptor_pb2.FileDescriptorProto.FromString(blob)
                    for grpc_service in descriptor.service:
                        if f"{descriptor.package}.{grpc_service.name}" == served.name:
                            methods.extend(
                                Method(
                                    service, f"/{served.name}/{m.name}", m.client_streaming, m.input_type.lstrip(".")
                                )
                                for m in grpc_service.method
                            )
    return methods


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
    request_id: str = "",
) -> Any:
    from gjeld.lookup.v1 import lookup_pb2, lookup_service_pb2
    from gjeld.type.v1 import identity_pb2

    request = lookup_service_pb2.LookUpDebtRequest(
        subject=identity_pb2.NationalIdentityNumber(value=subject),
        purpose=lookup_pb2.DisclosurePurpose.ValueType(purpose),
        application_reference=reference,
        request_id=request_id,
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


# A caller without the right credential is refused with one of these (never INTERNAL): UNAUTHENTICATED when it
# presents none of the kind the method needs, PERMISSION_DENIED when it presents the wrong one.
DENIED = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)


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
    from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2

    first = ingest_service_pb2.DeliverSnapshotRequest(
        request_id=request_id, strictness=ingest_pb2.Strictness.ValueType(strictness)
    )
    # Extracted after the demo data (06:00): a snapshot deletes only debts whose data is no newer than it (DOM-7).
    first.extract_time.FromDatetime(extract_time or datetime(2026, 6, 25, 7, 0, tzinfo=UTC))
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


def customer_list(*listed: str, quarter: str = "", request_id: str = "") -> list[Any]:
    """A score-model customer list (DOM-11) of these identity numbers, for this quarter unless another is named."""
    from gjeld.lookup.v1 import lookup_service_pb2 as pb
    from gjeld_lookup.extracts import quarter_of, today

    header = pb.CustomerListHeader(quarter=quarter or quarter_of(today()), request_id=request_id)
    return [
        pb.SubmitCustomerListRequest(header=header),
        pb.SubmitCustomerListRequest(numbers=pb.CustomerNumbers(identity_numbers=list(listed))),
    ]


async def submit_customer_list(registry: Registry, institution: str, requests: list[Any]) -> Any:
    """The extract order an institution's customer list makes (its token with the extract scope)."""
    from gjeld_shared.callers import SCOPE_EXTRACT

    metadata = registry.as_institution(institution, scopes=(SCOPE_EXTRACT,))
    return (await registry.lookup().SubmitCustomerList(iter(requests), metadata=metadata)).order
