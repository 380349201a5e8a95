"""`make bench-tls`: what TLS and the certificate checks cost on the lookup path, in one run on one machine.

The four services run as separate processes against the embedded PostgreSQL, and concurrent lenders call
`LookUpDebt` (consent → ingest → disclosure log → the copy letter through notify) for as long as each round lasts:

- **with TLS**: as the registry always runs: the lender over mutual TLS with its enterprise certificate and a
  Maskinporten token, the services calling each other over mutual TLS, every call's peer certificate read and
  checked by its access rule;
- **without**: the same processes and code with TLS taken out by this program alone (it starts the services
  through a launcher that swaps every TLS port and channel for a plaintext one and tells the access rules who the
  peer is by a header instead of a certificate). Tokens are verified in both. No part of gjeld can run like this.

Rounds alternate (without, with, without, with …) and each mode's median is reported, beside the CPU the four
services spent per lookup. The last line is `ratio=<lookups/s with TLS / lookups/s without>`.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

from . import devstack
from .connect import secure_channel
from .dev_identity import audience
from .readings import cpu_seconds

PEER_HEADER = "x-bench-peer"  # only ever read by this program's plaintext launcher
DATABASE = "bench"
LENDER = "911222333"
BANK = "999888777"
PERSON = "14842249091"


# --- the plaintext launcher (child processes only) -------------------------------------------------------------


def _serve_without_tls(service: str) -> None:
    """Run `service` with every TLS port and channel made plaintext, for the 'without' rounds only."""
    import grpc.aio
    from gjeld_shared import bootstrap, certificates, interceptors
    from gjeld_shared.access import Presented
    from gjeld_shared.callers import bearer

    def plaintext_port(self: Any, address: str, credentials: Any) -> int:
        return int(self.add_insecure_port(address))

    importlib.import_module("grpc.aio._server").Server.add_secure_port = plaintext_port

    class Says(grpc.aio.UnaryUnaryClientInterceptor):
        async def intercept_unary_unary(self, continuation: Any, details: Any, request: Any) -> Any:
            metadata = grpc.aio.Metadata(*(details.metadata or ()), (PEER_HEADER, f"service:{service}"))
            details = grpc.aio.ClientCallDetails(
                details.method, details.timeout, metadata, details.credentials, details.wait_for_ready
            )
            return await continuation(details, request)

    def plaintext_channel(self: Any, target: str) -> Any:
        from opentelemetry.instrumentation.grpc import aio_client_interceptors

        interceptors = [*aio_client_interceptors(tracer_provider=self.tracer_provider), Says()]
        return grpc.aio.insecure_channel(target, interceptors=interceptors)

    bootstrap.Parts.channel = plaintext_channel  # type: ignore[method-assign]

    def presented(self: Any, context: Any) -> Presented:
        metadata = tuple(context.invocation_metadata() or ())
        said = next((str(v) for k, v in metadata if k == PEER_HEADER), "")
        kind, _, name = said.partition(":")
        peer: Any = None
        if kind == "service":
            peer = certificates.ServicePeer(name)
        elif kind == "institution":
            peer = certificates.InstitutionPeer(name, "")
        return Presented(peer, bool(peer), bearer(metadata), self._verifier, self._admitted)

    interceptors.RequestBoundary._presented = presented  # type: ignore[method-assign]
    sys.argv = [f"gjeld-{service}", "serve"]
    __import__(f"gjeld_{service}.__main__", fromlist=["main"]).main()


# --- the load -------------------------------------------------------------------------------------------------


async def _load(
    channel: grpc.aio.Channel, metadata: list[tuple[str, str]], seconds: float, workers: int
) -> tuple[int, float]:
    from gjeld.lookup.v1 import lookup_pb2, lookup_service_pb2, lookup_service_pb2_grpc
    from gjeld.type.v1 import identity_pb2

    stub = lookup_service_pb2_grpc.LookupServiceStub(channel)
    request = lookup_service_pb2.LookUpDebtRequest(
        subject=identity_pb2.NationalIdentityNumber(value=PERSON),
        purpose=lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT,
        application_reference="BENCH-1",
    )
    done = 0
    end = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal done
        while time.monotonic() < end:
            reply = await stub.LookUpDebt(request, metadata=metadata, timeout=10)
            assert len(reply.debts) == 3
            done += 1

    started = time.monotonic()
    await asyncio.gather(*(worker() for _ in range(workers)))
    return done, time.monotonic() - started


async def prepare_person(folder: devstack.DataFolder, addresses: dict[str, dict[str, str]], tls: bool) -> None:
    """The person's debts (the demo delivery) and their consent to the lender, once, through the running services
    (the fault program's start too)."""
    from gjeld.consent.v1 import consent_pb2, consent_service_pb2, consent_service_pb2_grpc
    from gjeld.ingest.v1 import ingest_service_pb2, ingest_service_pb2_grpc
    from gjeld.type.v1 import identity_pb2
    from google.protobuf import duration_pb2

    from .testing import demo_changes

    ingest, consent = addresses["ingest"], addresses["consent"]
    async with _channel(folder, ingest, BANK, tls) as channel:
        await ingest_service_pb2_grpc.IngestServiceStub(channel).ReportDebtChanges(
            ingest_service_pb2.ReportDebtChangesRequest(request_id="bench", changes=demo_changes()),
            metadata=_institution_metadata(BANK, tls),
        )
    token = folder.identity.subject(PERSON, audience("consent"))
    person = (
        secure_channel(consent["token"], folder.pki.workload_ca) if tls else grpc.aio.insecure_channel(consent["token"])
    )
    async with person as channel:
        await consent_service_pb2_grpc.ConsentServiceStub(channel).GrantConsent(
            consent_service_pb2.GrantConsentRequest(
                institution=identity_pb2.OrganizationNumber(value=LENDER),
                scope=consent_pb2.CONSENT_SCOPE_PROCESSING,
                request_id="bench",
                validity=duration_pb2.Duration(seconds=28 * 86400),
            ),
            metadata=[("authorization", f"Bearer {token}")],
        )


def _channel(folder: devstack.DataFolder, listeners: dict[str, str], organization: str, tls: bool) -> Any:
    if tls:
        return secure_channel(listeners["certificate"], folder.pki.workload_ca, folder.pki.institution(organization))
    return grpc.aio.insecure_channel(listeners["certificate"])


def _institution_metadata(organization: str, tls: bool) -> list[tuple[str, str]]:
    return [] if tls else [(PEER_HEADER, f"institution:{organization}")]


def _round(
    folder: devstack.DataFolder, socket: str, directory: Path, tls: bool, seconds: float, workers: int
) -> tuple[float, float]:
    """One round in one mode on a fresh database: (lookups/s, services' CPU ms per lookup)."""
    database = f"{DATABASE}_{'tls' if tls else 'plain'}_{time.monotonic_ns()}"
    asyncio.run(devstack.provision(socket, database))
    devstack.migrate(socket, database)
    command: Callable[[str], list[str]] = (
        (lambda s: [sys.executable, "-m", "gjeld_tools.bench_tls", "--serve-without-tls", s])
        if not tls
        else (lambda s: [sys.executable, "-m", f"gjeld_{s}", "serve"])
    )
    listen = {s: dict.fromkeys(devstack.LISTENERS, "127.0.0.1:0") for s in devstack.SERVICES}
    suite = devstack.Suite(
        folder,
        socket,
        database,
        listen=listen,
        institutions_file=directory,
        command=command,
        log_dir=folder.root,
    )
    try:
        addresses = suite.start()
        asyncio.run(prepare_person(folder, addresses, tls))
        token = folder.identity.institution(LENDER, ["gjeld:lookup"], audience("lookup"), ttl_seconds=3600)
        metadata = [("authorization", f"Bearer {token}"), *_institution_metadata(LENDER, tls)]

        async def run() -> tuple[int, float, float]:
            async with _channel(folder, addresses["lookup"], LENDER, tls) as channel:
                await _load(channel, metadata, 2.0, workers)  # warm up
                pids = [p.pid for p in suite.processes.values()]
                cpu = sum(cpu_seconds(pid) for pid in pids)
                done, elapsed = await _load(channel, metadata, seconds, workers)
                return done, elapsed, sum(cpu_seconds(pid) for pid in pids) - cpu

        done, elapsed, cpu = asyncio.run(run())
    finally:
        suite.stop()
    return done / elapsed, 1000 * cpu / done


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=8.0, help="the measured part of each round")
    parser.add_argument("--rounds", type=int, default=2, help="rounds per mode, alternating")
    parser.add_argument("--workers", type=int, default=16, help="concurrent lookups")
    parser.add_argument("--serve-without-tls", metavar="SERVICE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_without_tls:
        _serve_without_tls(args.serve_without_tls)
        return 0
    root = Path(tempfile.mkdtemp(prefix="gjeld-bench-lookup-"))
    try:
        folder = devstack.DataFolder(root / "data")
        folder.ensure_secrets()
        document = json.loads(devstack.INSTITUTIONS_FILE.read_text())
        for entry in document["institutions"]:
            entry.pop("creditor_endpoint", None)  # the registry's own path only: no bank answers live here
        directory = root / "institutions.json"
        directory.write_text(json.dumps(document))
        server = devstack.start_postgres(root / "pg")
        socket = devstack.socket_dir(server)
        results: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
        try:
            for number in range(args.rounds):
                for tls in (False, True):
                    rate, cpu = _round(folder, socket, directory, tls, args.seconds, args.workers)
                    results[tls].append((rate, cpu))
                    mode = "with TLS" if tls else "without"
                    print(
                        f"  round {number + 1} {mode:<9} {rate:8.0f} lookups/s  {cpu:6.2f} ms CPU a lookup", flush=True
                    )
        finally:
            server.cleanup()
        with_tls = statistics.median(r for r, _ in results[True])
        without = statistics.median(r for r, _ in results[False])
        cpu_tls = statistics.median(c for _, c in results[True])
        cpu_plain = statistics.median(c for _, c in results[False])
        print("\nLookUpDebt end to end (lookup → consent → ingest → disclosure → letter), medians of the rounds:")
        print(f"  with TLS and certificate checks  {with_tls:8.0f} lookups/s  {cpu_tls:6.2f} ms CPU a lookup")
        print(f"  without                          {without:8.0f} lookups/s  {cpu_plain:6.2f} ms CPU a lookup")
        print(f"  TLS and the certificate checks cost {cpu_tls - cpu_plain:.2f} ms CPU a lookup across the services")
        print(f"ratio={with_tls / without:.2f}")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
