"""`make bench-lookup`: lookups at the live registry's traffic shape, through the real services as `make up` starts
them, beside a bare grpc.aio echo server measured the same way in the same run.

The four services run as processes (TLS between them and to the lender, tracing on, letters relayed and delivered)
against the embedded PostgreSQL. N synthetic persons get debts (a bank's snapshot) and each a single-use consent to
the lender, so every lookup is for a different person with their own consent. Their bank does not answer live.
Then:

- **unloaded**: one lookup at a time: p50 and p99;
- **peak**: 16 in flight for a while: lookups/s, and the CPU each service spent per lookup;
- **70 % of peak**: lookups started at a fixed rate (open loop): p50 and p99;
- **3× peak**: the same, above capacity: how many were refused RESOURCE_EXHAUSTED and how fast, the p99 of those
  accepted; then 70 % again, to show the service is itself once the load drops;
- **echo**: a bare grpc.aio echo server over the same mutual TLS, 16 in flight: calls/s;
- **the design's bare chain**: bare grpc.aio processes in the places of lookup, consent and ingest, lookup asking the
  other two in turn and doing nothing else: lookups/s, the ceiling the three hops of DESIGN's lookup set;
- **three live creditors**: other persons, whose debts three banks hold and answer for live in 20 ms (fake banks
  in the load client's process, over mutual TLS as a bank would): one at a time, then 16 callers, then 70 % of
  that peak: p50 and p99.

The last line is `ratio=<lookups/s at peak / echo calls/s>`. Times are this machine's; compare the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc

from . import devstack, synthetic
from .connect import secure_channel
from .dev_identity import audience
from .readings import cpu_seconds, postgres_cpu_seconds

LENDER = "911222333"
BANK = "999888777"
DATABASE = "bench"
WORKERS = 16
# Three banks that answer live, each in 20 ms, about the persons of the live phase.
LIVE_BANKS = ("955555551", "955555552", "955555553")
LIVE_DELAY = 0.02


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


async def _load_register(
    folder: devstack.DataFolder, ingest: dict[str, str], debts: list[Any], bank: str = BANK
) -> None:
    from gjeld.ingest.v1 import ingest_service_pb2, ingest_service_pb2_grpc

    async def messages() -> Any:
        first = ingest_service_pb2.DeliverSnapshotRequest(request_id="bench-snapshot")
        first.extract_time.GetCurrentTime()
        for start in range(0, len(debts), 1000):
            message = first if start == 0 else ingest_service_pb2.DeliverSnapshotRequest()
            message.debts.extend(debts[start : start + 1000])
            yield message

    async with secure_channel(ingest["certificate"], folder.pki.workload_ca, folder.pki.institution(bank)) as channel:
        await ingest_service_pb2_grpc.IngestServiceStub(channel).DeliverSnapshot(messages(), timeout=600)


async def _consents(folder: devstack.DataFolder, consent: dict[str, str], persons: list[str]) -> None:
    """Each person's single-use consent to the lender, given as the person."""
    from gjeld.consent.v1 import consent_pb2, consent_service_pb2, consent_service_pb2_grpc
    from gjeld.type.v1 import identity_pb2
    from google.protobuf import duration_pb2

    queue = iter(persons)
    async with secure_channel(consent["token"], folder.pki.workload_ca) as channel:
        stub = consent_service_pb2_grpc.ConsentServiceStub(channel)

        async def worker() -> None:
            for person in queue:
                token = folder.identity.subject(person, audience("consent"))
                await stub.GrantConsent(
                    consent_service_pb2.GrantConsentRequest(
                        institution=identity_pb2.OrganizationNumber(value=LENDER),
                        scope=consent_pb2.CONSENT_SCOPE_PROCESSING,
                        request_id=f"bench-{person}",
                        validity=duration_pb2.Duration(seconds=86400),
                        max_uses=1,
                    ),
                    metadata=[("authorization", f"Bearer {token}")],
                    timeout=30,
                )

        await asyncio.gather(*(worker() for _ in range(WORKERS)))


