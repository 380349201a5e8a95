"""A correction reaches everyone who received the wrong data, and only them (DOM-14, GDPR art. 19); a disputed debt
is marked to lenders while the request is open. The four services running, through real gRPC on a real database."""

from __future__ import annotations

import asyncio
from typing import Any

from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2
from gjeld.lookup.v1 import lookup_pb2
from gjeld.notify.v1 import notify_pb2, notify_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_tools.testing import (
    BANK,
    CO_BORROWER,
    LENDER,
    PERSON,
    Registry,
    demo_changes,
    eventually,
    grant,
    look_up,
    report_demo,
)

OTHER = "922333444"  # Vidda Finans AS: credit assessment
BUREAU = "933444550"  # Kredittopplysning Norge AS: a credit bureau
NEW_CARD = "CARD-9"
ipb = ingest_service_pb2


async def report_card(registry: Registry, balance: int, request_id: str) -> ingest_pb2.Delivery:
    """The bank registers (or updates) a credit card of PERSON's, NEW_CARD."""
    change = next(c for c in demo_changes() if c.register.account_id == "CARD-7")
    change.register.account_id = NEW_CARD
    change.register.credit_facility.interest_bearing_balance.minor_units = balance
    reply = await registry.ingest().ReportDebtChanges(
        ipb.ReportDebtChangesRequest(request_id=request_id, changes=[change]), metadata=registry.as_institution(BANK)
    )
    return reply.delivery


async def lookup_by(registry: Registry, lender: str, subject: str = PERSON) -> lookup_pb2.Disclosure:
    if lender == BUREAU:
        answer = await look_up(registry, subject, BUREAU, purpose=lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_BUREAU)
    else:
        await grant(registry, subject, lender)
        answer = await look_up(registry, subject, lender, reference=f"app-{lender}")
    return answer


async def notices_of(registry: Registry, institution: str) -> list[notify_pb2.InstitutionNotice]:
    reply = await registry.notify().ListInstitutionNotices(
        notify_service_pb2.ListInstitutionNoticesRequest(), metadata=registry.as_institution(institution)
    )
    return list(reply.notices)


async def outcome_of(registry: Registry, subject: str = PERSON) -> notify_pb2.Notice | None:
    reply = await registry.notify().ListOwnNotices(
        notify_service_pb2.ListOwnNoticesRequest(), metadata=registry.as_subject(subject)
    )
    return next((n for n in reply.notices if n.HasField("correction_outcome")), None)


async def ask(registry: Registry, account: str) -> ingest_pb2.CorrectionRequest:
    request = ipb.RequestCorrectionRequest(
        creditor=identity_pb2.OrganizationNumber(value=BANK), account_id=account, reason="Kortet er sagt opp."
    )
    return (await registry.ingest().RequestCorrection(request, metadata=registry.as_subject(PERSON))).correction_request


async def answer(registry: Registry, correction_id: str, **kind: Any) -> ingest_pb2.CorrectionRequest:
    request = ipb.AnswerCorrectionRequestRequest(id=correction_id, **kind)
    return (
        await registry.ingest().AnswerCorrectionRequest(request, metadata=registry.as_institution(BANK))
    ).correction_request


def disputed(answer: Any) -> list[bool]:
    return sorted(d.disputed for d in answer.debts)


