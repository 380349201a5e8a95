"""A delivery on its way into the register, on the hot path (raw asyncpg, hand-written SQL).

A delivery of any size is copied, part by part, into the staging table inside one transaction; when it is complete it
is checked as a whole (duplicates, debts handed over to another institution) and merged into `ingest.debts` with a
few set-based statements. The transaction is the atomicity: a stream that breaks rolls it back and the register never
saw it; lookups read the register by MVCC and see the delivery all at once or not at all (DOM-8). The staging table
lives in PostgreSQL, not in this process, so memory stays flat however large the delivery.

The staging tables are real tables (UNLOGGED), not temporary ones: on Citus they are distributed like the register,
which a MERGE's source must be (docs/production-layout.md). There are STAGING_SLOTS of them, `ingest.staged_records_01`
to `_16`, and a delivery takes one for its transaction alone (an advisory lock), so that it reads only its own rows
and may analyse them: it empties its slot before it commits (TRUNCATE, in its transaction), so no other transaction
ever sees its records, and a delivery that fails rolls them back with everything else (its rows, dead, are read
through once by the slot's next delivery and go with that one's TRUNCATE).
"""

from __future__ import annotations

import asyncio
import functools
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from gjeld_shared.unit_of_work import UnitOfWork
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .domain import (
    OUTCOMES_FEED,
    CreditFacility,
    Debt,
    DebtKey,
    DeliveryKind,
    RepaymentLoan,
    Strictness,
    Terms,
)

# The staged record: its position in the delivery, whether it closes a debt, and the debt's columns.
STAGED_COLUMNS = (
    "position",
    "closing",
    "account_id",
    "debtor_index",
    "debtor_encrypted",
    "co_borrower_role",
    "debt_type",
    "original_balance",
    "balance",
    "remaining_term_months",
    "credit_limit",
    "interest_bearing_balance",
    "non_interest_bearing_balance",
    "nominal_interest_rate_bp",
    "effective_interest_rate_bp",
    "installment_charges",
    "installment_charge_period",
    "extract_time",
)
DEBT_COLUMNS = STAGED_COLUMNS[2:]
_VALUES = ", ".join(DEBT_COLUMNS)
# What a debt's data is: a record that changes none of it rewrites nothing (the ciphertext of the debtor differs each
# time it is made, the debtor's blind index does not).
DATA_COLUMNS = DEBT_COLUMNS[3:-1]
_CHANGED = (
    f"({', '.join(f'd.{c}' for c in DATA_COLUMNS)}) IS DISTINCT FROM ({', '.join(f's.{c}' for c in DATA_COLUMNS)})"
)


def held_extract_time(extract: int, confirm: int) -> str:
    """SQL: when the data held for debt `d` was extracted: its own extract time, or that of its creditor's latest
    snapshot (extract time in parameter `extract`, applied at parameter `confirm`) when that snapshot confirmed it."""
    return f"greatest(d.extract_time, CASE WHEN d.write_time <= ${confirm} THEN ${extract}::timestamptz END)"


def held_confirm_time(extract: int, confirm: int) -> str:
    """SQL: when the creditor last confirmed debt `d` (as held_extract_time)."""
    return (
        f"CASE WHEN d.write_time <= ${confirm} AND d.extract_time <= ${extract} THEN ${confirm}::timestamptz"
        " ELSE d.confirm_time END"
    )


