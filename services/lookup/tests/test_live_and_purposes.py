"""Live answers from institutions (gjeld.creditor.v1), legal bases per institution, and credit blocks (DOM-5,
DOM-9, DOM-10, DOM-12, DOM-13)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import grpc
import pytest
from gjeld.consent.v1 import consent_pb2, consent_service_pb2
from gjeld.lookup.v1 import lookup_pb2, lookup_service_pb2
from gjeld.notify.v1 import notify_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_tools.fake_bank import FakeBank
from gjeld_tools.testing import (
    BANK,
    CO_BORROWER,
    LENDER,
    PERSON,
    Registry,
    deliver_snapshot,
    demo_changes,
    eventually,
    grant,
    look_up,
    reason,
    report_demo,
)
from google.protobuf import duration_pb2

VIDDA = "922333444"
BUREAU = "933444550"
P = lookup_pb2


@pytest.fixture
async def banks(registry: Registry) -> AsyncIterator[dict[str, FakeBank]]:
    """Three institutions that answer live: Fjordbanken answers at once (with a loan not yet registered), Vidda
    Finans takes 10 s, and Nordlys Kreditt's endpoint is dead. Each has registered data too."""
    await report_demo(registry)  # Fjordbanken's three debts of PERSON
    vidda_loan = demo_changes()[0].register
    vidda_loan.account_id = "VIDDA-1"
    await deliver_snapshot(registry, VIDDA, [vidda_loan])
    nordlys_card = demo_changes()[1].register
    nordlys_card.account_id = "NORDLYS-1"
    await deliver_snapshot(registry, LENDER, [nordlys_card])
    new_loan = demo_changes()[0].register
    new_loan.account_id = "ACC-NEW"
    fast, fast_server, fast_at = await registry.serve_bank([c.register for c in demo_changes()] + [new_loan])
    slow, slow_server, slow_at = await registry.serve_bank([vidda_loan])
    slow.delay = 10.0
    dead, dead_server, dead_at = await registry.serve_bank([nordlys_card])
    await dead_server.stop(None)
    await registry.configure_institutions(
        {
            BANK: {"creditor_endpoint": fast_at},
            VIDDA: {"creditor_endpoint": slow_at},
            LENDER: {"creditor_endpoint": dead_at},
        },
        restart=["lookup"],
    )
    yield {BANK: fast, VIDDA: slow, LENDER: dead}
    await fast_server.stop(None)
    await slow_server.stop(None)


async def test_a_slow_and_a_dead_institution_do_not_hold_up_the_lookup(
    registry: Registry, banks: dict[str, FakeBank]
) -> None:
    await grant(registry)
    started = time.monotonic()
    reply = await look_up(registry, max_wait=1)
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 2.0, elapsed  # it waited for the slow one, but no longer than the wait
    assert banks[BANK].calls == 1 and banks[VIDDA].calls == 1
    assert (reply.creditors_answered, reply.creditors_missing) == (1, 2)
    by_number = {c.creditor_number: c for c in reply.creditors}
    answers = sorted(P.CreditorAnswer.Name(c.answer) for c in reply.creditors)
    assert answers == ["CREDITOR_ANSWER_LIVE", "CREDITOR_ANSWER_MISSING", "CREDITOR_ANSWER_MISSING"]
    # Fjordbanken's live answer holds the loan not yet registered: four debts from it, one each from the others.
    per_creditor = sorted(
        (P.CreditorAnswer.Name(by_number[d.creditor_number].answer), d.WhichOneof("terms")) for d in reply.debts
    )
    assert len(reply.debts) == 6 and per_creditor.count(("CREDITOR_ANSWER_LIVE", "repayment_loan")) == 2
    live = next(c for c in reply.creditors if c.answer == P.CREDITOR_ANSWER_LIVE)
    stale = [c for c in reply.creditors if c.answer == P.CREDITOR_ANSWER_MISSING]
    assert all(c.confirm_time.ToDatetime() < live.confirm_time.ToDatetime() for c in stale)
    # The lender still learns no creditor (DOM-5).
    reply.disclosure.ClearField("recipient")
    wire = reply.SerializeToString()
    for secret in (b"Fjordbanken", b"Vidda", BANK.encode(), VIDDA.encode(), LENDER.encode(), b"ACC-NEW", b"VIDDA-1"):
        assert secret not in wire


