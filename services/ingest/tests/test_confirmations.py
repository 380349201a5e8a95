"""A daily snapshot confirms the debts it leaves unchanged without rewriting them (DOM-7, DOM-8), through real gRPC on
a real database: an unchanged debt's row keeps its version (xmin) and place (ctid), yet reads as extracted and
confirmed by the snapshot; a debt written after the snapshot, or handed over from another institution, is never
passed off as confirmed by it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_tools.testing import BANK, LENDER, Registry, deliver_snapshot

from .test_ordering import at, card
from .test_ordering import registry as registry  # the fixture: ingest alone

pb = ingest_service_pb2


async def versions(registry: Registry, creditor: str = BANK) -> dict[str, tuple[str, str]]:
    """Each debt row's version and place: both change whenever the row is rewritten."""
    rows = await registry.fetch(
        f"SELECT account_id, xmin::text AS version, ctid::text AS place FROM ingest.debts WHERE creditor = '{creditor}'"
    )
    return {r["account_id"]: (r["version"], r["place"]) for r in rows}


async def held(registry: Registry, creditor: str = BANK) -> dict[str, tuple[int, datetime, datetime]]:
    """The institution's debts as it reads them back: balance, extract time and confirm time by account."""
    reply = await registry.ingest().ListDebts(pb.ListDebtsRequest(), metadata=registry.as_institution(creditor))
    return {
        d.account_id: (
            d.credit_facility.interest_bearing_balance.minor_units,
            d.extract_time.ToDatetime(UTC),
            d.confirm_time.ToDatetime(UTC),
        )
        for d in reply.debts
    }


async def test_a_snapshot_that_changes_nothing_about_a_debt_does_not_rewrite_it(registry: Registry) -> None:
    await deliver_snapshot(registry, BANK, [card("A", at(4)), card("B", at(4))], extract_time=at(4))
    before = await versions(registry)
    first = await held(registry)
    # The next day's file: A as it was, B's balance moved.
    reply = await deliver_snapshot(registry, BANK, [card("A", at(5)), card("B", at(5), 1)], extract_time=at(5))
    assert (reply.delivery.registered_count, reply.delivery.outdated_count, reply.delivery.absent_count) == (2, 0, 0)
    after = await versions(registry)
    assert after["A"] == before["A"], "a debt the snapshot did not change was rewritten"
    assert after["B"] != before["B"]
    now = await held(registry)
    # Both read as the 05:00 snapshot's data, confirmed when it was applied (later than the first snapshot).
    assert now["A"][:2] == (100_000, at(5)) and now["B"][:2] == (1, at(5))
    assert now["A"][2] == now["B"][2] > first["A"][2]


async def test_the_same_snapshot_sent_again_rewrites_nothing_and_confirms_nothing(registry: Registry) -> None:
    debts = [card("A", at(5)), card("B", at(5))]
    await deliver_snapshot(registry, BANK, debts, extract_time=at(5))
    before, first = await versions(registry), await held(registry)
    again = await deliver_snapshot(registry, BANK, debts, extract_time=at(5))  # under a new request id
    assert again.delivery.registered_count == 2
    assert await versions(registry) == before
    assert await held(registry) == first  # no fresher than when it was extracted (DOM-8)


async def test_a_debt_written_after_a_snapshot_is_not_passed_off_as_confirmed_by_it(registry: Registry) -> None:
    await deliver_snapshot(registry, BANK, [card("A", at(5))], extract_time=at(5))
    # A late push of a debt the 05:00 snapshot did not hold, extracted at 04:30: its own time, not the snapshot's.
    late = ingest_pb2.DebtChange(register=card("L", at(4, 30)))
    await registry.ingest().ReportDebtChanges(
        pb.ReportDebtChangesRequest(request_id=uuid.uuid4().hex, changes=[late]),
        metadata=registry.as_institution(BANK),
    )
    debts = await held(registry)
    assert debts["A"][1] == at(5) and debts["L"][1] == at(4, 30)
    assert debts["L"][2] > debts["A"][2]


async def test_handed_over_debts_keep_the_givers_confirmation_not_the_receivers(registry: Registry) -> None:
    await deliver_snapshot(registry, BANK, [card("H", at(5))], extract_time=at(5))
    await deliver_snapshot(registry, LENDER, [card("R", at(6))], extract_time=at(6))
    handover = await registry.ingest().ProposeHandover(
        pb.ProposeHandoverRequest(receiver=identity_pb2.OrganizationNumber(value=LENDER)),
        metadata=registry.as_institution(BANK),
    )
    await registry.ingest().AcceptHandover(
        pb.AcceptHandoverRequest(id=handover.handover.id), metadata=registry.as_institution(LENDER)
    )
    debts = await held(registry, LENDER)
    # H was confirmed by the giver's 05:00 snapshot; the receiver's 06:00 snapshot never held it.
    assert debts["H"][1] == at(5) and debts["R"][1] == at(6)
    # The receiver's next snapshot holds both, unchanged: it confirms both without rewriting either.
    before = await versions(registry, LENDER)
    await deliver_snapshot(registry, LENDER, [card("H", at(7)), card("R", at(7))], extract_time=at(7))
    assert await versions(registry, LENDER) == before
    assert {a: d[1] for a, d in (await held(registry, LENDER)).items()} == {"H": at(7), "R": at(7)}