class Lender:
    """The lender's side: one lookup at a time per call, each for the next person with an unused consent."""

    def __init__(self, channel: grpc.aio.Channel, token: str, persons: Iterator[str]) -> None:
        from gjeld.lookup.v1 import lookup_service_pb2_grpc

        self._stub = lookup_service_pb2_grpc.LookupServiceStub(channel)
        self._metadata = [("authorization", f"Bearer {token}")]
        self._persons = persons
        self.answered_live = 0  # creditors that answered live, over all lookups

    async def look_up(self) -> tuple[str, float]:
        """One lookup: its outcome (ok, or the status code's name) and its latency in seconds."""
        from gjeld.lookup.v1 import lookup_pb2, lookup_service_pb2
        from gjeld.type.v1 import identity_pb2

        person = next(self._persons, None)
        if person is None:
            return "no persons left (give more)", 0.0
        request = lookup_service_pb2.LookUpDebtRequest(
            subject=identity_pb2.NationalIdentityNumber(value=person),
            purpose=lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT,
            application_reference=f"APP-{person}",
        )
        started = time.perf_counter()
        try:
            reply = await self._stub.LookUpDebt(request, metadata=self._metadata, timeout=10)
            self.answered_live += reply.creditors_answered
            outcome = "ok"
        except grpc.aio.AioRpcError as error:
            outcome = error.code().name
        return outcome, time.perf_counter() - started


async def _closed(call: Callable[[], Awaitable[tuple[str, float]]], seconds: float, workers: int) -> list[Any]:
    """`workers` callers, each calling again as soon as answered; told the registry is overloaded, a caller pauses
    a moment first, as a lender's client would."""
    results: list[tuple[str, float]] = []
    end = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < end:
            results.append(await call())
            if results[-1][0].startswith("no persons left"):
                return
            if results[-1][0] == "RESOURCE_EXHAUSTED":
                await asyncio.sleep(0.02)

    await asyncio.gather(*(worker() for _ in range(workers)))
    return results


async def _open(call: Callable[[], Awaitable[tuple[str, float]]], rate: float, seconds: float) -> list[Any]:
    """Calls started at a fixed rate, whatever the answers' pace (the load a country's lenders put on it)."""
    started = time.monotonic()
    tasks = []
    for n in range(int(rate * seconds)):
        delay = started + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(call()))
    return list(await asyncio.gather(*tasks))


def _latencies(results: list[Any], outcome: str = "ok") -> list[float]:
    return [seconds for got, seconds in results if got == outcome]


async def _live(
    folder: devstack.DataFolder,
    channel: grpc.aio.Channel,
    token: str,
    live: tuple[list[Any], list[str], dict[str, int]],
    seconds: float,
) -> tuple[list[Any], float, list[Any]]:
    """Lookups of persons whose three banks answer live: one at a time, the peak, and 70 % of it."""
    from .dev_pki import REGISTRY_ORGANIZATION
    from .fake_bank import FakeBank, serve

    debts, persons, ports = live
    servers = []
    for number, port in ports.items():
        bank = FakeBank(debts, REGISTRY_ORGANIZATION)
        bank.delay = LIVE_DELAY
        server, _ = await serve(bank, folder.pki.bank(f"live-{number}"), folder.pki.enterprise_ca, f"127.0.0.1:{port}")
        servers.append(server)
    try:
        lender = Lender(channel, token, iter(persons))
        await _closed(lender.look_up, 0.5, 4)  # warm up: the registry's channels to the banks
        lender.answered_live = 0
        unloaded = [await lender.look_up() for _ in range(100)]
        if lender.answered_live < 3 * len(_latencies(unloaded)):
            print(f"(only {lender.answered_live} live answers in {len(unloaded)} lookups)")
        at_peak = await _closed(lender.look_up, seconds / 2, WORKERS)
        peak = len(_latencies(at_peak)) / (seconds / 2)
        loaded = await _open(lender.look_up, 0.7 * peak, seconds / 2)
        return unloaded, peak, loaded
    finally:
        for server in servers:
            await server.stop(None)


