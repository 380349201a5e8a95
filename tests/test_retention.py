"""Nothing kept longer than allowed (DOM-7, §10): each service's retention rules, with the durations its settings
default to, delete (or erase) exactly what has expired and nothing else. The clock is moved by ageing rows; the rules
run as the services' housekeeping runs them, with each service's own database role."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
import pytest
from gjeld.consent.v1 import consent_service_pb2
from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2
from gjeld.notify.v1 import notify_pb2, notify_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_consent import adapters as consent_adapters
from gjeld_consent.settings import ConsentSettings
from gjeld_ingest import adapters as ingest_adapters
from gjeld_ingest.settings import IngestSettings
from gjeld_lookup import adapters as lookup_adapters
from gjeld_lookup.settings import LookupSettings
from gjeld_notify import adapters as notify_adapters
from gjeld_notify.settings import NotifySettings
from gjeld_shared.retention import Kept, prune
from gjeld_tools.testing import (
    BANK,
    CO_BORROWER,
    PERSON,
    Registry,
    customer_list,
    demo_changes,
    eventually,
    grant,
    look_up,
    reason,
    report_demo,
    service_engine,
    submit_customer_list,
)


def days(settings: Any, name: str) -> timedelta:
    return timedelta(days=settings.model_fields[name].default)


RULES: dict[str, list[Kept]] = {
    "consent": consent_adapters.retention(days(ConsentSettings, "consent_retention_days")),
    "lookup": lookup_adapters.retention(
        *(
            days(LookupSettings, n)
            for n in (
                "disclosed_content_days",
                "disclosure_retention_days",
                "relayed_letter_days",
                "set_aside_letter_days",
            )
        )
    ),
    "notify": notify_adapters.retention(
        days(NotifySettings, "notice_retention_days"), days(NotifySettings, "institution_notice_retention_days")
    ),
    "ingest": ingest_adapters.retention(
        *(
            days(IngestSettings, n)
            for n in ("delivery_retention_days", "rejection_retention_days", "correction_retention_days")
        )
    ),
}


async def run(registry: Registry, service: str) -> dict[str, int]:
    engine = service_engine(registry.socket, service, registry.database)
    try:
        return await prune(engine, RULES[service])
    finally:
        await engine.dispose()


async def age(registry: Registry, table: str, column: str, interval: str, where: str) -> None:
    await registry.fetch(f"UPDATE {table} SET {column} = now() - interval '{interval}' WHERE {where}")


async def ids(registry: Registry, sql: str) -> list[str]:
    return sorted(str(r[0]) for r in await registry.fetch(sql))


async def test_lookups_records_and_letters_are_kept_as_long_as_allowed(registry: Registry) -> None:
    await report_demo(registry)
    await grant(registry, max_uses=5)
    first = (await look_up(registry, request_id="retry-1")).disclosure.id
    second = (await look_up(registry, request_id="retry-2")).disclosure.id
    await eventually(
        lambda: ids(registry, "SELECT disclosure_id FROM lookup.notice_outbox WHERE relay_time IS NOT NULL")
    )
    assert await run(registry, "lookup") == dict.fromkeys((r.what for r in RULES["lookup"]), 0)  # nothing yet

    # 31 days on: the first answer's amounts (and its request id) are erased; the record stays.
    await age(registry, "lookup.disclosures", "disclose_time", "31 days", f"id = '{first}'")
    assert (await run(registry, "lookup"))["the content of a disclosure (the answer: every amount)"] == 1
    rows = await registry.fetch("SELECT id::text, disclosed, request_id FROM lookup.disclosures ORDER BY id")
    kept = {r["id"]: (bytes(r["disclosed"]), r["request_id"]) for r in rows}
    assert kept[first] == (b"", "retry-1") and kept[second][0] and kept[second][1] == "retry-2"
    # A retry of it is told the answer is gone (not answered anew, nor answered with nothing).
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await look_up(registry, request_id="retry-1")
    assert gone.value.code() == grpc.StatusCode.FAILED_PRECONDITION and reason(gone.value) == "ANSWER_NO_LONGER_KEPT"
    # Two years on: the record is gone; the second, young one stays.
    await age(registry, "lookup.disclosures", "disclose_time", "731 days", f"id = '{first}'")
    await run(registry, "lookup")
    assert await ids(registry, "SELECT id FROM lookup.disclosures") == [second]
    # A letter handed to notify 8 days ago is gone from the outbox; the other stays until its week is up.
    await age(registry, "lookup.notice_outbox", "relay_time", "8 days", f"disclosure_id = '{second}'")
    assert (await run(registry, "lookup"))["copy letters handed to notify"] == 1
    assert await ids(registry, "SELECT disclosure_id FROM lookup.notice_outbox") == [first]


async def test_notifys_notices_are_kept_13_months(registry: Registry) -> None:
    await report_demo(registry)
    await grant(registry, max_uses=5)
    await look_up(registry, reference="A")
    await look_up(registry, reference="B")

    async def notices() -> list[str]:
        reply = await registry.notify().ListOwnNotices(
            notify_service_pb2.ListOwnNoticesRequest(), metadata=registry.as_subject(PERSON)
        )
        return [n.id for n in reply.notices if n.state == notify_pb2.NOTICE_STATE_DELIVERED]

    old, young = sorted(await eventually(lambda: _two(notices)))
    await age(registry, "notify.notices", "create_time", "397 days", f"id = '{old}'")
    done = await run(registry, "notify")
    assert done["notices to persons"] == 1 and done["the letters of a notice"] == 1
    assert await ids(registry, "SELECT id FROM notify.notices") == [young]
    assert await ids(registry, "SELECT notice_id FROM notify.notice_sources") == [young]


async def _two(listing: Any) -> list[str] | None:
    found: list[str] = await listing()
    return found if len(found) == 2 else None


async def test_ingests_receipts_rejections_and_resolved_corrections(registry: Registry) -> None:
    await report_demo(registry, "kept")
    bad = [c for c in demo_changes()]
    bad[0].register.account_id = ""  # one bad record, left out of a partial delivery
    partial = await registry.ingest().ReportDebtChanges(
        ingest_service_pb2.ReportDebtChangesRequest(
            request_id="old", changes=bad, strictness=ingest_pb2.STRICTNESS_PARTIAL
        ),
        metadata=registry.as_institution(BANK),
    )
    old = partial.delivery.id
    asked = await registry.ingest().RequestCorrection(
        ingest_service_pb2.RequestCorrectionRequest(
            creditor=identity_pb2.OrganizationNumber(value=BANK), account_id="CARD-7", reason="Feil."
        ),
        metadata=registry.as_subject(PERSON),
    )
    await registry.ingest().AnswerCorrectionRequest(
        ingest_service_pb2.AnswerCorrectionRequestRequest(
            id=asked.correction_request.id, rejected=ingest_service_pb2.CorrectionRejected(reason="Riktig.")
        ),
        metadata=registry.as_institution(BANK),
    )
    open_one = await registry.ingest().RequestCorrection(
        ingest_service_pb2.RequestCorrectionRequest(
            creditor=identity_pb2.OrganizationNumber(value=BANK), account_id="ACC-001", reason="Feil."
        ),
        metadata=registry.as_subject(PERSON),
    )
    assert set((await run(registry, "ingest")).values()) == {0}

    # 91 days on: the rejected records go, the receipt stays; 397 days on, the receipt too.
    await age(registry, "ingest.deliveries", "receive_time", "91 days", f"id = '{old}'")
    assert (await run(registry, "ingest"))["rejected records of a delivery"] == 1
    assert await ids(registry, "SELECT delivery_id FROM ingest.rejections") == []
    await age(registry, "ingest.deliveries", "receive_time", "397 days", f"id = '{old}'")
    assert (await run(registry, "ingest"))["delivery receipts"] == 1
    assert len(await ids(registry, "SELECT id FROM ingest.deliveries")) == 1
    # A correction resolved two years ago goes with its events; an open one stays, however old.
    await age(registry, "ingest.correction_requests", "resolve_time", "731 days", "resolve_time IS NOT NULL")
    await age(registry, "ingest.correction_requests", "create_time", "800 days", "resolve_time IS NULL")
    done = await run(registry, "ingest")
    assert (
        done["resolved correction requests"] == 1 and done["events of resolved correction requests"] == 3
    )  # received, rejected, and the outcome
    assert await ids(registry, "SELECT id FROM ingest.correction_requests") == [open_one.correction_request.id]
    assert await ids(registry, "SELECT DISTINCT correction_id FROM ingest.correction_events") == [
        open_one.correction_request.id
    ]


async def test_ended_consents_are_kept_two_years_after_they_end(registry: Registry) -> None:
    await report_demo(registry)
    withdrawn = await grant(registry, max_uses=2)
    await look_up(registry)  # a use
    await registry.consent().WithdrawConsent(
        consent_service_pb2.WithdrawConsentRequest(consent_id=withdrawn.id), metadata=registry.as_subject(PERSON)
    )
    standing = await grant(registry, days=28)
    # An identity-theft flag goes once it has ended; one that stands stays.
    for subject in (PERSON, CO_BORROWER):
        await registry.consent().PlaceIdentityTheftFlag(
            consent_service_pb2.PlaceIdentityTheftFlagRequest(), metadata=registry.as_subject(subject)
        )
    await age(registry, "consent.identity_theft_flags", "end_time", "90 days 1 second", "create_time = create_time")
    await registry.consent().PlaceIdentityTheftFlag(
        consent_service_pb2.PlaceIdentityTheftFlagRequest(), metadata=registry.as_subject(CO_BORROWER)
    )
    # Withdrawn 731 days ago: gone with its use. The standing one, however old its creation, stays.
    await age(registry, "consent.consents", "withdraw_time", "731 days", f"id = '{withdrawn.id}'")
    await age(registry, "consent.consents", "create_time", "900 days", f"id = '{standing.id}'")
    done = await run(registry, "consent")
    assert done == {"the uses of ended consents": 1, "ended consents": 1, "identity-theft flags past their end": 1}
    assert await ids(registry, "SELECT id FROM consent.consents") == [standing.id]
    # Expired 731 days ago: gone too.
    await age(registry, "consent.consents", "expire_time", "731 days", f"id = '{standing.id}'")
    assert (await run(registry, "consent"))["ended consents"] == 1


async def test_a_score_model_orders_record_goes_two_years_after_its_package(registry: Registry) -> None:
    from gjeld.lookup.v1 import lookup_service_pb2
    from gjeld_shared.callers import SCOPE_EXTRACT

    await report_demo(registry)
    order = await submit_customer_list(registry, BANK, customer_list(PERSON))
    await registry.lookup().RunExtractRound(
        lookup_service_pb2.RunExtractRoundRequest(), metadata=registry.as_operator()
    )
    await age(registry, "lookup.extract_orders", "submit_time", "731 days", f"id = '{order.id}'")
    assert (await run(registry, "lookup"))["score-model order records"] == 0  # delivered: its package still held
    await registry.lookup().ConfirmExtractDeletion(
        lookup_service_pb2.ConfirmExtractDeletionRequest(order_id=order.id),
        metadata=registry.as_institution(BANK, scopes=(SCOPE_EXTRACT,)),
    )
    assert (await run(registry, "lookup"))["score-model order records"] == 1
    assert await ids(registry, "SELECT id FROM lookup.extract_orders") == []
