"""`gjeld demo` (make demo): the whole story, against the running registry, with synthetic people.

An institution reports debts of all three types, one of them joint; a person
consents to a lender's lookup; the lender sees amounts without creditors; the person
sees their debts with creditors, the consent and its use, who received their data,
and the copy letter in their mailbox; after the consent is withdrawn the lender is
refused; the person asks for a correction, the bank corrects the debt, and the lender
that received the wrong data is told. Every step is the same call `gjeld` makes by hand.
"""

from __future__ import annotations

import asyncio
import os
import time
from argparse import Namespace
from pathlib import Path

from gjeld.ingest.v1 import ingest_service_pb2, ingest_service_pb2_grpc
from gjeld.notify.v1 import notify_service_pb2, notify_service_pb2_grpc

from . import devstack, traces
from .cli import (
    Failure,
    call,
    cmd_consents,
    cmd_correction,
    cmd_grant,
    cmd_lookup,
    cmd_my,
    cmd_report,
    cmd_withdraw,
    data_folder,
)

BANK = "999888777"  # Fjordbanken ASA, the creditor
LENDER = "911222333"  # Nordlys Kreditt AS, assessing a loan application
PERSON = "14842249091"  # synthetic (month + 80): real numbers are never used outside production
CO_BORROWER = "29868099311"
DELIVERY = Path(__file__).parent / "demo-delivery.json"


def step(text: str) -> None:
    print(f"\n== {text}", flush=True)


async def wait_for_letter(person: Namespace, disclosure_id: str, timeout: float = 15.0) -> Path:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = await call(
            "notify",
            person,
            lambda c: notify_service_pb2_grpc.NotifyServiceStub(c).ListOwnNotices,
            notify_service_pb2.ListOwnNoticesRequest(),
        )
        for notice in reply.notices:
            if notice.source_id == disclosure_id and notice.HasField("deliver_time"):
                return next(data_folder().mailbox.glob(f"*/*/{notice.id}.txt"))
        await asyncio.sleep(0.3)
    raise Failure("the copy letter did not arrive in time")


async def wait_for_notice(institution: Namespace, timeout: float = 20.0) -> None:
    """Until the institution's notice feed holds a correction (lookup tells of corrections every few seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        reply = await call(
            "notify",
            institution,
            lambda c: notify_service_pb2_grpc.NotifyServiceStub(c).ListInstitutionNotices,
            notify_service_pb2.ListInstitutionNoticesRequest(),
        )
        if any(n.HasField("correction") for n in reply.notices):
            await cmd_correction(institution)
            return
        await asyncio.sleep(0.5)
    raise Failure("the correction notice did not arrive in time")


async def demo() -> int:
    bank = Namespace(
        as_institution=BANK, file=str(DELIVERY), certificate=None, snapshot=True, partial=False, request_id=None
    )
    lender = Namespace(as_institution=LENDER, subject=PERSON, reference="APP-2026-0042")
    person = Namespace(as_subject=PERSON, institution=LENDER, scope="processing", days=28, what="debt")

    step(f"Fjordbanken ({BANK}) delivers its daily snapshot in the Norwegian delivery format (DOM-1, DOM-3, DOM-8)")
    print("  " + await cmd_report(bank))

    step(f"The person grants Nordlys Kreditt ({LENDER}) consent to assess a loan application (DOM-10)")
    consent = await cmd_grant(person)

    step("Nordlys Kreditt looks the person up: amounts and types, no creditor names (DOM-5)")
    first = await cmd_lookup(lender)
    if b"Fjordbanken" in first.SerializeToString():
        raise Failure("a creditor name reached the lender")

    step("The person sees their own debt, with creditors (DOM-5)")
    await cmd_my(person)
    step("… the consent and its use (DOM-10)")
    await cmd_consents(person)
    step("… and who received their data")
    person.what = "disclosures"
    await cmd_my(person)

    step("The person's copy letter (DOM-13), from the development mailbox")
    letter = await wait_for_letter(person, first.disclosure.id)
    print(f"  {letter}\n")
    print("\n".join(f"  | {line}" for line in letter.read_text(encoding="utf-8").splitlines()))

    step("The person withdraws the consent; the lender's next lookup is refused")
    await cmd_withdraw(Namespace(as_subject=PERSON, consent_id=consent.id))
    try:
        await cmd_lookup(lender)
        raise Failure("the lookup after withdrawal was not refused")
    except Failure as refused:
        if "CONSENT_WITHDRAWN" not in str(refused):
            raise
        print(f"  refused as it should be: {refused}")

    step("The person asks Fjordbanken to correct the credit card; lenders see it disputed meanwhile (DOM-14)")
    asked = Namespace(as_subject=PERSON, action="request", creditor=BANK, account_id="CARD-7")
    asked.reason = "Kortet er sagt opp i mai."
    await cmd_correction(asked)
    step("Fjordbanken reads its correction feed and answers: its next delivery carries the fix")
    await cmd_correction(Namespace(as_institution=BANK, action="feed", after=0))
    own = await call(
        "ingest",
        Namespace(as_subject=PERSON),
        lambda c: ingest_service_pb2_grpc.IngestServiceStub(c).ListOwnCorrectionRequests,
        ingest_service_pb2.ListOwnCorrectionRequestsRequest(),
    )
    answer = Namespace(as_institution=BANK, action="answer", correction_id=own.correction_requests[0].id)
    answer.reject, answer.forward, answer.delivery = None, None, None
    answer.description = "Kortet er avsluttet; saldoen er nullet."
    await cmd_correction(answer)
    bank.request_id = "demo-correction-fix"  # the next delivery (the same file, sent again as a new delivery)
    print("  " + await cmd_report(bank))
    step("Nordlys Kreditt, which received the wrong data, is told in its notice feed; the person gets the outcome")
    await wait_for_notice(Namespace(as_institution=LENDER, action="notices", after=0))
    person.what = "notices"
    await cmd_my(person)

    step("The joint loan, as the co-borrower sees it (DOM-3): flagged, the other borrower never named")
    await cmd_my(Namespace(as_subject=CO_BORROWER, what="debt"))

    step(f"The first lookup's trace across the services (gjeld trace {first.disclosure.trace_id})")
    await asyncio.sleep(1.2)  # spans are written in batches every 0.5 s
    print(
        "\n".join("  " + line for line in traces.tree(traces.spans_of(first.disclosure.trace_id, data_folder().traces)))
    )
    print("\nThe story is told.")
    portal = os.environ.get("GJELD_PORTAL_ADDRESS", devstack.DEFAULT_PORTAL_ADDRESS)
    print(f"See it as the person does: open Min gjeld at http://{portal}/ and log in as Kari Nordmann.")
    return 0