# On one machine the services, PostgreSQL and the load client share two cores; deployed, lookup runs in its own pods
# with CPU nothing else takes (Kubernetes' CPU requests), and the lenders on their own machines. Without that, the
# lookups lookup refuses wait in line for the CPU that the lookups it accepted keep the others busy with, and shedding
# is measured as slow as queueing. So lookup, the door, and the load client, the lenders, run at a higher priority
# here (nice -10; as root, else they run as they are).
def _command(service: str) -> list[str]:
    raised = ["nice", "-n", "-10"] if service == "lookup" else []
    return [*raised, sys.executable, "-m", f"gjeld_{service}", "serve"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _listener(folder: devstack.DataFolder, service: str, handle: Callable[..., Awaitable[bytes]]) -> tuple[Any, int]:
    """A bare grpc.aio server answering `/bench.Echo/Echo` with `handle`, over `service`'s mutual TLS."""
    identity = folder.pki.service(service)
    server = grpc.aio.server()
    method: Any = grpc.unary_unary_rpc_method_handler(handle)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("bench.Echo", {"Echo": method}),))
    credentials = grpc.ssl_server_credentials(
        [(identity.key_file.read_bytes(), identity.certificate_file.read_bytes())],
        root_certificates=folder.pki.workload_ca.read_bytes() + folder.pki.enterprise_ca.read_bytes(),
        require_client_auth=True,
    )
    return server, server.add_secure_port("127.0.0.1:0", credentials)


async def _calls_per_second(folder: devstack.DataFolder, port: int, seconds: float) -> float:
    """The lender's side of a bare call: calls/s at 16 in flight, as the lookups are driven."""
    async with secure_channel(f"127.0.0.1:{port}", folder.pki.workload_ca, folder.pki.institution(LENDER)) as ch:
        echo: Any = ch.unary_unary("/bench.Echo/Echo")

        async def call() -> tuple[str, float]:
            started = time.perf_counter()
            await echo(b"x" * 64, timeout=10)
            return "ok", time.perf_counter() - started

        await _closed(call, 1.0, WORKERS)  # warm up
        results = await _closed(call, seconds, WORKERS)
        return len(results) / seconds


async def _echo(folder: devstack.DataFolder, seconds: float) -> float:
    """A bare grpc.aio echo over the same mutual TLS: calls/s at 16 in flight."""
    server, port = _listener(folder, "lookup", _echoed)
    await server.start()
    try:
        return await _calls_per_second(folder, port, seconds)
    finally:
        await server.stop(None)


async def _echoed(request: bytes, context: Any) -> bytes:
    return request


def _bare_service(root: Path, service: str, behind: dict[str, int], niceness: int, ready: Any) -> None:
    """One process of the bare chain: `service`'s listener, which (if anything is `behind` it) asks each of those in
    turn over mutual TLS before it answers, as lookup asks consent and then ingest; nothing else."""
    with contextlib.suppress(PermissionError):
        os.nice(niceness - os.nice(0))

    async def serve() -> None:
        folder = devstack.DataFolder(root)
        channels = [
            secure_channel(f"127.0.0.1:{port}", folder.pki.workload_ca, folder.pki.service(service))
            for port in behind.values()
        ]
        asks: list[Any] = [channel.unary_unary("/bench.Echo/Echo") for channel in channels]

        async def answer(request: bytes, context: Any) -> bytes:
            for ask in asks:
                await ask(request, timeout=10)
            return request

        server, port = _listener(folder, service, answer)
        await server.start()
        ready.send(port)
        await server.wait_for_termination()

    asyncio.run(serve())


async def _bare_chain(folder: devstack.DataFolder, seconds: float, shared_cpu: bool) -> float:
    """The design's chain with no work in it: a lender calls a bare lookup process, which asks a bare consent process
    and then a bare ingest process (each its own process, mutual TLS, at the priorities the services ran with):
    lookups/s at 16 in flight. What three gRPC hops cost before any of the registry's work."""
    import multiprocessing

    spawn = multiprocessing.get_context("spawn")
    processes: list[Any] = []
    ports: dict[str, int] = {}
    try:
        for service, behind in (("consent", {}), ("ingest", {}), ("lookup", {"consent": 0, "ingest": 0})):
            behind = {name: ports[name] for name in behind}
            receive, send = spawn.Pipe(duplex=False)
            niceness = 0 if shared_cpu or service != "lookup" else os.nice(0)
            process = spawn.Process(target=_bare_service, args=(folder.root, service, behind, niceness, send))
            process.start()
            processes.append(process)
            ports[service] = receive.recv()
        return await _calls_per_second(folder, ports["lookup"], seconds)
    finally:
        for process in processes:
            process.terminate()
            process.join()


