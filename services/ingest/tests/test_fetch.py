"""ingest fetches a full snapshot from an institution that prefers to be called (gjeld.creditor.v1, DOM-8)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from gjeld.ingest.v1 import ingest_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_tools.testing import BANK, LENDER, Registry, demo_changes, reason


def fetch(institution: str) -> ingest_service_pb2.FetchSnapshotRequest:
    return ingest_service_pb2.FetchSnapshotRequest(institution=identity_pb2.OrganizationNumber(value=institution))


async def registered(registry: Registry) -> list[str]:
    reply = await registry.ingest().ListDebts(
        ingest_service_pb2.ListDebtsRequest(), metadata=registry.as_institution(BANK)
    )
    return sorted(d.account_id for d in reply.debts)


async def test_a_called_institutions_snapshot_replaces_its_data(registry: Registry) -> None:
    bank, server, address = await registry.serve_bank([c.register for c in demo_changes()])
    try:
        await registry.configure_institutions(
            {BANK: {"creditor_endpoint": address, "fetch_snapshot": True}}, restart=["ingest"]
        )
        operator = registry.as_operator()
        reply = await registry.ingest().FetchSnapshot(fetch(BANK), metadata=operator)
        # The demo portfolio: three debts of one person, one of them joint and so also the co-borrower's (DOM-3).
        assert reply.delivery.registered_count == 4 and reply.delivery.record_count == 4
        assert await registered(registry) == ["ACC-001", "ACC-001", "CARD-7", "CHARGE-3"]
        # The next day the bank no longer has the charge card: absent from the snapshot, it is gone (DOM-8).
        bank.debts = [d for d in bank.debts if d.account_id != "CHARGE-3"]
        again = await registry.ingest().FetchSnapshot(fetch(BANK), metadata=operator)
        assert again.delivery.absent_count == 1
        assert await registered(registry) == ["ACC-001", "ACC-001", "CARD-7"]
        # A bank that fails changes nothing, and says so.
        bank.failing = True
        with pytest.raises(grpc.aio.AioRpcError) as down:
            await registry.ingest().FetchSnapshot(fetch(BANK), metadata=operator)
        assert down.value.code() == grpc.StatusCode.UNAVAILABLE
        assert await registered(registry) == ["ACC-001", "ACC-001", "CARD-7"]
        with pytest.raises(grpc.aio.AioRpcError) as not_called:
            await registry.ingest().FetchSnapshot(fetch(LENDER), metadata=operator)
        assert reason(not_called.value) == "NOT_A_CALLED_INSTITUTION"
        with pytest.raises(grpc.aio.AioRpcError) as not_operator:
            await registry.ingest().FetchSnapshot(fetch(BANK), metadata=registry.as_institution(BANK))
        assert not_operator.value.code() == grpc.StatusCode.PERMISSION_DENIED
    finally:
        await server.stop(None)


async def test_a_bank_that_hangs_is_given_up_at_the_deadline(registry: Registry) -> None:
    bank, server, address = await registry.serve_bank([c.register for c in demo_changes()])
    bank.delay = 30.0
    try:
        await registry.configure_institutions({BANK: {"creditor_endpoint": address, "fetch_snapshot": True}})
        await registry.restart("ingest", snapshot_fetch_timeout_seconds=1.0)
        started = asyncio.get_running_loop().time()
        with pytest.raises(grpc.aio.AioRpcError) as hung:
            await registry.ingest().FetchSnapshot(fetch(BANK), metadata=registry.as_operator())
        assert hung.value.code() == grpc.StatusCode.UNAVAILABLE and reason(hung.value) == "INSTITUTION_UNAVAILABLE"
        assert asyncio.get_running_loop().time() - started < 5
        assert await registered(registry) == []
    finally:
        await server.stop(None)
