"""Internal channels authenticate every kind of call, streaming ones included."""

from __future__ import annotations

from gjeld.creditor.v1 import creditor_service_pb2, creditor_service_pb2_grpc
from gjeld_shared.callers import TokenIssuer, TokenVerifier, generate_signing_key
from gjeld_shared.clients import internal_channel
from gjeld_tools.fake_bank import FakeBank, serve


async def test_a_streamed_answer_is_asked_for_with_the_services_token() -> None:
    # Breaking it (one interceptor object for every call kind: grpc.aio files it under unary-unary only) fails here.
    private, public = generate_signing_key()
    bank = FakeBank([], TokenVerifier(public, "issuer", "gjeld"))
    server, port = await serve(bank)
    token = TokenIssuer(private, "issuer", "gjeld").service("ingest")
    channel = internal_channel(f"127.0.0.1:{port}", lambda: token, None)
    try:
        stub = creditor_service_pb2_grpc.CreditorServiceStub(channel)
        answer = await stub.GetCustomerDebts(creditor_service_pb2.GetCustomerDebtsRequest())
        streamed = [m async for m in stub.ExportDebts(creditor_service_pb2.ExportDebtsRequest())]
        assert list(answer.debts) == [] and len(streamed) == 1 and streamed[0].HasField("extract_time")
    finally:
        await channel.close()
        await server.stop(None)
