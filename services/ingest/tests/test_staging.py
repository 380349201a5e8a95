"""Every delivery stages its records in a real table (migration 0009; the form a distributed register needs), a slot
of its own: deliveries at once take different slots, a delivery sees only its own records, and none are left once it
commits or fails."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from gjeld_ingest.adapters import staging_slots
from gjeld_ingest.domain import DeliveryKind
from gjeld_ingest.staging import STAGED_COLUMNS, STAGING_SLOTS, DeliveryUnitOfWork, slot_table
from gjeld_tools.testing import BANK, LENDER, service_engine

EXTRACTED = datetime(2026, 11, 30, 6, tzinfo=UTC)
TOMBSTONE_LIFE = timedelta(days=7)
# A repayment loan's columns, from original_balance to extract_time.
LOAN = (100_000, 90_000, 24, None, None, None, 500, 520, None, None, EXTRACTED)


def records(accounts: Sequence[str]) -> list[tuple[Any, ...]]:
    """Staged registrations (in STAGED_COLUMNS order), one debtor each."""
    return [
        (position, False, account, f"debtor-{account}".encode(), b"sealed", "sole_debtor", "repayment_loan", *LOAN)
        for position, account in enumerate(accounts)
    ]


async def staged_count(connection: asyncpg.Connection, slots: Sequence[int] = range(1, STAGING_SLOTS + 1)) -> int:
    """Records in these slots (every one: only when no delivery holds one), as any other session sees them."""
    union = " UNION ALL ".join(f"SELECT count(*) AS n FROM ingest.{slot_table(slot)}" for slot in slots)
    count: int = await connection.fetchval(f"SELECT sum(n) FROM ({union}) AS slots")
    return count


def test_every_slot_holds_the_staged_row() -> None:
    assert len(staging_slots) == STAGING_SLOTS
    assert {tuple(t.c.keys()) for t in staging_slots} == {STAGED_COLUMNS}


async def test_deliveries_at_once_stage_apart_and_leave_nothing(postgres: str, database: str) -> None:
    engine = service_engine(postgres, "ingest", database)
    admin = await asyncpg.connect(host=postgres, user="postgres", database=database)
    shared = [f"ACC-{n}" for n in range(5)]
    try:
        with pytest.raises(RuntimeError, match="the stream broke"):
            async with DeliveryUnitOfWork(engine) as failing:
                await failing.staging.add(records(shared))
                await failing.staging.flush()

                # Meanwhile another institution's delivery of the same accounts and debtors (where the first one's
                # records would be duplicates) is staged in another slot, checked, merged and committed.
                async with DeliveryUnitOfWork(engine) as other:
                    await other.staging.add(records([*shared, "ACC-LENDER"]))
                    assert other.staging.slot != failing.staging.slot
                    assert await other.staging.duplicates(100) == []
                    assert await other.staging.handed_over(LENDER, 100) == []
                    merged = await other.staging.merge(LENDER, DeliveryKind.CHANGES, None, TOMBSTONE_LIFE)
                    assert merged.registered == len(shared) + 1
                    await other.commit()

                # The committed delivery's records are gone; the first one still sees its own five, and only them.
                assert other.staging.slot is not None
                assert await staged_count(admin, [other.staging.slot]) == 0
                assert await failing.staging.duplicates(100) == []
                assert await failing.staging.drop(range(10)) == (5, 0)  # (registrations, closes) it left out
                raise RuntimeError("the stream broke")

        # The failed delivery rolled back with its records; the other one's debts are in the register, once each.
        assert await staged_count(admin) == 0
        held = await admin.fetch("SELECT creditor, count(*) AS n FROM ingest.debts GROUP BY creditor")
        assert {r["creditor"]: r["n"] for r in held} == {LENDER: len(shared) + 1}

        async with DeliveryUnitOfWork(engine) as snapshot:
            await snapshot.staging.add(records(shared))
            await snapshot.staging.analyze()
            merged = await snapshot.staging.merge(BANK, DeliveryKind.SNAPSHOT, EXTRACTED, TOMBSTONE_LIFE)
            assert merged.registered == len(shared)
            await snapshot.commit()
        assert await staged_count(admin) == 0
    finally:
        await admin.close()
        await engine.dispose()


async def test_a_delivery_beyond_the_slots_waits_for_one(postgres: str, database: str) -> None:
    """Deliveries at once beyond the slots wait for one to be given back: never two in one slot, never refused."""
    engine = service_engine(postgres, "ingest", database)
    try:
        holding = [DeliveryUnitOfWork(engine) for _ in range(STAGING_SLOTS)]
        for uow in holding:
            await uow.__aenter__()
            await uow.staging.add(records(["ACC-1"]))
        assert sorted(uow.staging.slot for uow in holding) == list(range(1, STAGING_SLOTS + 1))

        async def one_more() -> int | None:
            async with DeliveryUnitOfWork(engine) as late:
                await late.staging.add(records(["ACC-2"]))
                return late.staging.slot

        waiting = asyncio.ensure_future(one_more())
        await asyncio.sleep(0.5)
        assert not waiting.done()
        given_back = holding.pop()
        await given_back.__aexit__(None, None, None)  # rolled back: its slot is free
        assert await asyncio.wait_for(waiting, 10) == given_back.staging.slot
        for uow in holding:
            await uow.__aexit__(None, None, None)
    finally:
        await engine.dispose()
