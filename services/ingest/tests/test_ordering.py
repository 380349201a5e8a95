"""Old data never wins (DOM-7, DOM-8): deliveries that arrive out of order, through real gRPC on a real database.

A late or retried older report does not overwrite newer data; a snapshot deletes only debts whose data is no newer
than the snapshot; a close carries its time, is left out when older than the data held, and leaves a tombstone so
that a late report extracted before it cannot bring the debt back."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_tools.testing import BANK, PERSON, Registry, deliver_snapshot, demo_changes

pb = ingest_service_pb2


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 6, 25, hour, minute, tzinfo=UTC)


def card(account: str, extracted: datetime, balance: int = 100_000) -> ingest_pb2.Debt:
    """PERSON's credit card `account`, as extracted at `extracted`, with this interest-bearing balance."""
    debt = next(c.register for c in demo_changes() if c.register.account_id == "CARD-7")
    debt.account_id = account
    debt.extract_time.FromDatetime(extracted)
    debt.credit_facility.interest_bearing_balance.minor_units = balance
    return debt


def close(account: str, closed: datetime | None) -> ingest_pb2.DebtChange:
    key = ingest_pb2.DebtKey(account_id=account, debtor=identity_pb2.NationalIdentityNumber(value=PERSON))
    if closed is not None:
        key.close_time.FromDatetime(closed)
    return ingest_pb2.DebtChange(close=key)


async def report(registry: Registry, *changes: Any) -> ingest_pb2.Delivery:
    wrapped = [c if isinstance(c, ingest_pb2.DebtChange) else ingest_pb2.DebtChange(register=c) for c in changes]
    reply = await registry.ingest().ReportDebtChanges(
        pb.ReportDebtChangesRequest(request_id=uuid.uuid4().hex, changes=wrapped),
        metadata=registry.as_institution(BANK),
    )
    return reply.delivery


async def held(registry: Registry) -> dict[str, tuple[int, datetime]]:
    """The bank's debts as the register holds them: balance and extract time by account."""
    reply = await registry.ingest().ListDebts(pb.ListDebtsRequest(), metadata=registry.as_institution(BANK))
    return {
        d.account_id: (d.credit_facility.interest_bearing_balance.minor_units, d.extract_time.ToDatetime(UTC))
        for d in reply.debts
    }


@pytest.fixture
async def registry(services: Any) -> Registry:
    suite: Registry = await services("ingest")
    return suite


async def test_an_older_report_never_overwrites_newer_data(registry: Registry) -> None:
    await report(registry, card("C-1", at(6), balance=600))
    late = await report(registry, card("C-1", at(5), balance=500))  # extracted earlier, arriving later
    assert (late.registered_count, late.outdated_count) == (0, 1)
    assert (await held(registry))["C-1"] == (600, at(6))
    same = await report(registry, card("C-1", at(6), balance=601))  # the same moment again: the later report wins
    assert same.registered_count == 1 and (await held(registry))["C-1"] == (601, at(6))
    newer = await report(registry, card("C-1", at(7), balance=700))
    assert (newer.registered_count, newer.outdated_count) == (1, 0)
    assert (await held(registry))["C-1"] == (700, at(7))


async def test_a_snapshot_deletes_only_what_is_no_newer_than_itself(registry: Registry) -> None:
    await deliver_snapshot(registry, BANK, [card("A", at(4)), card("B", at(4))], extract_time=at(4))
    await report(registry, card("C", at(5, 10)))  # pushed at 05:10
    # The 05:00 snapshot, applied at 05:30, holds A only: B is gone, C (newer than the snapshot) stays.
    applied = await deliver_snapshot(registry, BANK, [card("A", at(5))], extract_time=at(5))
    assert applied.delivery.absent_count == 1
    assert sorted(await held(registry)) == ["A", "C"]
    # A snapshot that arrives after a newer one changes nothing newer: A keeps its 05:00 data.
    stale = await deliver_snapshot(registry, BANK, [card("A", at(4, 30), balance=1)], extract_time=at(4, 30))
    assert stale.delivery.outdated_count == 1 and stale.delivery.absent_count == 0
    assert (await held(registry))["A"] == (100_000, at(5))


async def test_a_close_carries_its_time_and_a_late_report_cannot_bring_the_debt_back(registry: Registry) -> None:
    await report(registry, card("D", at(5)))
    closed = await report(registry, close("D", at(5, 30)))
    assert closed.closed_count == 1 and "D" not in await held(registry)
    # A report extracted before the close, arriving after it: the debt stays closed.
    late = await report(registry, card("D", at(5, 20)))
    assert (late.registered_count, late.outdated_count) == (0, 1) and "D" not in await held(registry)
    # Reopened after the close: registered.
    reopened = await report(registry, card("D", at(6)))
    assert reopened.registered_count == 1 and "D" in await held(registry)
    # A close older than the data held is left out: the debt stays.
    old_close = await report(registry, close("D", at(5, 45)))
    assert (old_close.closed_count, old_close.outdated_count) == (0, 1) and "D" in await held(registry)


async def test_a_close_that_overtakes_its_report_is_remembered(registry: Registry) -> None:
    # The close (05:30) arrives before the report (05:00) it closes: nothing to delete, but the report stays out.
    early = await report(registry, close("E", at(5, 30)))
    assert early.unknown_close_count == 1
    late = await report(registry, card("E", at(5)))
    assert late.outdated_count == 1 and "E" not in await held(registry)


async def test_tombstones_are_forgotten_when_they_expire(registry: Registry) -> None:
    await report(registry, card("F", at(5)))
    await report(registry, close("F", at(5, 30)))
    # Move the clock past the tombstone's life: a report, however old, is taken again.
    await registry.fetch("UPDATE ingest.tombstones SET expire_time = now() - interval '1 second'")
    taken = await report(registry, card("F", at(5, 20)))
    assert taken.registered_count == 1 and "F" in await held(registry)
    assert await registry.fetch("SELECT 1 FROM ingest.tombstones") == []


async def test_a_close_without_a_time_is_taken_at_its_receipt(registry: Registry) -> None:
    await report(registry, card("G", at(5)))
    assert (await report(registry, close("G", None))).closed_count == 1
    # Any report extracted before the close arrived is older than it.
    assert (await report(registry, card("G", at(6)))).outdated_count == 1