# The staging slots: each delivery takes one for its transaction (TAKE_SLOT), so deliveries at once
# never read each other's pages and each may analyse its own rows. As many as the deliveries the ingest replicas take
# at once (max_concurrent_deliveries each): a delivery beyond them waits for a slot, it is never refused.
STAGING_SLOTS = 16
# The statements below name the first slot; a delivery runs them on its own (`Staging.sql`).
STAGED = "ingest.staged_records_01"
TAKE_SLOT = "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))"
SLOT_RETRY_SECONDS = 0.05
# A slot is emptied before its delivery commits: nothing it staged outlives its transaction. (TRUNCATE takes the
# table's exclusive lock until the commit; a session reading the slot meanwhile, an operator's, waits for it.)
EMPTY_STAGED = "TRUNCATE ingest.staged_records_01"
# Every delivery analyses its slot before the merge (its own rows only: the slot is its). Always, however few: a slot
# keeps the statistics of the last delivery analysed in it, and a few pushed changes planned with a snapshot's
# statistics were joined as a snapshot is (the institution's debts read whole: 3x slower in make bench-ingest).
ANALYZE_STAGED = "ANALYZE ingest.staged_records_01"
# The same account and debtor twice in one delivery: which record is right cannot be known.
FIND_DUPLICATES = """
SELECT array_agg(position ORDER BY position) AS positions
FROM ingest.staged_records_01 GROUP BY account_id, debtor_index HAVING count(*) > 1
ORDER BY min(position) LIMIT $1
"""
FIND_HANDED_OVER = """
SELECT s.position FROM ingest.staged_records_01 s
JOIN ingest.handed_over h ON h.giver = $1 AND h.account_id = s.account_id AND h.debtor_index = s.debtor_index
ORDER BY s.position LIMIT $2
"""
DROP_STAGED = "DELETE FROM ingest.staged_records_01 WHERE position = ANY($1::bigint[]) RETURNING closing"
# DOM-7: the new state replaces the old; no history is kept. Old data never wins: a record extracted before the
# data the registry holds for its debt, or no later than the debt's recent close, is left out. A record that changes
# nothing of the debt's data rewrites nothing: a snapshot confirms it as a whole (CONFIRM_SNAPSHOT); a pushed change
# ($5) extracted later than the data held confirms it by updating its times.
# The creditor confirms a debt with data extracted later than what is held: the same data sent again (yesterday's file
# under a new request id) confirms nothing, so it cannot make stale data look fresh (DOM-8).
# Parameters: creditor, the write time, the creditor's latest snapshot's extract and confirm times, per-record confirms,
# the transaction's time (now()).
# In a form Citus runs on a distributed `ingest.debts` (docs/production-layout.md): the ON clause joins the target's
# distribution column (debtor_index) to the source's, which the INSERT takes; no function that is not IMMUTABLE
# anywhere (Citus refuses now() in a MERGE, and a column default such as register_time's is one: every column is
# given); no subquery in a WHEN clause (the tombstone a record may meet is joined in the source instead); no CTE, no
# RETURNING.
REGISTER = f"""
MERGE INTO ingest.debts d
USING (
    SELECT r.*, t.close_time AS buried_at FROM ingest.staged_records_01 r
    LEFT JOIN ingest.tombstones t
        ON t.creditor = $1::varchar AND t.account_id = r.account_id AND t.debtor_index = r.debtor_index
    WHERE NOT r.closing) s
ON d.creditor = $1::varchar AND d.account_id = s.account_id AND d.debtor_index = s.debtor_index
WHEN MATCHED AND {held_extract_time(3, 4)} <= s.extract_time
    AND ({_CHANGED} OR ($5::boolean AND s.extract_time > {held_extract_time(3, 4)})) THEN UPDATE SET
    {", ".join(f"{c} = s.{c}" for c in DEBT_COLUMNS[2:])}, write_time = $2,
    confirm_time = CASE WHEN s.extract_time > {held_extract_time(3, 4)} THEN $6::timestamptz
        ELSE {held_confirm_time(3, 4)} END
WHEN NOT MATCHED AND (s.buried_at IS NULL OR s.buried_at < s.extract_time) THEN
    INSERT (creditor, {_VALUES}, confirm_time, write_time, register_time)
    VALUES ($1::varchar, {", ".join(f"s.{c}" for c in DEBT_COLUMNS)}, $6, $2, $6)
"""
# Of the registrations: how many the register now holds as sent or newer (the rest were older than what it held).
REGISTERED = f"""
SELECT count(*) FROM ingest.staged_records_01 s
JOIN ingest.debts d ON d.creditor = $1::varchar AND d.account_id = s.account_id AND d.debtor_index = s.debtor_index
WHERE NOT s.closing AND {held_extract_time(2, 3)} <= s.extract_time
"""
# Of the closes: those naming no debt the registry holds, and those older than the data it holds.
CLOSES_NOT_APPLIED = f"""
SELECT count(*) FILTER (WHERE d.account_id IS NULL) AS unknown,
       count(*) FILTER (WHERE {held_extract_time(2, 3)} > s.extract_time) AS outdated
FROM ingest.staged_records_01 s
LEFT JOIN ingest.debts d ON d.creditor = $1::varchar AND d.account_id = s.account_id AND d.debtor_index = s.debtor_index
WHERE s.closing
"""
# A close (its time in the staged extract_time) deletes the debt unless the registry's data is newer, and leaves a
# tombstone either way but then: a report extracted no later than the close, arriving late, cannot bring it back.
CLOSE = f"""
WITH closed AS (
    DELETE FROM ingest.debts d USING ingest.staged_records_01 s
    WHERE s.closing AND d.creditor = $1::varchar AND d.account_id = s.account_id AND d.debtor_index = s.debtor_index
      AND {held_extract_time(3, 4)} <= s.extract_time
    RETURNING d.account_id
), buried AS (
    INSERT INTO ingest.tombstones AS t (creditor, account_id, debtor_index, close_time, expire_time)
    SELECT $1::varchar, s.account_id, s.debtor_index, s.extract_time, now() + $2::interval
    FROM ingest.staged_records_01 s
    WHERE s.closing AND NOT EXISTS (
        SELECT 1 FROM ingest.debts d WHERE d.creditor = $1::varchar AND d.account_id = s.account_id
          AND d.debtor_index = s.debtor_index AND {held_extract_time(3, 4)} > s.extract_time)
    ON CONFLICT (creditor, account_id, debtor_index) DO UPDATE
    SET close_time = greatest(t.close_time, EXCLUDED.close_time), expire_time = EXCLUDED.expire_time
)
SELECT count(*) FROM closed
"""
# DOM-8: what the snapshot does not hold is gone, unless its data is newer than the snapshot (pushed after the
# snapshot was extracted); each debt deleted leaves a tombstone at the snapshot's time. In the same pass over the
# institution's debts: how many of the snapshot's records the register holds (`matched`), and of them how many it
# holds newer data for (`outdated`). Parameters: creditor, the snapshot's extract time, the tombstones' life, the
# creditor's latest snapshot before this one (extract and confirm times).
SETTLE_SNAPSHOT = f"""
WITH held AS (
    SELECT count(s.position) AS matched,
           count(*) FILTER (WHERE s.extract_time < {held_extract_time(4, 5)}) AS outdated,
           coalesce(array_agg(d.account_id) FILTER (WHERE s.position IS NULL AND {held_extract_time(4, 5)} <= $2),
                    '{{}}') AS accounts,
           coalesce(array_agg(d.debtor_index) FILTER (WHERE s.position IS NULL AND {held_extract_time(4, 5)} <= $2),
                    '{{}}') AS debtors
    FROM ingest.debts d LEFT JOIN ingest.staged_records_01 s
        ON NOT s.closing AND s.account_id = d.account_id AND s.debtor_index = d.debtor_index
    WHERE d.creditor = $1::varchar
), gone AS (
    DELETE FROM ingest.debts d USING held h, unnest(h.accounts, h.debtors) AS a(account_id, debtor_index)
    WHERE d.creditor = $1::varchar AND d.account_id = a.account_id AND d.debtor_index = a.debtor_index
    RETURNING d.account_id, d.debtor_index
), buried AS (
    INSERT INTO ingest.tombstones AS t (creditor, account_id, debtor_index, close_time, expire_time)
    SELECT $1::varchar, account_id, debtor_index, $2, now() + $3::interval FROM gone
    ON CONFLICT (creditor, account_id, debtor_index) DO UPDATE
    SET close_time = greatest(t.close_time, EXCLUDED.close_time), expire_time = EXCLUDED.expire_time
)
SELECT (SELECT count(*) FROM gone) AS absent, matched, outdated FROM held
"""
# The snapshot confirms the institution's debts it held unchanged (see ingest.snapshot_confirmations), unless an
# institution's later snapshot already did: the same file sent again confirms nothing (DOM-8).
CONFIRM_SNAPSHOT = """
INSERT INTO ingest.snapshot_confirmations AS c (creditor, extract_time, confirm_time) VALUES ($1, $2, $3)
ON CONFLICT (creditor) DO UPDATE SET extract_time = EXCLUDED.extract_time, confirm_time = EXCLUDED.confirm_time
WHERE c.extract_time < EXCLUDED.extract_time
"""
# The merge's write time (taken once the institution's lock is held, so later than any merge before it), the
# transaction's time (given to the merge as a value: see REGISTER), and the institution's latest snapshot.
BEGIN_MERGE = """
SELECT clock_timestamp() AS write_time, now() AS began, c.extract_time, c.confirm_time
FROM (SELECT 1) AS one LEFT JOIN ingest.snapshot_confirmations c ON c.creditor = $1
"""
# Tombstones past their time are forgotten, the institution's own at each of its deliveries.
FORGET_TOMBSTONES = "DELETE FROM ingest.tombstones WHERE creditor = $1 AND expire_time < now()"
# Memory for the hash joins of one snapshot's merge (per join; a delivery at a time per connection).
SNAPSHOT_WORK_MEM = "64MB"
# One merge at a time per institution: a snapshot and a change delivery never interleave.
LOCK_CREDITOR = "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))"
FIND_DELIVERY = "SELECT * FROM ingest.deliveries WHERE creditor = $1 AND request_id = $2"
CLAIM_DELIVERY = """
INSERT INTO ingest.deliveries (id, creditor, request_id, content_digest, kind, strictness, receive_time,
    registered_count, closed_count, unknown_close_count, record_count, rejected_count, absent_count, outdated_count,
    extract_time, complete_time)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, clock_timestamp())
ON CONFLICT (creditor, request_id) DO NOTHING
RETURNING *
"""

