"""Correction requests (DOM-14): the person asks, the institution that reported the debt reads its feed and answers
(corrected, rejected, forwarded to where the error arose), the debt is disputed meanwhile, the deadline is watched.
Through real gRPC on a real database."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_shared import errors
from gjeld_tools.testing import (
    BANK,
    CO_BORROWER,
    LENDER,
    PERSON,
    Registry,
    demo_changes,
    eventually,
    reason,
    report_demo,
)

pb = ingest_service_pb2
OTHER_BANK = "922333444"  # Vidda Finans AS in the development directory


def org(number: str) -> identity_pb2.OrganizationNumber:
    return identity_pb2.OrganizationNumber(value=number)


async def ask(
    registry: Registry, account_id: str, subject: str = PERSON, creditor: str = BANK, why: str = "Lånet er nedbetalt."
) -> ingest_pb2.CorrectionRequest:
    request = pb.RequestCorrectionRequest(creditor=org(creditor), account_id=account_id, reason=why)
    reply = await registry.ingest().RequestCorrection(request, metadata=registry.as_subject(subject))
    return reply.correction_request


async def feed(registry: Registry, institution: str, after: int = 0) -> list[ingest_pb2.CorrectionEvent]:
    reply = await registry.ingest().ListCorrectionEvents(
        pb.ListCorrectionEventsRequest(after_position=after), metadata=registry.as_institution(institution)
    )
    return list(reply.events)


async def answer(registry: Registry, institution: str, correction_id: str, **kind: Any) -> ingest_pb2.CorrectionRequest:
    reply = await registry.ingest().AnswerCorrectionRequest(
        pb.AnswerCorrectionRequestRequest(id=correction_id, **kind), metadata=registry.as_institution(institution)
    )
    return reply.correction_request


async def disputed(registry: Registry, subject: str = PERSON) -> dict[str, bool]:
    """Each of the subject's debts by account, disputed or not, as lookup reads them."""
    reply = await registry.ingest().ListSubjectDebts(
        pb.ListSubjectDebtsRequest(subject=identity_pb2.NationalIdentityNumber(value=subject)),
        metadata=registry.as_service("lookup"),
    )
    return {d.account_id: d.disputed for d in reply.debts}


async def outcomes(registry: Registry, after: int = 0) -> list[ingest_pb2.CorrectionEvent]:
    reply = await registry.ingest().ReadCorrectionOutcomes(
        pb.ReadCorrectionOutcomesRequest(after_position=after), metadata=registry.as_service("lookup")
    )
    return list(reply.events)


@pytest.fixture
async def registry(services: Any) -> Registry:
    suite: Registry = await services("ingest")
    await report_demo(suite)
    return suite


async def first_account(registry: Registry) -> str:
    return sorted(await disputed(registry))[0]


async def test_a_request_reaches_the_reporting_institution_and_marks_the_debt_disputed(registry: Registry) -> None:
    account = await first_account(registry)
    made = await ask(registry, account)
    assert made.state == ingest_pb2.CORRECTION_STATE_OPEN
    assert made.owner.value == BANK and made.creditor_institution.name  # the person sees the creditor named
    assert (made.due_time.ToDatetime() - made.create_time.ToDatetime()).days in range(28, 32)  # one month

    # DOM-14: the debt is disputed while the request is open, in what lookup reads (and only that debt).
    flags = await disputed(registry)
    assert flags[account] is True and not any(v for k, v in flags.items() if k != account)
    # The co-borrower's share of a joint debt is theirs: their own view is not marked by another's request.
    assert not any((await disputed(registry, CO_BORROWER)).values())

    # The bank reads it from its feed, with the person and their words: it must find its customer.
    [event] = await feed(registry, BANK)
    assert event.position == 1 and event.type == ingest_pb2.CORRECTION_EVENT_TYPE_RECEIVED
    assert event.request.debtor.value == PERSON and event.request.reason == "Lånet er nedbetalt."
    assert await feed(registry, BANK, after=1) == []
    assert await feed(registry, LENDER) == []  # no other institution sees it

    # The bank's own read-back shows the dispute too.
    listed = await registry.ingest().ListDebts(pb.ListDebtsRequest(), metadata=registry.as_institution(BANK))
    assert {d.account_id for d in listed.debts if d.disputed} == {account}

    # One open request per debt.
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await ask(registry, account)
    assert (
        again.value.code() == grpc.StatusCode.FAILED_PRECONDITION and reason(again.value) == "CORRECTION_ALREADY_OPEN"
    )