def _bounds() -> str:
    """The bounds the services ran with (their defaults, as `make up` starts them): what one slow bank or stalled
    stream may hold."""
    from gjeld_ingest.settings import IngestSettings
    from gjeld_lookup.settings import LookupSettings
    from gjeld_shared.settings import ServiceSettings

    every, lookup = ServiceSettings.model_fields, LookupSettings.model_fields
    ingest = IngestSettings.model_fields
    return (
        f"bounds: {lookup['max_concurrent_lookups'].default} lookups at once (refused after"
        f" {lookup['admission_wait_seconds'].default * 1000:.0f} ms without room), a pool of"
        f" {every['database_pool_size'].default} connections a service (and"
        f" {every['database_max_overflow'].default} more at a peak; none free within"
        f" {every['database_pool_timeout_seconds'].default:.0f} s: refused),"
        f" {ingest['max_concurrent_deliveries'].default} deliveries at once an ingest replica, statements at most"
        f" {every['database_statement_timeout_seconds'].default:.0f} s, idle transactions at most"
        f" {every['database_idle_in_transaction_timeout_seconds'].default:.0f} s; no transaction open while a bank"
        " or another service is asked"
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


async def _measure(
    folder: devstack.DataFolder,
    suite: devstack.Suite,
    pgdata: Path,
    persons: list[str],
    seconds: float,
    live: tuple[list[Any], list[str], dict[str, int]],
    shared_cpu: bool,
) -> None:
    addresses = suite.addresses
    token = folder.identity.institution(LENDER, ["gjeld:lookup"], audience("lookup"), ttl_seconds=3600)
    queue = iter(persons)
    lookup = addresses["lookup"]["certificate"]
    async with secure_channel(lookup, folder.pki.workload_ca, folder.pki.institution(LENDER)) as channel:
        lender = Lender(channel, token, queue)
        await _closed(lender.look_up, 1.0, 4)  # warm up
        unloaded = [await lender.look_up() for _ in range(200)]
        pids = {name: process.pid for name, process in suite.processes.items()}
        before = {name: cpu_seconds(pid) for name, pid in pids.items()}
        before["postgres"], before["load client"] = postgres_cpu_seconds(pgdata), time.process_time()
        peak_results = await _closed(lender.look_up, seconds, WORKERS)
        cpu = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
        cpu["postgres"] = postgres_cpu_seconds(pgdata) - before["postgres"]
        cpu["load client"] = time.process_time() - before["load client"]
        done = len(_latencies(peak_results))
        peak = done / seconds
        loaded = await _open(lender.look_up, 0.7 * peak, seconds)
        over = await _open(lender.look_up, 3 * peak, seconds / 2)
        after = await _open(lender.look_up, 0.7 * peak, seconds / 2)
        live_unloaded, live_peak, live_loaded = await _live(folder, channel, token, live, seconds)
    echo = await _echo(folder, seconds / 2)
    chain = await _bare_chain(folder, seconds / 2, shared_cpu)

    print(
        f"\nlookups: one at a time            p50 {_ms(statistics.median(_latencies(unloaded)))}"
        f"  p99 {_ms(_percentile(_latencies(unloaded), 0.99))}"
    )
    refused = len(_latencies(peak_results, "RESOURCE_EXHAUSTED"))
    print(f"lookups: {WORKERS} callers (peak)         {peak:7.0f} lookups/s  ({refused} refused as overload)")
    print(
        "CPU per lookup, by service:       "
        + ", ".join(f"{name} {1000 * spent / max(done, 1):.1f} ms" for name, spent in cpu.items())
        + f"  (services {1000 * sum(cpu[name] for name in pids) / max(done, 1):.1f} ms)"
    )
    print(
        f"lookups at 70 % of peak ({0.7 * peak:.0f}/s)  p50 {_ms(statistics.median(_latencies(loaded) or [0]))}"
        f"  p99 {_ms(_percentile(_latencies(loaded), 0.99))}  ({len(_latencies(loaded))} of {len(loaded)} ok)"
    )
    shed = _latencies(over, "RESOURCE_EXHAUSTED")
    others = [got for got, _ in over if got not in ("ok", "RESOURCE_EXHAUSTED")]
    print(
        f"lookups at 3× peak ({3 * peak:.0f}/s)        accepted {len(_latencies(over))}, p99"
        f" {_ms(_percentile(_latencies(over), 0.99))}; refused RESOURCE_EXHAUSTED {len(shed)}, p99"
        f" {_ms(_percentile(shed, 0.99))}; other failures {len(others)} {sorted(set(others))}"
    )
    print(
        f"back at 70 % after the overload   p99 {_ms(_percentile(_latencies(after), 0.99))}"
        f"  ({len(_latencies(after))} of {len(after)} ok)"
    )
    print(f"echo (bare grpc.aio, same TLS)    {echo:7.0f} calls/s")
    print(
        f"the design's bare chain           {chain:7.0f} lookups/s (lender → lookup → consent, ingest: bare grpc.aio"
        f" processes, same TLS, no work): ratio {chain / echo:.3f}, the ceiling of three hops"
    )
    print(
        f"three live creditors ({LIVE_DELAY * 1000:.0f} ms each): one at a time p50"
        f" {_ms(statistics.median(_latencies(live_unloaded) or [0]))}"
        f"  p99 {_ms(_percentile(_latencies(live_unloaded), 0.99))}; peak {live_peak:.0f} lookups/s; at 70 % of it"
        f" p50 {_ms(statistics.median(_latencies(live_loaded) or [0]))}"
        f"  p99 {_ms(_percentile(_latencies(live_loaded), 0.99))}"
        f"  ({len(_latencies(live_loaded))} of {len(live_loaded)} ok)"
    )
    print(_bounds())
    print(f"CPU: {'one priority for every process' if shared_cpu else 'lookup and the load client at nice -10'}")
    print(f"ratio={peak / echo:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--persons", type=int, default=6000, help="persons, each with a single-use consent")
    parser.add_argument("--seconds", type=float, default=8.0, help="the length of the peak and 70 %% phases")
    parser.add_argument(
        "--shared-cpu",
        action="store_true",
        help="run every service at the same CPU priority (by default lookup runs at nice -10, as its own pods would"
        " have CPU that PostgreSQL, the load client and the services behind it cannot take)",
    )
    parser.add_argument("--live-persons", type=int, default=1500, help="persons of the live phase, each with a consent")
    args = parser.parse_args()
    if not args.shared_cpu:
        with contextlib.suppress(PermissionError):
            os.nice(-10)
    root = Path(tempfile.mkdtemp(prefix="gjeld-bench-lookup-"))
    try:
        folder = devstack.DataFolder(root / "data")
        folder.ensure_secrets()
        document = json.loads(devstack.INSTITUTIONS_FILE.read_text())
        for entry in document["institutions"]:
            entry.pop("creditor_endpoint", None)  # their banks do not answer live: the registry's own path
        ports = {number: free_port() for number in LIVE_BANKS}
        document["institutions"] += [
            {"organization_number": number, "name": f"Live Bank {n} ASA", "creditor_endpoint": f"127.0.0.1:{port}"}
            for n, (number, port) in enumerate(ports.items(), 1)
        ]
        directory = root / "institutions.json"
        directory.write_text(json.dumps(document))
        server = devstack.start_postgres(root / "pg")
        sockets = devstack.socket_dir(server)
        asyncio.run(devstack.provision(sockets, DATABASE))
        devstack.migrate(sockets, DATABASE)
        listen = {s: dict.fromkeys(devstack.LISTENERS, "127.0.0.1:0") for s in devstack.SERVICES}
        suite = devstack.Suite(
            folder,
            sockets,
            DATABASE,
            listen=listen,
            institutions_file=directory,
            log_dir=root,
        )
        if not args.shared_cpu:
            suite.command = _command
        try:
            addresses = suite.start()
            moment = datetime.now(UTC)
            debts = synthetic.portfolio(int(args.persons * 2.2), extract_time=moment)
            persons = list(dict.fromkeys(d.debtor.value for d in debts))[: args.persons]
            live_debts = synthetic.portfolio(int(args.live_persons * 2.2), seed=2, extract_time=moment)
            live_persons = list(dict.fromkeys(d.debtor.value for d in live_debts))[: args.live_persons]
            started = time.monotonic()
            asyncio.run(_load_register(folder, addresses["ingest"], debts))
            for number in LIVE_BANKS:  # each live bank holds the same portfolio: three creditors a person
                asyncio.run(_load_register(folder, addresses["ingest"], live_debts, number))
            asyncio.run(_consents(folder, addresses["consent"], persons + live_persons))
            print(
                f"{len(persons):,} persons with {len(debts):,} debts and a consent each, in "
                f"{time.monotonic() - started:.0f} s",
                flush=True,
            )
            live = (live_debts, live_persons, ports)
            asyncio.run(_measure(folder, suite, root / "pg", persons, args.seconds, live, args.shared_cpu))
        finally:
            suite.stop()
            server.cleanup()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