# A correction event at the next position of its feed (DOM-14; no gaps: the head's row is locked until commit).
APPEND_CORRECTION_EVENT = """
WITH head AS (
    INSERT INTO ingest.correction_feed_heads AS h (feed, last_position) VALUES ($1, 1)
    ON CONFLICT (feed) DO UPDATE SET last_position = h.last_position + 1
    RETURNING last_position)
INSERT INTO ingest.correction_events (feed, position, type, event_time, correction_id)
SELECT $1, last_position, $2, $3, $4 FROM head
"""
# The corrections whose owners said the creditor's next delivery carries the fix: this delivery is it when it was
# received after the answer and holds the debt (a snapshot always does: a debt absent from it is deleted). The fix
# time ($5) is when the merge was done (its clock, not the transaction's start): a lookup that read the register
# before it may have read the wrong data. A value, not clock_timestamp() in the statement: Citus refuses a VOLATILE
# function in an UPDATE of a distributed table.
FIX_LANDED = """
UPDATE ingest.correction_requests c
SET state = 'corrected', resolve_time = $5, fix_time = $5, fix_delivery_id = $2
WHERE c.creditor = $1 AND c.state = 'awaiting_fix' AND c.answer_time < $3 AND ($4 OR EXISTS (
    SELECT 1 FROM ingest.staged_records_01 s WHERE s.account_id = c.account_id AND s.debtor_index = c.debtor_index))
RETURNING c.id, c.owner, c.resolve_time
"""