async def test_only_ones_own_debt_and_a_reason(registry: Registry) -> None:
    account = await first_account(registry)
    with pytest.raises(grpc.aio.AioRpcError) as foreign:
        await ask(registry, account, subject="01838501393")  # a person without this debt
    assert foreign.value.code() == grpc.StatusCode.NOT_FOUND and reason(foreign.value) == "DEBT_NOT_FOUND"
    with pytest.raises(grpc.aio.AioRpcError) as empty:
        await ask(registry, account, why="  ")
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in errors.decode(empty.value).field_violations] == ["reason"]
    # Lines are a person's words; other control characters are not.
    assert (await ask(registry, account, why="Feil saldo.\nRiktig er 0 kr.")).reason == "Feil saldo.\nRiktig er 0 kr."


async def test_a_rejection_resolves_the_request_and_clears_the_dispute(registry: Registry) -> None:
    account = await first_account(registry)
    made = await ask(registry, account)
    answered = await answer(
        registry, BANK, made.id, rejected=pb.CorrectionRejected(reason="Saldoen stemmer med kontoutskriften.")
    )
    assert answered.state == ingest_pb2.CORRECTION_STATE_REJECTED and answered.HasField("resolve_time")
    assert (await disputed(registry))[account] is False
    [event] = await outcomes(registry)
    assert event.type == ingest_pb2.CORRECTION_EVENT_TYPE_REJECTED
    assert event.request.answer == "Saldoen stemmer med kontoutskriften." and event.request.debtor.value == PERSON

    # The person reads the answer.
    own = await registry.ingest().ListOwnCorrectionRequests(
        pb.ListOwnCorrectionRequestsRequest(), metadata=registry.as_subject(PERSON)
    )
    assert [r.answer for r in own.correction_requests] == ["Saldoen stemmer med kontoutskriften."]
    # Answered once.
    with pytest.raises(grpc.aio.AioRpcError) as twice:
        await answer(registry, BANK, made.id, rejected=pb.CorrectionRejected(reason="Igjen."))
    assert twice.value.code() == grpc.StatusCode.FAILED_PRECONDITION and reason(twice.value) == "CORRECTION_NOT_OPEN"
    # A new request may be made once the first is resolved.
    assert (await ask(registry, account)).state == ingest_pb2.CORRECTION_STATE_OPEN


async def hand_over(registry: Registry, account: str, giver: str = BANK, receiver: str = OTHER_BANK) -> None:
    proposed = await registry.ingest().ProposeHandover(
        pb.ProposeHandoverRequest(receiver=org(receiver), account_ids=[account]),
        metadata=registry.as_institution(giver),
    )
    await registry.ingest().AcceptHandover(
        pb.AcceptHandoverRequest(id=proposed.handover.id), metadata=registry.as_institution(receiver)
    )


async def test_a_forwarded_request_is_owned_by_the_second_institution(registry: Registry) -> None:
    # The card came to Vidda Finans from Fjordbanken: an error in it may have arisen at Fjordbanken.
    await hand_over(registry, "CARD-7")
    made = await ask(registry, "CARD-7", creditor=OTHER_BANK)
    forwarded = await answer(registry, OTHER_BANK, made.id, forwarded=pb.CorrectionForwarded(institution=org(BANK)))
    assert forwarded.owner.value == BANK and forwarded.forwarded_by.value == OTHER_BANK
    assert forwarded.state == ingest_pb2.CORRECTION_STATE_OPEN
    assert (await disputed(registry))["CARD-7"] is True  # still open: still disputed

    # Fjordbanken receives it in its feed and owns it; Vidda Finans no longer may answer, nor read the person.
    [received] = await feed(registry, BANK)
    assert received.type == ingest_pb2.CORRECTION_EVENT_TYPE_RECEIVED and received.request.debtor.value == PERSON
    former = await feed(registry, OTHER_BANK)
    assert [e.type for e in former] == [
        ingest_pb2.CORRECTION_EVENT_TYPE_RECEIVED,
        ingest_pb2.CORRECTION_EVENT_TYPE_FORWARDED,
    ]
    assert all(not e.request.debtor.value and not e.request.reason for e in former)
    with pytest.raises(grpc.aio.AioRpcError) as not_theirs:
        await answer(registry, OTHER_BANK, made.id, rejected=pb.CorrectionRejected(reason="Nei."))
    assert not_theirs.value.code() == grpc.StatusCode.NOT_FOUND
    rejected = await answer(registry, BANK, made.id, rejected=pb.CorrectionRejected(reason="Riktig."))
    assert rejected.state == ingest_pb2.CORRECTION_STATE_REJECTED

    # Forwarding to oneself, to an institution that never held the debt, or to one the registry does not know is
    # refused, naming the field: the person's number and words go to no institution that did not have the debt.
    second = await ask(registry, "CARD-7", creditor=OTHER_BANK)
    for target in (OTHER_BANK, LENDER, "123456785"):
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await answer(registry, OTHER_BANK, second.id, forwarded=pb.CorrectionForwarded(institution=org(target)))
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in errors.decode(bad.value).field_violations] == ["forwarded.institution.value"]


