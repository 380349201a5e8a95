"""Portfolio handovers between institutions (merger, sale): no window where debts are doubled or missing,
and an error from either side never keeps stale data alive (DOM-8)."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_shared import errors
from gjeld_tools import synthetic
from gjeld_tools.testing import BANK, LENDER, PERSON, Registry, deliver_snapshot, demo_changes, reason, report_demo

BUYER = LENDER


async def propose(registry: Registry, account_ids: list[str] | None = None, giver: str = BANK) -> ingest_pb2.Handover:
    reply = await registry.ingest().ProposeHandover(
        ingest_service_pb2.ProposeHandoverRequest(
            receiver=identity_pb2.OrganizationNumber(value=BUYER), account_ids=account_ids or []
        ),
        metadata=registry.as_institution(giver),
    )
    return reply.handover


async def accept(registry: Registry, handover_id: str, receiver: str = BUYER) -> ingest_pb2.Handover:
    reply = await registry.ingest().AcceptHandover(
        ingest_service_pb2.AcceptHandoverRequest(id=handover_id), metadata=registry.as_institution(receiver)
    )
    return reply.handover


async def creditors_of(registry: Registry, subject: str = PERSON) -> list[str]:
    reply = await registry.ingest().ListSubjectDebts(
        ingest_service_pb2.ListSubjectDebtsRequest(subject=identity_pb2.NationalIdentityNumber(value=subject)),
        metadata=registry.as_service("lookup"),
    )
    return sorted(d.creditor.organization_number.value for d in reply.debts)


async def test_a_portfolio_moves_at_once_with_no_window_of_doubled_or_missing_debts(registry: Registry) -> None:
    await report_demo(registry)
    await deliver_snapshot(registry, BANK, [c.register for c in demo_changes()] + synthetic.portfolio(4000, seed=21))
    handover = await propose(registry)
    assert handover.state == ingest_pb2.HANDOVER_STATE_PROPOSED
    assert await creditors_of(registry) == [BANK] * 3  # nothing moves on a proposal
    seen: list[list[str]] = []
    done = asyncio.Event()

    async def watch() -> None:
        while not done.is_set():
            seen.append(await creditors_of(registry))

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.05)
    completed = await accept(registry, handover.id)
    await asyncio.sleep(0.05)
    done.set()
    await watcher
    assert completed.state == ingest_pb2.HANDOVER_STATE_COMPLETED and completed.moved_count == 4004
    assert len(seen) >= 3 and seen[0] == [BANK] * 3 and seen[-1] == [BUYER] * 3
    assert all(s in ([BANK] * 3, [BUYER] * 3) for s in seen), "a lookup saw the debts doubled, split or missing"
    assert (await accept(registry, handover.id)).moved_count == 4004  # accepting again changes nothing


async def test_after_a_handover_the_giver_can_neither_report_nor_delete_the_debts(registry: Registry) -> None:
    await report_demo(registry)
    handover = await propose(registry, ["CARD-7"])
    assert (await accept(registry, handover.id)).moved_count == 1
    # The giver's stale system still holds CARD-7: reporting it again is refused, not read as current.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await deliver_snapshot(registry, BANK, [c.register for c in demo_changes()])
    assert [v.field for v in errors.decode(refused.value).field_violations] == ["debts[1]"]
    partial = await deliver_snapshot(
        registry, BANK, [c.register for c in demo_changes()], strictness=ingest_pb2.STRICTNESS_PARTIAL
    )
    assert [r.index for r in partial.rejections] == [1]
    assert await creditors_of(registry) == sorted([BANK, BANK, BUYER])
    # The giver's empty snapshot deletes its own debts, not the ones it handed over.
    await deliver_snapshot(registry, BANK, [])
    assert await creditors_of(registry) == [BUYER]
    # The receiver's snapshot governs them: absent from it, they are gone (no stale data kept alive).
    await deliver_snapshot(registry, BUYER, [])
    assert await creditors_of(registry) == []


async def test_a_handover_the_receiver_cannot_take_moves_nothing(registry: Registry) -> None:
    await report_demo(registry)
    clash = demo_changes()[1].register  # the buyer already holds CARD-7 for the same person
    await deliver_snapshot(registry, BUYER, [clash])
    handover = await propose(registry)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await accept(registry, handover.id)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(refused.value) == "HANDOVER_CONFLICT"
    assert await creditors_of(registry) == sorted([BANK] * 3 + [BUYER])


async def test_only_the_receiver_accepts_and_the_receiver_must_be_another_institution(registry: Registry) -> None:
    await report_demo(registry)
    handover = await propose(registry)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await accept(registry, handover.id, receiver=BANK)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await accept(registry, handover.id, receiver="922333444")
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as itself:
        await propose(registry, giver=BUYER)
    assert [v.field for v in errors.decode(itself.value).field_violations] == ["receiver.value"]


async def test_debts_handed_back_may_be_reported_again_by_their_first_holder(registry: Registry) -> None:
    await report_demo(registry)
    await accept(registry, (await propose(registry, ["CARD-7"])).id)
    back = await registry.ingest().ProposeHandover(
        ingest_service_pb2.ProposeHandoverRequest(
            receiver=identity_pb2.OrganizationNumber(value=BANK), account_ids=["CARD-7"]
        ),
        metadata=registry.as_institution(BUYER),
    )
    await accept(registry, back.handover.id, receiver=BANK)
    reply = await deliver_snapshot(registry, BANK, [c.register for c in demo_changes()])
    assert reply.delivery.registered_count == 4
    assert await creditors_of(registry) == [BANK] * 3


async def test_a_retried_proposal_is_the_first_one(registry: Registry) -> None:
    # AIP-155: a giver that lost the answer proposes again with the same request id and gets the same handover.
    def asked(account_ids: list[str]) -> ingest_service_pb2.ProposeHandoverRequest:
        return ingest_service_pb2.ProposeHandoverRequest(
            receiver=identity_pb2.OrganizationNumber(value=BUYER), account_ids=account_ids, request_id="sale-1"
        )

    first = await registry.ingest().ProposeHandover(asked(["ACC-001"]), metadata=registry.as_institution(BANK))
    again = await registry.ingest().ProposeHandover(asked(["ACC-001"]), metadata=registry.as_institution(BANK))
    assert again.handover == first.handover
    assert len(await registry.fetch("SELECT 1 FROM ingest.handovers")) == 1
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await registry.ingest().ProposeHandover(asked(["CARD-7"]), metadata=registry.as_institution(BANK))
    assert reused.value.code() == grpc.StatusCode.ALREADY_EXISTS and reason(reused.value) == "REQUEST_ID_REUSED"
    # Without a request id every proposal is new.
    await propose(registry, ["ACC-001"])
    await propose(registry, ["ACC-001"])
    assert len(await registry.fetch("SELECT 1 FROM ingest.handovers")) == 3
