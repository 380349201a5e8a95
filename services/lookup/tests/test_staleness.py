"""Data its creditor no longer confirms (a daily snapshot missed) is never passed off as current (DOM-8): marked stale
to lenders and the person, and after the operator's limit no longer shown to lenders. Through real gRPC, the four
services running, the clock moved by ageing the data in the register."""

from __future__ import annotations

from datetime import UTC, datetime

from gjeld.ingest.v1 import ingest_service_pb2
from gjeld.lookup.v1 import lookup_service_pb2
from gjeld_tools.testing import BANK, PERSON, Registry, demo_changes, grant, look_up, report_demo


async def age(registry: Registry, account: str, interval: str) -> None:
    await registry.fetch(
        f"UPDATE ingest.debts SET confirm_time = now() - interval '{interval}' WHERE account_id = '{account}'"
    )


async def test_old_data_is_marked_then_withheld_from_lenders_and_always_shown_to_the_person(
    registry: Registry,
) -> None:
    await report_demo(registry)
    await grant(registry, max_uses=12)
    await age(registry, "CARD-7", "2 days")  # past the 36 hours: stale
    answer = await look_up(registry)
    assert sorted((d.WhichOneof("terms"), d.stale) for d in answer.debts) == [
        ("charge_card", False),
        ("credit_facility", True),
        ("repayment_loan", False),
    ]
    assert answer.withheld_stale_count == 0

    await age(registry, "CARD-7", "8 days")  # past the 7 days: lenders are no longer shown it
    answer = await look_up(registry)
    assert sorted(d.WhichOneof("terms") for d in answer.debts) == ["charge_card", "repayment_loan"]
    assert answer.withheld_stale_count == 1
    assert [t.debt_count for t in answer.totals if t.debt_type == 2] == []  # nor counted in the totals

    own = await registry.lookup().GetOwnDebt(
        lookup_service_pb2.GetOwnDebtRequest(), metadata=registry.as_subject(PERSON)
    )
    assert sorted((d.account_id, d.stale) for d in own.debts) == [
        ("ACC-001", False),
        ("CARD-7", True),
        ("CHARGE-3", False),
    ]
    # The same data sent again (under a new request id) confirms nothing: it is as old as it was.
    await report_demo(registry, "sent-again")
    assert (await look_up(registry)).withheld_stale_count == 1
    # Newer data confirms it again.
    fresh = [c for c in demo_changes() if c.register.account_id == "CARD-7"]
    fresh[0].register.extract_time.FromDatetime(datetime.now(UTC))
    await registry.ingest().ReportDebtChanges(
        ingest_service_pb2.ReportDebtChangesRequest(request_id="newer", changes=fresh),
        metadata=registry.as_institution(BANK),
    )
    assert not any(d.stale for d in (await look_up(registry)).debts)
