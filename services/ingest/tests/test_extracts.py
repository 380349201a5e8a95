"""A score-model extract round read from one snapshot of the register (DOM-11), through real gRPC on a real
database, as lookup reads it."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import pytest
from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_tools.testing import BANK, CO_BORROWER, DENIED, LENDER, PERSON, Registry, demo_changes, report_demo


@pytest.fixture
async def registry(services: Callable[..., Awaitable[Registry]]) -> Registry:
    """ingest alone: the test is lookup."""
    return await services("ingest")


NOT_A_CUSTOMER = "01838501393"  # synthetic, with no debt anywhere
pb = ingest_service_pb2


def order(order_id: uuid.UUID, creditor: str, *subjects: str) -> list[pb.ReadExtractRequest]:
    start = pb.ExtractOrderStart(order_id=str(order_id), creditors=[identity_pb2.OrganizationNumber(value=creditor)])
    listed = [identity_pb2.NationalIdentityNumber(value=s) for s in subjects]
    return [
        pb.ReadExtractRequest(order=start),
        pb.ReadExtractRequest(customers=pb.ListedCustomers(subjects=listed)),
        pb.ReadExtractRequest(end=pb.ExtractOrderEnd()),
    ]


async def answer_of(call: Any) -> tuple[dict[str, list[ingest_pb2.Debt]], pb.ExtractOrderRead]:
    customers: dict[str, list[ingest_pb2.Debt]] = {}
    while True:
        reply = await call.read()
        if reply.WhichOneof("part") == "read":
            return customers, reply.read
        for customer in reply.customers.customers:
            customers[customer.subject.value] = list(customer.debts)


async def lender_reports(registry: Registry, request_id: str, balance: int) -> None:
    """Nordlys Kreditt reports a loan of PERSON's (the demo's first debt, as its own)."""
    change = demo_changes()[0]
    change.register.repayment_loan.balance.minor_units = balance
    await registry.ingest().ReportDebtChanges(
        pb.ReportDebtChangesRequest(request_id=request_id, changes=[change]), metadata=registry.as_institution(LENDER)
    )


async def test_every_order_of_a_round_is_read_at_one_instant_even_with_a_delivery_between(registry: Registry) -> None:
    await report_demo(registry)
    await lender_reports(registry, "before", 31_000_000)
    call = registry.ingest().ReadExtract(None, metadata=registry.as_service("lookup"))
    instant = (await call.read()).snapshot_time
    first, second = uuid.uuid4(), uuid.uuid4()
    for request in order(first, BANK, PERSON, CO_BORROWER, NOT_A_CUSTOMER, PERSON):
        await call.write(request)
    customers, read = await answer_of(call)
    # Customers only: the bank's, with every debt they have anywhere (the creditor is for lookup to number).
    assert sorted(customers) == sorted({PERSON, CO_BORROWER})
    assert (read.customer_count, read.not_customer_count) == (2, 2)  # PERSON listed twice: lookup sends each once
    assert {d.creditor.organization_number.value for d in customers[PERSON]} == {BANK, LENDER}

    # A delivery lands mid-round; the next order of the round still sees the register as it was at the instant.
    await lender_reports(registry, "during", 29_000_000)
    for request in order(second, LENDER, PERSON, CO_BORROWER):
        await call.write(request)
    customers, read = await answer_of(call)
    await call.done_writing()
    assert sorted(customers) == [PERSON] and (read.customer_count, read.not_customer_count) == (1, 1)
    lender_loan = next(d for d in customers[PERSON] if d.creditor.organization_number.value == LENDER)
    # Breaking it (reading each order in a transaction of its own, or READ COMMITTED) shows 29 000 000 here.
    assert lender_loan.repayment_loan.balance.minor_units == 31_000_000
    assert instant.seconds > 0 and await call.code() == grpc.StatusCode.OK


async def test_only_lookup_reads_a_round(registry: Registry) -> None:
    for caller in (registry.as_institution(BANK), registry.as_service("notify")):
        call = registry.ingest().ReadExtract(None, metadata=caller)
        assert await call.code() in DENIED