async def test_every_earlier_recipient_and_only_they_are_told_of_a_correction(registry: Registry) -> None:
    # lookup tells of corrections late (as after an outage): a disclosure after the fix must not count.
    await registry.restart("lookup", correction_relay_interval_seconds=3600)
    await report_demo(registry)
    before = await lookup_by(registry, LENDER)  # before the card was registered: it cannot have held it
    await asyncio.sleep(0.01)
    await report_card(registry, 4_000_000, "card-1")
    bureau = await lookup_by(registry, BUREAU)  # held the wrong card
    other_person = await lookup_by(registry, OTHER, subject=CO_BORROWER)  # about someone else

    made = await ask(registry, NEW_CARD)
    # While the request is open, a lender sees the card marked disputed (and only the card).
    during = await lookup_by(registry, OTHER)
    assert disputed(during) == [False, False, False, True]

    # The bank says its next delivery carries the fix; the fix lands; the dispute is cleared.
    await answer(registry, made.id, corrected=ipb.CorrectionMade(description="Kortet var sagt opp."))
    await report_card(registry, 0, "card-fix")
    after = await lookup_by(registry, BANK)  # after the fix: it received the right data
    assert disputed(after) == [False, False, False, False]
    await registry.restart("lookup")  # back, and telling

    # The bureau and the other lender were told, each of its own disclosure; no one else.
    [to_bureau] = await eventually(lambda: notices_of(registry, BUREAU))
    [to_other] = await eventually(lambda: notices_of(registry, OTHER))
    assert to_bureau.correction.disclosure_id == bureau.disclosure.id
    assert to_other.correction.disclosure_id == during.disclosure.id
    assert to_other.correction.application_reference == f"app-{OTHER}"
    assert to_other.correction.subject.value == PERSON and to_other.correction.correction_id == made.id
    assert to_other.correction.debt_type == 2  # DEBT_TYPE_CREDIT_FACILITY; no figures: a new lookup needs consent
    assert other_person.disclosure.id not in {to_bureau.correction.disclosure_id, to_other.correction.disclosure_id}
    assert await notices_of(registry, LENDER) == [] and before.disclosure.id
    assert await notices_of(registry, BANK) == [] and after.disclosure.id

    # The person is told the outcome, and who was told, through their own channel.
    notice = await eventually(lambda: outcome_of(registry))
    outcome = notice.correction_outcome
    assert outcome.corrected and outcome.account_id == NEW_CARD and outcome.answer == "Kortet var sagt opp."
    assert sorted(t.organization_number.value for t in outcome.told) == sorted([BUREAU, OTHER])
    await eventually(lambda: _delivered(registry, notice.id))

    # Each step recorded; relayed once, however often the relay runs.
    rows = await registry.fetch("SELECT recipient FROM lookup.correction_notices ORDER BY recipient")
    assert [r["recipient"] for r in rows] == sorted([BUREAU, OTHER])
    await asyncio.sleep(0.5)
    assert len(await notices_of(registry, BUREAU)) == 1 and len(await notices_of(registry, OTHER)) == 1


async def test_a_rejection_is_told_to_the_person_alone(registry: Registry) -> None:
    await report_demo(registry)
    await lookup_by(registry, BUREAU)
    made = await ask(registry, "CARD-7")
    assert disputed(await lookup_by(registry, OTHER)) == [False, False, True]
    await answer(registry, made.id, rejected=ipb.CorrectionRejected(reason="Saldoen er riktig."))
    assert disputed(await lookup_by(registry, LENDER)) == [False, False, False]

    notice = await eventually(lambda: outcome_of(registry))
    assert not notice.correction_outcome.corrected and notice.correction_outcome.answer == "Saldoen er riktig."
    assert list(notice.correction_outcome.told) == []
    assert await notices_of(registry, BUREAU) == [] and await notices_of(registry, OTHER) == []
    # The letter reads as a person reads it, in Norwegian.
    letter = await registry.notify().GetOwnNoticeLetter(
        notify_service_pb2.GetOwnNoticeLetterRequest(notice_id=notice.id), metadata=registry.as_subject(PERSON)
    )
    assert letter.title == "DIN BEGJÆRING OM RETTING ER AVSLÅTT" and letter.pdf.startswith(b"%PDF")


async def _delivered(registry: Registry, notice_id: str) -> bool:
    return (
        notice_id in (registry.mailbox / "deliveries.log").read_text()
        if (registry.mailbox / "deliveries.log").exists()
        else False
    )