def feed_order(event: tuple[Any, ...]) -> tuple[bool, str]:
    """The order in which one transaction takes the heads of correction feeds (its first element): institutions by
    number, lookup's outcome feed last, so that two transactions never wait on each other's heads."""
    return event[0] == OUTCOMES_FEED, str(event[0])


def creditor_lock(creditor: str) -> str:
    """The advisory lock key under which one institution's data changes."""
    return f"gjeld.ingest.creditor:{creditor}"


def slot_lock(slot: int) -> str:
    """The advisory lock key a delivery holds its staging slot by."""
    return f"gjeld.ingest.staging:{slot}"


def slot_table(slot: int) -> str:
    """The name of a staging slot's table (1 to STAGING_SLOTS), without its schema."""
    return f"staged_records_{slot:02d}"


@functools.cache
def on_slot(statement: str, slot: int) -> str:
    """A statement naming the first staging slot, on another."""
    return statement.replace(STAGED, f"ingest.{slot_table(slot)}")


class Staging:
    """One delivery's staged records, in a staging slot of its own taken at its first record, on a connection whose
    transaction the caller holds."""

    def __init__(self, connection: asyncpg.Connection) -> None:
        self._db = connection
        self._copying: asyncio.Task[Any] | None = None
        self.slot: int | None = None

    async def _take_slot(self) -> int:
        """A free slot, held until the transaction ends: the first found free from the connection's own one on (by
        its server process, so that deliveries spread over the slots, and a pooled connection keeps to one slot and
        finds its statements on it prepared: its driver caches 100, and the slots' statements are 16 times 10);
        when none is, the first given back (looked for again every SLOT_RETRY_SECONDS)."""
        first: int = self._db.get_server_pid() % STAGING_SLOTS
        order = [(first + k) % STAGING_SLOTS + 1 for k in range(STAGING_SLOTS)]
        while True:
            for slot in order:
                if await self._db.fetchval(TAKE_SLOT, slot_lock(slot)):
                    return slot
            await asyncio.sleep(SLOT_RETRY_SECONDS)

    def sql(self, statement: str) -> str:
        """The statement on this delivery's slot."""
        assert self.slot is not None, "no record staged yet"
        return on_slot(statement, self.slot)

    async def add(self, records: Sequence[tuple[Any, ...]]) -> None:
        """Copy records in the background while the caller reads the next ones (PostgreSQL works on the
        copy on its own core meanwhile); one copy at a time, as the connection allows."""
        await self.flush()
        if self.slot is None:
            self.slot = await self._take_slot()
        if records:
            self._copying = asyncio.ensure_future(
                self._db.copy_records_to_table(
                    slot_table(self.slot), schema_name="ingest", records=records, columns=STAGED_COLUMNS
                )
            )

    async def flush(self) -> None:
        """Wait for the copy under way; call before anything else uses the connection."""
        if self._copying is not None:
            copying, self._copying = self._copying, None
            await copying

    async def abandon(self) -> None:
        """The delivery failed: let the copy under way end before the transaction rolls back."""
        if self._copying is not None:
            try:
                await self.flush()
            except Exception:  # noqa: BLE001 - the delivery's own failure is the one to report
                pass

    async def analyze(self) -> None:
        # Its own rows only (the slot is this delivery's): without statistics the merge may pick a slow plan.
        await self.flush()
        await self._db.execute(self.sql(ANALYZE_STAGED))

    async def clear(self) -> None:
        """Empty the delivery's slot (call last, before the transaction commits)."""
        await self.flush()
        if self.slot is not None:
            await self._db.execute(self.sql(EMPTY_STAGED))

    async def duplicates(self, limit: int) -> list[list[int]]:
        await self.flush()
        return [list(r["positions"]) for r in await self._db.fetch(self.sql(FIND_DUPLICATES), limit)]

    async def handed_over(self, creditor: str, limit: int) -> list[int]:
        await self.flush()
        return [r["position"] for r in await self._db.fetch(self.sql(FIND_HANDED_OVER), creditor, limit)]

    async def drop(self, positions: Sequence[int]) -> tuple[int, int]:
        """Leave records out of the delivery: how many (registrations, closes) were dropped."""
        if not positions:
            return 0, 0
        closing = [r["closing"] for r in await self._db.fetch(self.sql(DROP_STAGED), list(positions))]
        return closing.count(False), closing.count(True)

    async def merge(
        self, creditor: str, kind: DeliveryKind, extract_time: datetime | None, tombstone_life: timedelta
    ) -> Merged:
        """Apply the staged records; old data never replaces newer (DOM-7)."""
        await self.flush()
        await self._db.execute(LOCK_CREDITOR, creditor_lock(creditor))
        await self._db.execute(FORGET_TOMBSTONES, creditor)
        begun = await self._db.fetchrow(BEGIN_MERGE, creditor)
        written, confirmed = begun["write_time"], (begun["extract_time"], begun["confirm_time"])
        changes = kind is DeliveryKind.CHANGES
        if not changes:
            # A snapshot's merge joins the whole delivery to the institution's debts: in memory, not in batches on
            # disk (measured: a fifth of the merge's time for 300,000 debts at the default 4 MB).
            await self._db.execute(f"SET LOCAL work_mem = '{SNAPSHOT_WORK_MEM}'")
        await self._db.execute(self.sql(REGISTER), creditor, written, *confirmed, changes, begun["began"])
        if changes:
            merged = Merged(int(await self._db.fetchval(self.sql(REGISTERED), creditor, *confirmed)))
            not_applied = await self._db.fetchrow(self.sql(CLOSES_NOT_APPLIED), creditor, *confirmed)
            merged.unknown_closes, merged.outdated_closes = not_applied["unknown"], not_applied["outdated"]
            merged.closed = int(await self._db.fetchval(self.sql(CLOSE), creditor, tombstone_life, *confirmed))
            return merged
        settled = await self._db.fetchrow(self.sql(SETTLE_SNAPSHOT), creditor, extract_time, tombstone_life, *confirmed)
        await self._db.execute(CONFIRM_SNAPSHOT, creditor, extract_time, written)
        return Merged(settled["matched"] - settled["outdated"], absent=settled["absent"])


