"""Every delivery stages its records in one shared table, `ingest.staged_records` (migration 0009; the form a
distributed register needs): a delivery sees only its own records there, and none are left once it commits or fails.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from gjeld_ingest.adapters import staged_records
from gjeld_ingest.domain import DeliveryKind
from gjeld_ingest.staging import STAGED_COLUMNS, VACUUM_FROM, DeliveryUnitOfWork
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


async def staged_count(connection: asyncpg.Connection) -> int:
    count: int = await connection.fetchval("SELECT count(*) FROM ingest.staged_records")
    return count


def test_the_staged_row_is_the_tables_row() -> None:
    assert tuple(staged_records.c.keys()) == STAGED_COLUMNS


async def test_deliveries_staged_at_once_see_only_their_own_records(postgres: str, database: str) -> None:
    engine = service_engine(postgres, "ingest", database)
    admin = await asyncpg.connect(host=postgres, user="postgres", database=database)
    shared = [f"ACC-{n}" for n in range(5)]
    try:
        with pytest.raises(RuntimeError, match="the stream broke"):
            async with DeliveryUnitOfWork(engine) as failing:
                await failing.staging.add(records(shared))
                await failing.staging.flush()

                # Meanwhile another institution's delivery of the same accounts and debtors (where the first one's
                # records would be duplicates) is staged, checked, merged and committed.
                async with DeliveryUnitOfWork(engine) as other:
                    await other.staging.add(records([*shared, "ACC-LENDER"]))
                    assert await other.staging.duplicates(100) == []
                    assert await other.staging.handed_over(LENDER, 100) == []
                    merged = await other.staging.merge(LENDER, DeliveryKind.CHANGES, None, TOMBSTONE_LIFE)
                    assert merged.registered == len(shared) + 1
                    await other.commit()

                # The committed delivery's records are gone; the first one still sees its own five, and only them.
                assert await staged_count(admin) == 0
                assert await failing.staging.duplicates(100) == []
                assert await failing.staging.drop(range(10)) == (5, 0)  # (registrations, closes) it left out
                raise RuntimeError("the stream broke")

        # The failed delivery rolled back with its records; the other one's debts are in the register, once each.
        assert await staged_count(admin) == 0
        held = await admin.fetch("SELECT creditor, count(*) AS n FROM ingest.debts GROUP BY creditor")
        assert {r["creditor"]: r["n"] for r in held} == {LENDER: len(shared) + 1}

        async with DeliveryUnitOfWork(engine) as snapshot:
            await snapshot.staging.add(records(shared))
            merged = await snapshot.staging.merge(BANK, DeliveryKind.SNAPSHOT, EXTRACTED, TOMBSTONE_LIFE)
            assert merged.registered == len(shared)
            await snapshot.commit()
        assert await staged_count(admin) == 0
    finally:
        await admin.close()
        await engine.dispose()


async def test_a_large_delivery_makes_room_again_where_its_records_were(postgres: str, database: str) -> None:
    """Another delivery's statements read through every page of the staging table (its rows are not indexed): the
    pages a large delivery filled are vacuumed when it commits, not left to autovacuum's next round."""
    engine = service_engine(postgres, "ingest", database)
    admin = await asyncpg.connect(host=postgres, user="postgres", database=database)
    try:
        async with DeliveryUnitOfWork(engine) as delivery:
            await delivery.staging.add(records([f"ACC-{n}" for n in range(VACUUM_FROM)]))
            await delivery.staging.merge(BANK, DeliveryKind.SNAPSHOT, EXTRACTED, TOMBSTONE_LIFE)
            await delivery.staging.flush()
            assert await admin.fetchval("SELECT pg_relation_size('ingest.staged_records')") > 0
            await delivery.commit()
        # Vacuum found every page empty and gave them back (a table's empty end is truncated).
        assert await admin.fetchval("SELECT pg_relation_size('ingest.staged_records')") == 0
    finally:
        await admin.close()
        await engine.dispose()
