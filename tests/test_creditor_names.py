"""DOM-5 as a property: over any sequence of callers, a creditor's name, number or account id reaches nobody but the
data subject of that debt. Institutions (lenders, a bureau, an unknown company, the creditors themselves) call with
every purpose about every subject; subjects read their own debt, disclosures, notices and consents."""

from __future__ import annotations

from typing import Any

import grpc
from gjeld.consent.v1 import consent_pb2, consent_service_pb2
from gjeld.lookup.v1 import lookup_pb2, lookup_service_pb2
from gjeld.notify.v1 import notify_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_tools.testing import (
    BANK,
    CO_BORROWER,
    LENDER,
    PERSON,
    Registry,
    deliver_snapshot,
    demo_changes,
    look_up,
    report_demo,
)
from google.protobuf import duration_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

VIDDA = "922333444"
BUREAU = "933444550"
# Who holds which debt: Fjordbanken the demo debts (one of them joint with CO_BORROWER), Vidda a loan of CO_BORROWER.
CREDITOR_SECRETS = {
    PERSON: {b"Fjordbanken", BANK.encode(), b"ACC-001", b"CARD-7", b"CHARGE-3"},
    CO_BORROWER: {b"Fjordbanken", BANK.encode(), b"ACC-001", b"Vidda Finans", VIDDA.encode(), b"VIDDA-CB"},
}
EVERY_SECRET = set().union(*CREDITOR_SECRETS.values())
INSTITUTIONS = [BANK, LENDER, VIDDA, BUREAU, "944555666"]
PURPOSES = [
    lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT,
    lookup_pb2.DISCLOSURE_PURPOSE_PRESENTATION,
    lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_BUREAU,
]
SUBJECTS = [PERSON, CO_BORROWER]

institution_calls = st.tuples(
    st.just("institution"), st.sampled_from(INSTITUTIONS), st.sampled_from(PURPOSES), st.sampled_from(SUBJECTS)
)
subject_calls = st.tuples(
    st.just("subject"), st.sampled_from(SUBJECTS), st.sampled_from(["own debt", "disclosures", "notices", "consents"])
)


async def prepare(registry: Registry) -> None:
    await report_demo(registry)
    loan = demo_changes()[0].register
    loan.account_id, loan.debtor.value = "VIDDA-CB", CO_BORROWER
    await deliver_snapshot(registry, VIDDA, [loan])
    for subject in SUBJECTS:
        for institution in (BANK, LENDER, VIDDA):
            for scope in (consent_pb2.CONSENT_SCOPE_PROCESSING, consent_pb2.CONSENT_SCOPE_PRESENTATION):
                await registry.consent().RegisterConsent(
                    consent_service_pb2.RegisterConsentRequest(
                        subject=identity_pb2.NationalIdentityNumber(value=subject),
                        institution_consent_id=f"{subject[:4]}-{scope}",
                        scope=scope,
                        validity=duration_pb2.Duration(seconds=86400),
                    ),
                    metadata=registry.as_institution(institution),
                )


async def as_subject(registry: Registry, subject: str, call: str) -> bytes:
    metadata = registry.as_subject(subject)
    if call == "own debt":
        reply: Any = await registry.lookup().GetOwnDebt(lookup_service_pb2.GetOwnDebtRequest(), metadata=metadata)
    elif call == "disclosures":
        reply = await registry.lookup().ListOwnDisclosures(
            lookup_service_pb2.ListOwnDisclosuresRequest(page_size=100), metadata=metadata
        )
        for disclosure in reply.disclosures:  # who asked is the subject's to know; it is not a creditor leak
            disclosure.ClearField("recipient")
    elif call == "notices":
        reply = await registry.notify().ListOwnNotices(
            notify_service_pb2.ListOwnNoticesRequest(page_size=100), metadata=metadata
        )
        for notice in reply.notices:
            for letter in [notice.copy_letter, *notice.merged_letters]:
                letter.ClearField("recipient")
    else:
        reply = await registry.consent().ListConsents(consent_service_pb2.ListConsentsRequest(), metadata=metadata)
        for consent in reply.consents:  # the institutions the subject consented to, by the subject's own choice
            consent.ClearField("institution")
            for use in consent.uses:
                use.ClearField("institution")
    wire: bytes = reply.SerializeToString()
    return wire


async def as_institution(registry: Registry, institution: str, purpose: int, subject: str) -> bytes:
    try:
        reply = await look_up(registry, subject=subject, lender=institution, purpose=purpose)
    except grpc.aio.AioRpcError as refused:
        return (refused.details() or "").encode() + repr(refused.trailing_metadata()).encode()
    assert reply.disclosure.recipient.organization_number.value == institution
    reply.disclosure.ClearField("recipient")  # the caller's own name, not a creditor's
    wire: bytes = reply.SerializeToString()
    return wire


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(calls=st.lists(st.one_of(institution_calls, subject_calls), min_size=1, max_size=6))
async def test_creditors_reach_only_their_debtor(registry: Registry, calls: list[tuple[Any, ...]]) -> None:
    # Breaking it (ingest's subject query losing its debtor filter, say) fails here: a subject sees another's creditor.
    if not await registry.fetch("SELECT 1 FROM ingest.debts LIMIT 1"):
        await prepare(registry)
    for call in calls:
        if call[0] == "institution":
            _, institution, purpose, subject = call
            wire = await as_institution(registry, institution, purpose, subject)
            leaked = {s for s in EVERY_SECRET if s in wire}
        else:
            _, subject, what = call
            wire = await as_subject(registry, subject, what)
            leaked = {s for s in EVERY_SECRET - CREDITOR_SECRETS[subject] if s in wire}
        assert not leaked, (call, leaked)
    # A copy letter shows what the asker got (DOM-13): no account id, and names only as the asker's.
    letters = "".join(p.read_text() for p in registry.mailbox.rglob("*.txt"))
    assert not {a for a in ("ACC-001", "CARD-7", "CHARGE-3", "VIDDA-CB") if a in letters}