@dataclass
class Merged:
    """What a merge did: debts registered, closed, deleted as absent; closes that named no debt held, and closes older
    than the data held."""

    registered: int
    closed: int = 0
    absent: int = 0
    unknown_closes: int = 0
    outdated_closes: int = 0


class DeliveryLog:
    """Delivery receipts and rejected records, on the hot path's connection (beside the delivery's staging)."""

    def __init__(self, connection: asyncpg.Connection, staging: Staging) -> None:
        self._db = connection
        self._staging = staging

    async def find(self, creditor: str, request_id: str) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self._db.fetchrow(FIND_DELIVERY, creditor, request_id)
        return row

    async def claim(
        self,
        delivery_id: uuid.UUID,
        creditor: str,
        request_id: str,
        digest: bytes,
        kind: DeliveryKind,
        strictness: Strictness,
        receive_time: datetime,
        counts: tuple[int, int, int, int, int, int, int],
        extract_time: datetime | None = None,
    ) -> asyncpg.Record | None:
        """Record the delivery as applied (a snapshot with its extract time); None if another delivery holds its
        request id."""
        row: asyncpg.Record | None = await self._db.fetchrow(
            CLAIM_DELIVERY,
            delivery_id,
            creditor,
            request_id,
            digest,
            kind.value,
            strictness.value,
            receive_time,
            *counts,
            extract_time,
        )
        return row

    async def fixes_landed(self, creditor: str, delivery_id: uuid.UUID, received: datetime, snapshot: bool) -> int:
        """The delivery carries the fixes its creditor's corrections were waiting for (DOM-14): each of them is
        corrected now, in the delivery's own transaction, and told to its owner and to lookup's outcome feed."""
        merged: datetime = await self._db.fetchval("SELECT clock_timestamp()")
        rows = await self._db.fetch(self._staging.sql(FIX_LANDED), creditor, delivery_id, received, snapshot, merged)
        events = [(feed, row["id"], row["resolve_time"]) for row in rows for feed in (row["owner"], OUTCOMES_FEED)]
        for feed, correction_id, when in sorted(events, key=feed_order):
            await self._db.execute(APPEND_CORRECTION_EVENT, feed, "corrected", when, correction_id)
        return len(rows)

    async def reject(self, delivery_id: uuid.UUID, rejections: Sequence[tuple[int, list[dict[str, str]]]]) -> None:
        if rejections:
            await self._db.copy_records_to_table(
                "rejections",
                schema_name="ingest",
                records=[(delivery_id, index, json.dumps(v)) for index, v in rejections],
                columns=("delivery_id", "record_index", "violations"),
            )