async def test_a_handover_carries_an_open_request_with_the_debt(registry: Registry) -> None:
    made = await ask(registry, "CARD-7")
    await hand_over(registry, "CARD-7")
    # The receiver reports the card now: the request is its own, and the card is still disputed.
    [received] = await feed(registry, OTHER_BANK)
    assert received.request.id == made.id and received.request.owner.value == OTHER_BANK
    assert received.request.creditor.value == OTHER_BANK and received.request.reason
    assert (await disputed(registry))["CARD-7"] is True
    answered = await answer(registry, OTHER_BANK, made.id, rejected=pb.CorrectionRejected(reason="Riktig."))
    assert answered.state == ingest_pb2.CORRECTION_STATE_REJECTED


async def test_corrected_by_the_next_delivery_or_a_named_one(registry: Registry) -> None:
    accounts = sorted(await disputed(registry))
    waiting = await ask(registry, accounts[0])
    answered = await answer(registry, BANK, waiting.id, corrected=pb.CorrectionMade(description="Rettet."))
    assert answered.state == ingest_pb2.CORRECTION_STATE_AWAITING_FIX
    assert (await disputed(registry))[accounts[0]] is True  # the wrong data is still in the register
    assert await outcomes(registry) == []

    # A delivery that does not hold the debt carries no fix; the bank's next one that does, in its own transaction.
    others = [c for c in demo_changes() if c.register.account_id != accounts[0]]
    await registry.ingest().ReportDebtChanges(
        pb.ReportDebtChangesRequest(request_id="not-it", changes=others), metadata=registry.as_institution(BANK)
    )
    assert await outcomes(registry) == []
    delivery = (await report_demo(registry, request_id="fix-1")).delivery
    [outcome] = await outcomes(registry)
    assert outcome.type == ingest_pb2.CORRECTION_EVENT_TYPE_CORRECTED
    assert outcome.request.fix_delivery_id == delivery.id and outcome.request.answer == "Rettet."
    assert outcome.request.debtor.value == PERSON and not outcome.request.reason  # lookup tells; it needs no words
    assert outcome.request.fix_time.ToDatetime() >= delivery.complete_time.ToDatetime()  # after the merge
    assert (await disputed(registry))[accounts[0]] is False

    # Named: it must be a delivery of the debt's creditor applied after the request.
    named = await ask(registry, accounts[1])
    with pytest.raises(grpc.aio.AioRpcError) as old:
        await answer(registry, BANK, named.id, corrected=pb.CorrectionMade(delivery_id=delivery.id))
    assert [v.field for v in errors.decode(old.value).field_violations] == ["corrected.delivery_id"]
    later = (await report_demo(registry, request_id="fix-2")).delivery
    done = await answer(registry, BANK, named.id, corrected=pb.CorrectionMade(delivery_id=later.id))
    assert done.state == ingest_pb2.CORRECTION_STATE_CORRECTED and done.fix_delivery_id == later.id
    assert [o.request.id for o in await outcomes(registry, after=outcome.position)] == [named.id]


async def test_deadline_reminders_and_overdue_requests(registry: Registry) -> None:
    await registry.restart("ingest", correction_housekeeping_interval_seconds=0.1)
    account = await first_account(registry)
    made = await ask(registry, account)

    async def reminded() -> bool:
        return any(e.type == ingest_pb2.CORRECTION_EVENT_TYPE_REMINDER for e in await feed(registry, BANK))

    # Move the clock: the deadline is three days away; the owner is reminded in its feed, once.
    await registry.fetch(
        f"UPDATE ingest.correction_requests SET due_time = now() + interval '3 days' WHERE id = '{made.id}'"
    )
    await eventually(reminded)
    await asyncio.sleep(0.3)  # several housekeeping rounds
    types = [e.type for e in await feed(registry, BANK)]
    assert types.count(ingest_pb2.CORRECTION_EVENT_TYPE_REMINDER) == 1

    async def overdue() -> list[ingest_pb2.CorrectionRequest]:
        reply = await registry.ingest().ListOverdueCorrectionRequests(
            pb.ListOverdueCorrectionRequestsRequest(), metadata=registry.as_operator()
        )
        return list(reply.correction_requests)

    assert await overdue() == []
    await registry.fetch(
        f"UPDATE ingest.correction_requests SET due_time = now() - interval '1 day' WHERE id = '{made.id}'"
    )
    [late] = await overdue()
    assert late.id == made.id and late.owner.value == BANK
    assert not late.debtor.value and not late.reason  # operators chase the owner; they never see the person

    await answer(registry, BANK, made.id, rejected=pb.CorrectionRejected(reason="Riktig."))
    assert await overdue() == []