async def test_the_caller_chooses_the_wait_within_one_to_sixty_seconds(
    registry: Registry, banks: dict[str, FakeBank]
) -> None:
    await grant(registry)
    for bad in (0.5, 61):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await look_up(registry, max_wait=bad)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    banks[VIDDA].delay = 0.2
    reply = await look_up(registry, max_wait=2)
    assert (reply.creditors_answered, reply.creditors_missing) == (2, 1)


async def test_the_subject_sees_live_creditors_by_name(registry: Registry, banks: dict[str, FakeBank]) -> None:
    banks[VIDDA].delay = 0
    own = await registry.lookup().GetOwnDebt(
        lookup_service_pb2.GetOwnDebtRequest(max_wait=duration_pb2.Duration(seconds=2)),
        metadata=registry.as_subject(PERSON),
    )
    assert (own.creditors_answered, own.creditors_missing) == (2, 1)
    assert {(c.creditor.name, P.CreditorAnswer.Name(c.answer)) for c in own.creditors} == {
        ("Fjordbanken ASA", "CREDITOR_ANSWER_LIVE"),
        ("Vidda Finans AS", "CREDITOR_ANSWER_LIVE"),
        ("Nordlys Kreditt AS", "CREDITOR_ANSWER_MISSING"),
    }
    assert "ACC-NEW" in {d.account_id for d in own.debts}


async def test_a_live_answer_about_someone_else_is_not_used(registry: Registry, banks: dict[str, FakeBank]) -> None:
    impostor = demo_changes()[0].register
    impostor.debtor.value = "29868099311"
    banks[BANK].debts.append(impostor)
    banks[BANK].careless = True
    # The bank answers about PERSON with a debt of another debtor too: the whole answer counts as missing.
    await grant(registry)
    reply = await look_up(registry, max_wait=1)
    assert reply.creditors_missing == 3 and reply.creditors_answered == 0
    assert len(reply.debts) == 5  # everyone's registered data