def _terms_values(terms: Terms) -> tuple[Any, ...]:
    """The terms' columns from debt_type to installment_charge_period (in STAGED_COLUMNS order)."""
    if isinstance(terms, CreditFacility):
        charges = terms.installment_charges
        period = charges.period.value if charges.period else None
        return (
            "credit_facility",
            None,
            None,
            None,
            terms.credit_limit,
            terms.interest_bearing_balance,
            terms.non_interest_bearing_balance,
            terms.nominal_interest_rate_bp,
            terms.effective_interest_rate_bp,
            charges.monthly_amount,
            period,
        )
    if isinstance(terms, RepaymentLoan):
        charges = terms.installment_charges
        period = charges.period.value if charges.period else None
        return (
            "repayment_loan",
            terms.original_balance,
            terms.balance,
            terms.remaining_term_months,
            None,
            None,
            None,
            terms.nominal_interest_rate_bp,
            terms.effective_interest_rate_bp,
            charges.monthly_amount,
            period,
        )
    return (
        "charge_card",
        None,
        None,
        None,
        None,
        terms.interest_bearing_balance,
        terms.non_interest_bearing_balance,
        None,
        None,
        None,
        None,
    )


def staged_debt(position: int, debt: Debt, debtor_index: bytes, debtor_encrypted: bytes) -> tuple[Any, ...]:
    """A debt to register, as a staged record (in STAGED_COLUMNS order)."""
    return (
        position,
        False,
        debt.account_id,
        debtor_index,
        debtor_encrypted,
        debt.co_borrower_role.value,
        *_terms_values(debt.terms),
        debt.extract_time,
    )


