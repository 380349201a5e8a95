"""A reference implementation of `gjeld.creditor.v1`: a fake bank, for tests and `make demo`.

It is what an institution builds to answer the registry live (the per-customer
endpoint of the Norwegian format) and to be called for its daily snapshot: it
serves a fixed portfolio, read from a NOGI file. Tests make it slow or failing to
see how the registry copes.

It checks its caller the way a bank would: TLS with its own server certificate, and a
client certificate required, from the enterprise CAs it trusts, whose organizationIdentifier
names the registry operator's organisation. It keeps what each call carried (`received`), so
tests can show that nothing a bank receives opens anything of the registry's.

    python -m gjeld_tools.fake_bank --nogi FILE --listen 127.0.0.1:50061 \
        --certificate bank.pem --key bank.key --client-ca enterprise-ca.pem --registry 919191919
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from gjeld.creditor.v1 import creditor_service_pb2 as pb
from gjeld.creditor.v1 import creditor_service_pb2_grpc
from gjeld.ingest.v1 import ingest_pb2
from gjeld_shared.certificates import TlsIdentity, organization_number_of

from . import nogi

log = logging.getLogger(__name__)
PER_MESSAGE = 10_000


class FakeBank(creditor_service_pb2_grpc.CreditorServiceServicer):
    """A bank's creditor service over a fixed portfolio. While it runs, a test may make it slow (`delay`), failing,
    or careless: answering about a customer with its whole portfolio, other customers' debts included."""

    def __init__(self, debts: Sequence[ingest_pb2.Debt], registry_organization: str) -> None:
        self.debts = list(debts)
        self.delay = 0.0
        self.failing = False
        self.careless = False
        self.calls = 0
        self.extract_time = datetime.now(UTC)
        self._registry = registry_organization
        # Everything each call carried: its metadata, and the client certificate (PEM) it came with.
        self.received: list[tuple[tuple[tuple[str, str | bytes], ...], bytes | None]] = []

    async def _admit(self, context: Any) -> None:
        """Only the registry may ask: its enterprise certificate names the registry operator's organisation."""
        self.calls += 1
        pem = context.auth_context().get("x509_pem_cert")
        certificate = pem[0] if pem else None
        self.received.append((tuple(context.invocation_metadata() or ()), certificate))
        caller = organization_number_of(x509.load_pem_x509_certificate(certificate)) if certificate else None
        if caller != self._registry:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, "only the registry may call this bank")
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failing:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "the bank's systems are down")

    async def GetCustomerDebts(self, request: pb.GetCustomerDebtsRequest, context: Any) -> pb.GetCustomerDebtsResponse:
        await self._admit(context)
        if self.careless:
            return pb.GetCustomerDebtsResponse(debts=self.debts)
        return pb.GetCustomerDebtsResponse(debts=[d for d in self.debts if d.debtor.value == request.customer.value])

    async def ExportDebts(self, request: pb.ExportDebtsRequest, context: Any) -> AsyncIterator[pb.ExportDebtsResponse]:
        await self._admit(context)
        first = pb.ExportDebtsResponse()
        first.extract_time.FromDatetime(self.extract_time)
        first.debts.extend(self.debts[:PER_MESSAGE])
        yield first
        for start in range(PER_MESSAGE, len(self.debts), PER_MESSAGE):
            yield pb.ExportDebtsResponse(debts=self.debts[start : start + PER_MESSAGE])


def portfolio(nogi_file: Path) -> list[ingest_pb2.Debt]:
    """The debts of a NOGI delivery file."""
    return [change.register for change in nogi.changes(json.loads(nogi_file.read_text(encoding="utf-8")))]


async def serve(
    bank: FakeBank, identity: TlsIdentity, client_authorities: Path, address: str = "127.0.0.1:0"
) -> tuple[grpc.aio.Server, int]:
    """Start serving `bank` over mutual TLS (its server certificate, client certificates from
    `client_authorities`); returns the server and the port it listens on."""
    server = grpc.aio.server()
    creditor_service_pb2_grpc.add_CreditorServiceServicer_to_server(bank, server)
    credentials = grpc.ssl_server_credentials(
        [identity.pair()], root_certificates=client_authorities.read_bytes(), require_client_auth=True
    )
    port = server.add_secure_port(address, credentials)
    if port == 0:
        raise OSError(f"the fake bank could not listen on {address}")
    await server.start()
    return server, port


async def _main(args: argparse.Namespace) -> None:
    bank = FakeBank(portfolio(Path(args.nogi)), args.registry)
    identity = TlsIdentity(Path(args.certificate), Path(args.key))
    server, port = await serve(bank, identity, Path(args.client_ca), args.listen)
    if args.port_file:
        Path(args.port_file).write_text(str(port))
    log.info("fake bank serving %d debts on port %d", len(bank.debts), port)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop(1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nogi", required=True, help="the portfolio, as a NOGI delivery file")
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--port-file", help="write the port actually bound here")
    parser.add_argument("--certificate", required=True, help="the bank's server certificate (PEM)")
    parser.add_argument("--key", required=True, help="its private key (PEM)")
    parser.add_argument("--client-ca", required=True, help="the enterprise CAs whose client certificates it accepts")
    parser.add_argument("--registry", required=True, help="the registry operator's organisation number")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s fake-bank %(levelname)s %(message)s")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