async def test_which_purpose_an_institution_may_use_is_the_operators_configuration(registry: Registry) -> None:
    await report_demo(registry)
    # A lender may not act as a credit bureau, nor a bureau as a lender; an organisation the operator has not
    # admitted may do nothing, whatever its certificate and token say.
    for caller, purpose, expected in [
        (LENDER, P.DISCLOSURE_PURPOSE_CREDIT_BUREAU, "PURPOSE_NOT_ALLOWED"),
        (BUREAU, P.DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT, "PURPOSE_NOT_ALLOWED"),
        ("944555666", P.DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT, "INSTITUTION_NOT_ADMITTED"),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await look_up(registry, lender=caller, purpose=purpose)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert reason(refused.value) == expected
    # The bureau needs no consent, and the registry queues no copy letter for it: the bureau sends its own (DOM-13).
    bureau = await look_up(registry, lender=BUREAU, purpose=P.DISCLOSURE_PURPOSE_CREDIT_BUREAU)
    assert len(bureau.debts) == 3 and not bureau.disclosure.consent_id
    assert await registry.fetch("SELECT 1 FROM lookup.notice_outbox") == []
    # The operator allows the lender the bureau purpose: no code changes, only the directory.
    await registry.configure_institutions({LENDER: {"purposes": ["credit_bureau"]}}, restart=["lookup"])
    assert len((await look_up(registry, purpose=P.DISCLOSURE_PURPOSE_CREDIT_BUREAU)).debts) == 3
    with pytest.raises(grpc.aio.AioRpcError) as no_longer:
        await look_up(registry)
    assert reason(no_longer.value) == "PURPOSE_NOT_ALLOWED"


async def test_presentation_needs_a_presentation_consent(registry: Registry) -> None:
    await report_demo(registry)
    await grant(registry)  # processing
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await look_up(registry, purpose=P.DISCLOSURE_PURPOSE_PRESENTATION)
    assert reason(refused.value) == "CONSENT_NOT_FOUND"
    await registry.consent().RegisterConsent(
        consent_service_pb2.RegisterConsentRequest(
            subject=identity_pb2.NationalIdentityNumber(value=PERSON),
            institution_consent_id="app-view",
            scope=consent_pb2.CONSENT_SCOPE_PRESENTATION,
            validity=duration_pb2.Duration(seconds=365 * 86400),
        ),
        metadata=registry.as_institution(LENDER),
    )
    shown = await look_up(registry, purpose=P.DISCLOSURE_PURPOSE_PRESENTATION, reference="app")
    assert len(shown.debts) == 3 and shown.disclosure.purpose == P.DISCLOSURE_PURPOSE_PRESENTATION
    assert b"Fjordbanken" not in shown.SerializeToString()


async def test_a_credit_block_answers_only_that_and_tells_the_subject(registry: Registry) -> None:
    # DOM-12. Breaking it (lookup ignoring credit_blocked from consent) fails here: debts would be disclosed. The
    # subject's identity-theft flag beside the block is not told either (breaking it, warning of the flag anyway, fails
    # here too): the lender learns only of the block, and the subject has the block's letter, not the flag's alert.
    await report_demo(registry)
    consent = await grant(registry)
    subject = registry.as_subject(PERSON)
    await registry.consent().PlaceCreditBlock(consent_service_pb2.PlaceCreditBlockRequest(), metadata=subject)
    await registry.consent().PlaceIdentityTheftFlag(
        consent_service_pb2.PlaceIdentityTheftFlagRequest(), metadata=subject
    )
    for caller, purpose in [
        (LENDER, P.DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT),
        (BUREAU, P.DISCLOSURE_PURPOSE_CREDIT_BUREAU),
    ]:
        reply = await look_up(registry, lender=caller, purpose=purpose, reference="blocked")
        assert reply.credit_blocked and reply.disclosure.credit_blocked and not reply.identity_theft_flag
        assert list(reply.debts) == [] and list(reply.totals) == [] and list(reply.creditors) == []
    listed = await registry.consent().ListConsents(consent_service_pb2.ListConsentsRequest(), metadata=subject)
    assert [c.id for c in listed.consents] == [consent.id] and list(listed.consents[0].uses) == []

    async def told() -> list[str]:
        notices = await registry.notify().ListOwnNotices(notify_service_pb2.ListOwnNoticesRequest(), metadata=subject)
        names = [n.copy_letter.recipient.name for n in notices.notices if n.copy_letter.credit_blocked]
        assert not any(n.HasField("identity_theft_alert") or n.copy_letter.identity_theft_flag for n in notices.notices)
        return names if len(names) == 2 else []

    assert sorted(await eventually(told)) == ["Kredittopplysning Norge AS", "Nordlys Kreditt AS"]
    # The subject sees both stopped lookups among who asked, newest first.
    disclosures = await registry.lookup().ListOwnDisclosures(
        lookup_service_pb2.ListOwnDisclosuresRequest(), metadata=subject
    )
    times = [d.disclose_time.ToDatetime() for d in disclosures.disclosures]
    assert times == sorted(times, reverse=True)
    assert [d.recipient.name for d in disclosures.disclosures] == ["Kredittopplysning Norge AS", "Nordlys Kreditt AS"]
    assert all(d.credit_blocked for d in disclosures.disclosures)
    # The subject still sees their own debt.
    own = await registry.lookup().GetOwnDebt(lookup_service_pb2.GetOwnDebtRequest(), metadata=subject)
    assert len(own.debts) == 3


async def test_a_bank_is_believed_only_with_a_server_certificate_from_the_ca_pinned_for_it(registry: Registry) -> None:
    # The registry sends a person's identity number to the bank it asks: it must be that bank. Pinned to a CA that
    # did not issue the bank's server certificate, the handshake fails, nothing is sent and the creditor is missing.
    await report_demo(registry)
    await grant(registry, max_uses=2)
    bank, server, address = await registry.serve_bank([c.register for c in demo_changes()])
    try:
        pki = registry.folder.pki
        await registry.configure_institutions(
            {BANK: {"creditor_endpoint": address, "creditor_ca_file": str(pki.workload_ca)}}, restart=["lookup"]
        )
        elsewhere = await look_up(registry, max_wait=1)
        assert (elsewhere.creditors_answered, elsewhere.creditors_missing, bank.calls) == (0, 1, 0)
        await registry.configure_institutions({BANK: {"creditor_ca_file": str(pki.enterprise_ca)}}, restart=["lookup"])
        pinned = await look_up(registry, max_wait=1)
        assert (pinned.creditors_answered, pinned.creditors_missing, bank.calls) == (1, 0, 1)
    finally:
        await server.stop(0)


async def test_only_the_creditors_of_the_person_are_asked_live(registry: Registry, banks: dict[str, FakeBank]) -> None:
    # A bank that answers live learns of a lookup only when the person is its customer (issue 15): asking every live
    # bank would tell each of them who applies for credit anywhere. (Broken once: every live bank was asked.)
    await grant(registry, subject=CO_BORROWER)
    before = {number: bank.calls for number, bank in banks.items()}
    answer = await look_up(registry, subject=CO_BORROWER)  # a debt at Fjordbanken only (the joint loan)
    assert {number: bank.calls - before[number] for number, bank in banks.items()} == {BANK: 1, VIDDA: 0, LENDER: 0}
    assert (answer.creditors_answered, answer.creditors_missing) == (1, 0)


async def test_overload_is_refused_at_once_and_the_service_recovers(
    registry: Registry, banks: dict[str, FakeBank]
) -> None:
    # Issue 15: lookups beyond capacity are refused RESOURCE_EXHAUSTED at once (never a timeout, never INTERNAL), and
    # the service is itself again as soon as the load drops. Capacity one here; Vidda Finans answers slowly.
    import time

    await registry.restart("lookup", max_concurrent_lookups=1)
    await grant(registry, max_uses=3)
    first = asyncio.ensure_future(look_up(registry, max_wait=2))  # waits up to 2 s for Vidda Finans
    await asyncio.sleep(0.3)
    started = time.monotonic()
    with pytest.raises(grpc.aio.AioRpcError) as shed:
        await look_up(registry)
    assert shed.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and reason(shed.value) == "OVERLOADED"
    assert time.monotonic() - started < 0.5
    assert len((await first).debts) >= 3
    assert len((await look_up(registry, max_wait=1)).debts) >= 3  # back to normal once the load drops


async def test_lookups_beyond_those_waiting_are_refused_at_the_door(
    registry: Registry, banks: dict[str, FakeBank]
) -> None:
    # Issue 15: one lookup at a time and four waiting for room; the next is refused RESOURCE_EXHAUSTED OVERLOADED at
    # the door, before anything else runs for it (not even its credentials are read: a caller without any is told
    # the same), while lookup's other calls go on. Breaking it (no door) makes the call wait for room and then be
    # refused UNAUTHENTICATED.
    await registry.restart("lookup", max_concurrent_lookups=1, admission_wait_seconds=3)
    await grant(registry, max_uses=5)
    waiting = [asyncio.ensure_future(look_up(registry, max_wait=2)) for _ in range(5)]  # Vidda holds each 2 s

    async def at_the_door() -> grpc.aio.AioRpcError | None:
        try:
            await registry.lookup().LookUpDebt(lookup_service_pb2.LookUpDebtRequest(), timeout=5)
        except grpc.aio.AioRpcError as refused:
            return refused if refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED else None
        return None

    await eventually(at_the_door)  # once all five are in (until then: UNAUTHENTICATED, it has no credentials)
    started = time.monotonic()
    shed = await at_the_door()
    assert shed is not None and reason(shed) == "OVERLOADED"
    assert time.monotonic() - started < 0.5
    own = await registry.lookup().ListOwnDisclosures(
        lookup_service_pb2.ListOwnDisclosuresRequest(), metadata=registry.as_subject(PERSON)
    )
    assert own is not None  # lookup's other calls are not held at the door
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)
    refused = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert all(o.code() == grpc.StatusCode.RESOURCE_EXHAUSTED for o in refused) and len(refused) < len(outcomes)