def staged_closure(position: int, key: DebtKey, debtor_index: bytes, received: datetime) -> tuple[Any, ...]:
    """A debt to close, as a staged record: its close time (or, unset, when the close was received) in extract_time."""
    return (
        (position, True, key.account_id, debtor_index)
        + (None,) * (len(STAGED_COLUMNS) - 5)
        + (key.close_time or received,)
    )


class DeliveryUnitOfWork(UnitOfWork):
    """One delivery's transaction on the driver itself (the hot path: COPY into staging, one merge), with the staging
    table and the delivery log bound to it; rolled back unless committed, like every unit of work."""

    staging: Staging
    log: DeliveryLog

    def __init__(self, engine: AsyncEngine, statement_timeout: float = 1800.0) -> None:
        super().__init__(engine)
        # The merge of a nation's snapshot runs long: this transaction's own bound on a statement.
        self._statement_timeout = statement_timeout

    async def _begin(self, connection: AsyncConnection) -> None:
        driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
        self._transaction = driver.transaction()
        await self._transaction.start()
        await driver.execute(f"SET LOCAL statement_timeout = {int(self._statement_timeout * 1000)}")
        self._committed = False
        self.staging = Staging(driver)
        self.log = DeliveryLog(driver, self.staging)

    async def _rollback(self, connection: AsyncConnection) -> None:
        if not self._committed:
            await self._transaction.rollback()

    async def commit(self) -> None:
        await self.staging.clear()
        await self._transaction.commit()
        self._committed = True
