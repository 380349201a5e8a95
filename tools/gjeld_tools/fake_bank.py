"""A reference implementation of `gjeld.creditor.v1`: a fake bank, for tests and `make demo`.

It is what an institution builds to answer the registry live (the per-customer
endpoint of the Norwegian format) and to be called for its daily snapshot: it
serves a fixed portfolio, read from a NOGI file. Tests make it slow or failing to
see how the registry copes; it checks that its caller is one of gjeld's services.

    python -m gjeld_tools.fake_bank --nogi FILE --listen 127.0.0.1:50061 --public-key issuer.pub.pem
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
from gjeld.creditor.v1 import creditor_service_pb2 as pb
from gjeld.creditor.v1 import creditor_service_pb2_grpc
from gjeld.ingest.v1 import ingest_pb2
from gjeld_shared.callers import ServiceCaller, TokenVerifier, bearer
from gjeld_shared.errors import GjeldError

from . import nogi

log = logging.getLogger(__name__)
PER_MESSAGE = 10_000


class FakeBank(creditor_service_pb2_grpc.CreditorServiceServicer):
    """A bank's creditor service over a fixed portfolio. While it runs, a test may make it slow (`delay`), failing,
    or careless: answering about a customer with its whole portfolio, other customers' debts included."""

    def __init__(self, debts: Sequence[ingest_pb2.Debt], verifier: TokenVerifier | None = None) -> None:
        self.debts = list(debts)
        self.delay = 0.0
        self.failing = False
        self.careless = False
        self.calls = 0
        self.extract_time = datetime.now(UTC)
        self._verifier = verifier

    async def _admit(self, context: Any) -> None:
        """Only gjeld's own services may ask (a real bank would check Maskinporten or a client certificate)."""
        self.calls += 1
        if self._verifier is not None:
            token = bearer(context.invocation_metadata())
            try:
                caller = self._verifier.verify(token) if token else None
            except GjeldError:
                caller = None
            if not isinstance(caller, ServiceCaller):
                await context.abort(grpc.StatusCode.UNAUTHENTICATED, "only the registry may call this bank")
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


async def serve(bank: FakeBank, address: str = "127.0.0.1:0") -> tuple[grpc.aio.Server, int]:
    """Start serving `bank`; returns the server and the port it listens on."""
    server = grpc.aio.server()
    creditor_service_pb2_grpc.add_CreditorServiceServicer_to_server(bank, server)
    port = server.add_insecure_port(address)
    if port == 0:
        raise OSError(f"the fake bank could not listen on {address}")
    await server.start()
    return server, port


async def _main(args: argparse.Namespace) -> None:
    verifier = None
    if args.public_key:
        verifier = TokenVerifier(Path(args.public_key).read_bytes(), args.issuer, args.audience)
    bank = FakeBank(portfolio(Path(args.nogi)), verifier)
    server, port = await serve(bank, args.listen)
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
    parser.add_argument("--public-key", help="the token issuer's public key: only gjeld's services may call")
    parser.add_argument("--issuer", default="gjeld-dev-issuer")
    parser.add_argument("--audience", default="gjeld")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s fake-bank %(levelname)s %(message)s")
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
