"""ingest's storage: the debt register and delivery receipts, in the `ingest` schema.

One row per (creditor, account, debtor). The debtor is held as a keyed hash (the
blind index used for lookups by subject) and an encryption (so an institution can
read back its own data); never in clear (DOM-15). An update overwrites the row and
keeps no history of balances (DOM-7); a closed debt's row is deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import grpc
from gjeld.creditor.v1 import creditor_service_pb2
from gjeld_shared.clients import CreditorChannels
from gjeld_shared.db import beyond
from gjeld_shared.errors import Unavailable
from gjeld_shared.institutions import Institution
from gjeld_shared.rekey import Protected
from gjeld_shared.retention import Kept
from gjeld_shared.timestamps import from_proto, now
from gjeld_shared.unit_of_work import UnitOfWork
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from . import statistics
from .convert import Reading, snapshot_part
from .domain import (
    CORRECTION_REMIND_BEFORE,
    ChargeCard,
    CoBorrowerRole,
    CorrectionEventType,
    CorrectionState,
    CreditFacility,
    DebtType,
    Delivery,
    DeliveryKind,
    Handover,
    HandoverState,
    InstallmentChargePeriod,
    InstallmentCharges,
    Part,
    RegisteredDebt,
    Rejection,
    RepaymentLoan,
    Strictness,
    Terms,
)
from .staging import APPEND_CORRECTION_EVENT, STAGING_SLOTS, creditor_lock, feed_order, slot_table

SCHEMA = "ingest"
metadata = MetaData(schema=SCHEMA)

debts = Table(
    "debts",
    metadata,
    Column("creditor", String(16), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("debtor_index", LargeBinary, primary_key=True),
    Column("debtor_encrypted", LargeBinary, nullable=False),
    Column("debt_type", String(16), nullable=False),
    Column("co_borrower_role", String(16), nullable=False),
    Column("original_balance", BigInteger),
    Column("balance", BigInteger),
    Column("remaining_term_months", Integer),
    Column("credit_limit", BigInteger),
    Column("interest_bearing_balance", BigInteger),
    Column("non_interest_bearing_balance", BigInteger),
    Column("nominal_interest_rate_bp", Integer),
    Column("effective_interest_rate_bp", Integer),
    Column("installment_charges", BigInteger),
    Column("installment_charge_period", String(16)),
    Column("extract_time", DateTime(timezone=True), nullable=False),
    Column("confirm_time", DateTime(timezone=True), nullable=False),
    # When the debt was first registered (kept by later reports); NULL for debts registered before it was kept.
    Column("register_time", DateTime(timezone=True), server_default=func.now()),
    # When the row was last written (registered, changed, handed over): a snapshot applied later confirms it without
    # rewriting it (see snapshot_confirmations).
    Column("write_time", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Index("debts_by_debtor", "debtor_index"),
    # Stored with fillfactor 80 (migration 0007): room on each page for a changed balance's new version beside the
    # old, a HOT update that touches no index.
)

# Deliveries on their way into the register (gjeld_ingest.staging; migration 0009): a slot each, for the delivery's
# transaction alone, emptied before it commits. UNLOGGED, no key, no index.
staging_slots = tuple(
    Table(
        slot_table(slot),
        metadata,
        Column("position", BigInteger, nullable=False),
        Column("closing", Boolean, nullable=False),
        Column("account_id", Text, nullable=False),
        Column("debtor_index", LargeBinary, nullable=False),
        Column("debtor_encrypted", LargeBinary),
        Column("co_borrower_role", Text),
        Column("debt_type", Text),
        Column("original_balance", BigInteger),
        Column("balance", BigInteger),
        Column("remaining_term_months", Integer),
        Column("credit_limit", BigInteger),
        Column("interest_bearing_balance", BigInteger),
        Column("non_interest_bearing_balance", BigInteger),
        Column("nominal_interest_rate_bp", Integer),
        Column("effective_interest_rate_bp", Integer),
        Column("installment_charges", BigInteger),
        Column("installment_charge_period", Text),
        Column("extract_time", DateTime(timezone=True)),
        prefixes=["UNLOGGED"],
    )
    for slot in range(1, STAGING_SLOTS + 1)
)

# Each day's debt statistics as published (gjeld_ingest.statistics): cells of persons, a suppressed one's figures NULL.
debt_statistics = Table(
    "debt_statistics",
    metadata,
    Column("day", Date, primary_key=True),
    Column("table_name", String(32), primary_key=True),
    Column("cell", String(64), primary_key=True),
    Column("count_time", DateTime(timezone=True), nullable=False),
    Column("persons", BigInteger),
    Column("repayment_loans", BigInteger),
    Column("credit_facilities", BigInteger),
    Column("charge_cards", BigInteger),
    Column("balance", BigInteger),
    Column("credit_limit", BigInteger),
)
FIGURES = ("persons", "repayment_loans", "credit_facilities", "charge_cards", "balance", "credit_limit")

# When a day's count last failed (the population register could not be read): every replica waits a while after it.
statistics_failures = Table(
    "statistics_failures",
    metadata,
    Column("day", Date, primary_key=True),
    Column("fail_time", DateTime(timezone=True), nullable=False),
)

# Each person's debts counted, for the day's statistics (one row a debtor: their number recovered once), copied into
# a temporary table by one statement, so that the copy is the register at one instant.
COUNTED_DEBTORS = """
CREATE TEMPORARY TABLE counted_debtors (
    position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    debtor_encrypted bytea NOT NULL,
    repayment_loans bigint NOT NULL,
    credit_facilities bigint NOT NULL,
    charge_cards bigint NOT NULL,
    balance numeric NOT NULL,
    credit_limit numeric NOT NULL
)
"""
COUNTED = """
INSERT INTO counted_debtors (debtor_encrypted, repayment_loans, credit_facilities, charge_cards, balance, credit_limit)
SELECT (array_agg(debtor_encrypted))[1],
       count(*) FILTER (WHERE debt_type = 'repayment_loan'),
       count(*) FILTER (WHERE debt_type = 'credit_facility'),
       count(*) FILTER (WHERE debt_type = 'charge_card'),
       sum(coalesce(balance, 0) + coalesce(interest_bearing_balance, 0) + coalesce(non_interest_bearing_balance, 0)),
       sum(coalesce(credit_limit, 0))
FROM ingest.debts GROUP BY debtor_index
"""
COUNTED_BATCH = """
SELECT position, debtor_encrypted, repayment_loans, credit_facilities, charge_cards, balance, credit_limit
FROM counted_debtors WHERE position > $1 ORDER BY position LIMIT $2
"""


@dataclass
class CountedRegister:
    """The register counted person by person at one instant (`moment`), read a batch at a time."""

    driver: asyncpg.Connection
    moment: datetime

    async def batches(self, size: int) -> AsyncIterator[list[tuple[bytes, statistics.Figures]]]:
        """Each debtor's encrypted number and figures, `size` debtors at a time, each batch its own statement: no
        transaction stays open while the caller works on a batch (asks the population register)."""
        after = 0
        while rows := await self.driver.fetch(COUNTED_BATCH, after, size):
            after = rows[-1]["position"]
            yield [
                (row["debtor_encrypted"], statistics.Figures(1, *(int(row[name]) for name in FIGURES[1:])))
                for row in rows
            ]


class StatisticsStore:
    """The register counted for the statistics, and the published cells kept over time."""

    def __init__(self, engine: AsyncEngine, statement_timeout: float = 1800.0) -> None:
        self._engine, self._statement_timeout = engine, statement_timeout

    @asynccontextmanager
    async def count(self) -> AsyncIterator[CountedRegister]:
        """The register counted person by person at one instant: copied by one statement of a repeatable-read
        transaction (whose first statement gives the instant) into a temporary table on one connection, which the
        caller then reads at its own pace without holding a transaction, nor vacuum's horizon, open. The copy of a
        whole register may take as long as a delivery's statements (`statement_timeout`)."""
        async with self._engine.connect() as connection:
            driver: asyncpg.Connection = (await connection.get_raw_connection()).driver_connection
            dropped = False
            try:
                await driver.execute("DROP TABLE IF EXISTS counted_debtors")
                await driver.execute(COUNTED_DEBTORS)
                async with driver.transaction(isolation="repeatable_read", readonly=True):
                    moment: datetime = await driver.fetchval("SELECT statement_timestamp()")
                    await driver.execute(f"SET LOCAL statement_timeout = {int(self._statement_timeout * 1000)}")
                    await driver.execute(COUNTED)
                yield CountedRegister(driver, moment)
                await driver.execute("DROP TABLE counted_debtors")
                dropped = True
            finally:
                if not dropped:
                    # Failed or cancelled midway (perhaps inside a statement): the connection may hold the table or an
                    # aborted transaction, so it is closed rather than pooled.
                    await connection.invalidate()

    async def fail(self, day: date, moment: datetime) -> None:
        """Note that the day's count failed at `moment`."""
        statement = insert(statistics_failures).values(day=day, fail_time=moment)
        async with self._engine.begin() as connection:
            await connection.execute(
                statement.on_conflict_do_update(
                    index_elements=["day"], set_={"fail_time": statement.excluded.fail_time}
                )
            )

    async def failed(self, day: date) -> datetime | None:
        """When the day's count last failed, if it did."""
        async with self._engine.connect() as connection:
            return (
                await connection.execute(
                    select(statistics_failures.c.fail_time).where(statistics_failures.c.day == day)
                )
            ).scalar_one_or_none()

    async def keep(
        self, day: date, moment: datetime, tables: Mapping[str, Mapping[str, statistics.Figures | None]]
    ) -> None:
        """Keep a day's published cells (a count of the same day again replaces them)."""
        rows = [
            {
                "day": day,
                "table_name": table,
                "cell": cell,
                "count_time": moment,
                **{name: (None if figures is None else getattr(figures, name)) for name in FIGURES},
            }
            for table, cells in tables.items()
            for cell, figures in cells.items()
        ]
        async with self._engine.begin() as connection:
            await connection.execute(delete(debt_statistics).where(debt_statistics.c.day == day))
            if rows:
                await connection.execute(insert(debt_statistics), rows)

    async def published(self, table: str, first: date, last: date) -> list[Any]:
        """The published cells of a table from day `first` to `last`, by day and cell."""
        query = (
            select(debt_statistics)
            .where(debt_statistics.c.table_name == table, debt_statistics.c.day.between(first, last))
            .order_by(debt_statistics.c.day, debt_statistics.c.cell)
        )
        async with self._engine.connect() as connection:
            return list(await connection.execute(query))

    async def counted(self, day: date) -> bool:
        """Whether the day's count is kept."""
        async with self._engine.connect() as connection:
            found = await connection.execute(select(debt_statistics.c.day).where(debt_statistics.c.day == day).limit(1))
            return found.first() is not None


# Each institution's latest snapshot: it confirmed every debt of the institution written no later than it was applied
# (confirm_time) with data extracted no later than it (DOM-8: a debt it lacked it deleted), so those rows are not
# rewritten each day; their extract and confirm times are the snapshot's (`confirmed_extract_time`).
snapshot_confirmations = Table(
    "snapshot_confirmations",
    metadata,
    Column("creditor", String(16), primary_key=True),
    Column("extract_time", DateTime(timezone=True), nullable=False),
    Column("confirm_time", DateTime(timezone=True), nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("creditor", String(16), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("content_digest", LargeBinary, nullable=False),
    Column("registered_count", Integer, nullable=False),
    Column("closed_count", Integer, nullable=False),
    Column("unknown_close_count", Integer, nullable=False),
    Column("receive_time", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("kind", String(16), nullable=False, server_default="changes"),
    Column("strictness", String(16), nullable=False, server_default="all_or_nothing"),
    Column("record_count", BigInteger, nullable=False, server_default="0"),
    Column("rejected_count", BigInteger, nullable=False, server_default="0"),
    Column("absent_count", BigInteger, nullable=False, server_default="0"),
    Column("outdated_count", BigInteger, nullable=False, server_default="0"),
    # A snapshot's extract time: how fresh the institution's data is (DOM-8), whenever it was applied.
    Column("extract_time", DateTime(timezone=True)),
    Column("complete_time", DateTime(timezone=True)),
    Index("deliveries_by_request", "creditor", "request_id", unique=True),
    Index("deliveries_newest_first", "creditor", "receive_time", "id"),
)

# The records a partially accepted delivery left out, each with its field violations.
rejections = Table(
    "rejections",
    metadata,
    Column("delivery_id", UUID(as_uuid=True), primary_key=True),
    Column("record_index", BigInteger, primary_key=True),
    Column("violations", JSONB, nullable=False),
)

handovers = Table(
    "handovers",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("giver", String(16), nullable=False),
    Column("receiver", String(16), nullable=False),
    Column("account_ids", ARRAY(String(64)), nullable=False),
    Column("state", String(16), nullable=False),
    Column("moved_count", Integer, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("complete_time", DateTime(timezone=True)),
    # The giver's own id for a proposal it may retry (AIP-155), and a digest of what it proposed.
    Column("request_id", String(64)),
    Column("request_digest", LargeBinary),
    Index("handovers_by_request", "giver", "request_id", unique=True, postgresql_where=text("request_id IS NOT NULL")),
)

# Debts an institution handed over: its later deliveries may no longer name them.
handed_over = Table(
    "handed_over",
    metadata,
    Column("giver", String(16), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("debtor_index", LargeBinary, primary_key=True),
    Column("handover_id", UUID(as_uuid=True), nullable=False),
)

# Debts closed a short while ago (by a close, or by their absence from a snapshot), with the time they were closed at
# the institution: a late report extracted no later than that cannot bring them back (DOM-7). Forgotten when expired.
tombstones = Table(
    "tombstones",
    metadata,
    Column("creditor", String(16), primary_key=True),
    Column("account_id", String(64), primary_key=True),
    Column("debtor_index", LargeBinary, primary_key=True),
    Column("close_time", DateTime(timezone=True), nullable=False),
    Column("expire_time", DateTime(timezone=True), nullable=False),
    Index("tombstones_expiring", "creditor", "expire_time"),
)

# A person's requests to correct a debt (DOM-14), owned by the institution that must answer: the reporting one, or
# the one it was forwarded to. The person's reason and the answer are sealed (they are free text about a person).
correction_requests = Table(
    "correction_requests",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("creditor", String(16), nullable=False),
    Column("account_id", String(64), nullable=False),
    Column("debt_type", String(16), nullable=False),
    # In the key as the distribution column (migration 0008): Citus enforces a key shard by shard.
    Column("debtor_index", LargeBinary, primary_key=True),
    Column("debtor_encrypted", LargeBinary, nullable=False),
    Column("reason_sealed", LargeBinary, nullable=False),
    # open → (forwarded: still open, another owner) → awaiting_fix → corrected; or rejected.
    Column("state", String(16), nullable=False),
    Column("owner", String(16), nullable=False),
    Column("forwarded_by", String(16)),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("due_time", DateTime(timezone=True), nullable=False),
    Column("remind_time", DateTime(timezone=True)),
    Column("resolve_time", DateTime(timezone=True)),
    Column("answer_sealed", LargeBinary),
    Column("answer_time", DateTime(timezone=True)),
    Column("fix_time", DateTime(timezone=True)),
    Column("fix_delivery_id", UUID(as_uuid=True)),
    Column("wrong_since", DateTime(timezone=True)),
    Column("debt_register_time", DateTime(timezone=True)),
    Column("request_id", String(64)),
    Column("request_digest", LargeBinary),
    # One unresolved request per debt: the disputed flag is an EXISTS on this index.
    Index(
        "correction_requests_open",
        "creditor",
        "account_id",
        "debtor_index",
        unique=True,
        postgresql_where=text("state IN ('open', 'awaiting_fix')"),
    ),
    Index("correction_requests_by_debtor", "debtor_index", "create_time"),
    Index("correction_requests_due", "due_time", "id", postgresql_where=text("state IN ('open', 'awaiting_fix')")),
    Index(
        "correction_requests_by_request",
        "debtor_index",
        "request_id",
        unique=True,
        postgresql_where=text("request_id IS NOT NULL"),
    ),
)

# The states in which a request marks its debt disputed.
UNRESOLVED = [state.value for state in CorrectionState if state.unresolved]

# Each institution's feed of correction events, and lookup's feed of outcomes (feed "outcomes"): taking the next
# position locks the head's row until the transaction ends, so positions come in commit order without gaps.
correction_feed_heads = Table(
    "correction_feed_heads",
    metadata,
    Column("feed", String(16), primary_key=True),
    Column("last_position", BigInteger, nullable=False),
)
correction_events = Table(
    "correction_events",
    metadata,
    Column("feed", String(16), primary_key=True),
    Column("position", BigInteger, primary_key=True),
    Column("type", String(16), nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=False),
    Column("correction_id", UUID(as_uuid=True), nullable=False),
)


def retention(receipts: timedelta, rejected: timedelta, corrections: timedelta) -> list[Kept]:
    """What ingest keeps beside the register, and for how long (the README's table); the register itself keeps the
    current state only (DOM-7), and tombstones go at each delivery."""
    resolved = select(correction_requests.c.id)
    received = select(deliveries.c.id)
    return [
        Kept(
            "rejected records of a delivery",
            rejections,
            rejected,
            lambda cut: rejections.c.delivery_id.in_(received.where(deliveries.c.receive_time < cut)),
        ),
        Kept("delivery receipts", deliveries, receipts, lambda cut: deliveries.c.receive_time < cut),
        Kept(
            "events of resolved correction requests",
            correction_events,
            corrections,
            lambda cut: correction_events.c.correction_id.in_(resolved.where(correction_requests.c.resolve_time < cut)),
        ),
        Kept(
            "resolved correction requests",
            correction_requests,
            corrections,
            lambda cut: correction_requests.c.resolve_time < cut,
        ),
        # Also forgotten at each of its institution's deliveries; this, for an institution that stopped delivering.
        Kept("expired tombstones", tombstones, timedelta(0), lambda cut: tombstones.c.expire_time < cut),
    ]


# What holds identity numbers, for `python -m gjeld_ingest rekey` after a key rotation.
PROTECTED = (
    Protected(
        correction_requests,
        hashes=("debtor_index", "request_digest"),
        ciphertexts=("debtor_encrypted", "reason_sealed", "answer_sealed"),
    ),
    Protected(debts, hashes=("debtor_index",), ciphertexts=("debtor_encrypted",)),
    Protected(handed_over, hashes=("debtor_index",)),
    Protected(tombstones, hashes=("debtor_index",)),
    Protected(deliveries, hashes=("content_digest",)),
)


# The enumerations by stored value, looked up in a dict: an extract round reads a million rows.
_DEBT_TYPES = {kind.value: kind for kind in DebtType}
_ROLES = {role.value: role for role in CoBorrowerRole}
_PERIODS = {period.value: period for period in InstallmentChargePeriod}


def _terms_from_row(row: Any) -> Terms:
    kind = _DEBT_TYPES[row.debt_type]
    if kind is DebtType.CHARGE_CARD:
        return ChargeCard(row.interest_bearing_balance, row.non_interest_bearing_balance)
    period = row.installment_charge_period
    charges = InstallmentCharges(row.installment_charges, _PERIODS[period] if period else None)
    if kind is DebtType.REPAYMENT_LOAN:
        return RepaymentLoan(
            row.original_balance,
            row.balance,
            row.remaining_term_months,
            row.nominal_interest_rate_bp,
            charges,
            row.effective_interest_rate_bp,
        )
    return CreditFacility(
        row.credit_limit,
        row.interest_bearing_balance,
        row.non_interest_bearing_balance,
        row.nominal_interest_rate_bp,
        charges,
        row.effective_interest_rate_bp,
    )


def _confirming_snapshot(column: Any, *, extracted: bool) -> Any:
    """`column` of the creditor's latest snapshot if it confirmed the row (see snapshot_confirmations), else NULL."""
    confirmation = snapshot_confirmations
    confirmed = [confirmation.c.creditor == debts.c.creditor, debts.c.write_time <= confirmation.c.confirm_time]
    if extracted:
        confirmed.append(debts.c.extract_time <= confirmation.c.extract_time)
    return select(column).where(*confirmed).scalar_subquery()


# A debt's extract and confirm times as read: its own, or its creditor's latest snapshot's if that confirmed it.
CONFIRMED_TIMES = [
    func.greatest(
        debts.c.extract_time, _confirming_snapshot(snapshot_confirmations.c.extract_time, extracted=False)
    ).label("extract_time"),
    func.coalesce(
        _confirming_snapshot(snapshot_confirmations.c.confirm_time, extracted=True), debts.c.confirm_time
    ).label("confirm_time"),
]
# A debt's row as read: every column but its times as written, and the times it has been confirmed at.
DEBT_ROW = [c for c in debts.c if c.name not in ("extract_time", "confirm_time", "write_time")] + CONFIRMED_TIMES
# What `registered_debt` reads of a row: a read that names the debtor otherwise needs neither its index nor ciphertext.
DEBT_READ = [c for c in DEBT_ROW if c.name not in ("debtor_index", "debtor_encrypted", "register_time")]


def registered_debt(row: Any, debtor: str | None = None, disputed: bool = False) -> RegisteredDebt:
    return RegisteredDebt(
        creditor=row.creditor,
        account_id=row.account_id,
        co_borrower_role=_ROLES[row.co_borrower_role],
        extract_time=row.extract_time,
        terms=_terms_from_row(row),
        confirm_time=row.confirm_time,
        debtor=debtor,
        disputed=disputed,
    )


def _disputed_debt() -> Any:
    """Whether the debt of the row has an unresolved correction request: the disputed flag (DOM-14)."""
    return (
        select(correction_requests.c.id)
        .where(
            and_(
                correction_requests.c.creditor == debts.c.creditor,
                correction_requests.c.account_id == debts.c.account_id,
                correction_requests.c.debtor_index == debts.c.debtor_index,
                correction_requests.c.state.in_(UNRESOLVED),
            )
        )
        .exists()
    )


class DebtRegister:
    """Queries on the register, within a transaction the caller holds."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def of_creditor(self, creditor: str, after: tuple[str, bytes] | None, limit: int) -> list[Any]:
        query = select(*DEBT_ROW, _disputed_debt().label("disputed")).where(debts.c.creditor == creditor)
        if after is not None:
            query = query.where(beyond((debts.c.account_id, debts.c.debtor_index), after, descending=False))
        rows = await self._db.execute(query.order_by(debts.c.account_id, debts.c.debtor_index).limit(limit))
        return list(rows)

    async def behind_on_snapshots(self, before: datetime) -> list[Any]:
        """Institutions holding debts whose latest snapshot was extracted before `before` (a file sent again is no
        fresher than when it was extracted), or that never sent one: the longest behind first, each with its latest
        snapshot's extract time and how many debts it holds."""
        last = (
            select(deliveries.c.creditor, func.max(deliveries.c.extract_time).label("last_snapshot"))
            .where(deliveries.c.kind == DeliveryKind.SNAPSHOT.value)
            .group_by(deliveries.c.creditor)
            .subquery()
        )
        query = (
            select(debts.c.creditor, func.count().label("debt_count"), last.c.last_snapshot)
            .join(last, last.c.creditor == debts.c.creditor, isouter=True)
            .group_by(debts.c.creditor, last.c.last_snapshot)
            .having(or_(last.c.last_snapshot.is_(None), last.c.last_snapshot < before))
            .order_by(last.c.last_snapshot.asc().nulls_first(), debts.c.creditor)
        )
        return list(await self._db.execute(query))

    async def of_subject(self, debtor_index: bytes) -> list[RegisteredDebt]:
        rows = await self._db.execute(OF_SUBJECT, {"debtor_index": debtor_index})
        return [registered_debt(row, disputed=row.disputed) for row in rows]


# A person's debts, as every lookup reads them: built once (building the statement cost more than running it).
OF_SUBJECT = (
    select(*DEBT_ROW, _disputed_debt().label("disputed"))
    .where(debts.c.debtor_index == bindparam("debtor_index", type_=LargeBinary))
    .order_by(debts.c.creditor, debts.c.account_id)
)


def delivery_from_row(row: Mapping[Any, Any]) -> Delivery:
    return Delivery(
        id=row["id"],
        request_id=row["request_id"],
        kind=DeliveryKind(row["kind"]),
        strictness=Strictness(row["strictness"]),
        content_digest=row["content_digest"],
        record_count=row["record_count"],
        registered_count=row["registered_count"],
        closed_count=row["closed_count"],
        unknown_close_count=row["unknown_close_count"],
        rejected_count=row["rejected_count"],
        absent_count=row["absent_count"],
        outdated_count=row["outdated_count"],
        receive_time=row["receive_time"],
        complete_time=row["complete_time"],
    )


def _handover(row: Any) -> Handover:
    return Handover(
        row.id,
        row.giver,
        row.receiver,
        tuple(row.account_ids),
        HandoverState(row.state),
        row.moved_count,
        row.create_time,
        row.complete_time,
    )


class DeliveryRecords:
    """Reading back an institution's deliveries and the records they left out."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def get(self, creditor: str, delivery_id: uuid.UUID) -> Delivery | None:
        row = (
            await self._db.execute(
                select(deliveries).where(deliveries.c.creditor == creditor, deliveries.c.id == delivery_id)
            )
        ).first()
        return delivery_from_row(row._mapping) if row else None

    async def of_request(self, creditor: str, request_id: str) -> Delivery | None:
        query = select(deliveries).where(deliveries.c.creditor == creditor, deliveries.c.request_id == request_id)
        row = (await self._db.execute(query)).first()
        return delivery_from_row(row._mapping) if row else None

    async def newest_first(self, creditor: str, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Delivery]:
        query = select(deliveries).where(deliveries.c.creditor == creditor)
        if after is not None:
            query = query.where(beyond((deliveries.c.receive_time, deliveries.c.id), after, descending=True))
        rows = await self._db.execute(
            query.order_by(deliveries.c.receive_time.desc(), deliveries.c.id.desc()).limit(limit)
        )
        return [delivery_from_row(r._mapping) for r in rows]

    async def rejections(self, delivery_id: uuid.UUID, after: int, limit: int) -> list[Rejection]:
        rows = await self._db.execute(
            select(rejections)
            .where(rejections.c.delivery_id == delivery_id, rejections.c.record_index > after)
            .order_by(rejections.c.record_index)
            .limit(limit)
        )
        return [Rejection(r.record_index, tuple((v["field"], v["description"]) for v in r.violations)) for r in rows]


# The debts moved keep the times the giver's latest snapshot confirmed them at (the receiver's snapshots never held
# them); written now (:written, the clock when they move: a value, as Citus wants no VOLATILE function in an UPDATE of
# a distributed table), none of the receiver's earlier snapshots counts as confirming them.
MOVE_DEBTS = """
WITH moved AS (
    UPDATE ingest.debts d SET creditor = :receiver, write_time = :written,
        extract_time = greatest(d.extract_time, (
            SELECT c.extract_time FROM ingest.snapshot_confirmations c
            WHERE c.creditor = :giver AND d.write_time <= c.confirm_time)),
        confirm_time = coalesce((
            SELECT c.confirm_time FROM ingest.snapshot_confirmations c
            WHERE c.creditor = :giver AND d.write_time <= c.confirm_time AND d.extract_time <= c.extract_time),
            d.confirm_time)
    WHERE creditor = :giver AND (cardinality(CAST(:accounts AS text[])) = 0 OR account_id = ANY(:accounts))
    RETURNING account_id, debtor_index
), remembered AS (
    INSERT INTO ingest.handed_over (giver, account_id, debtor_index, handover_id)
    SELECT :giver, account_id, debtor_index, :handover FROM moved
    ON CONFLICT (giver, account_id, debtor_index) DO UPDATE SET handover_id = EXCLUDED.handover_id
), returned AS (
    DELETE FROM ingest.handed_over h USING moved m
    WHERE h.giver = :receiver AND h.account_id = m.account_id AND h.debtor_index = m.debtor_index
)
SELECT count(*) FROM moved
"""
# The unresolved correction requests about the debts a handover moved go with them (DOM-14): the receiver reports the
# debt now, so its deliveries carry the fix and the dispute stays on the debt; a request the giver owned, the receiver
# owns (as if the giver had forwarded it).
MOVE_CORRECTIONS = """
WITH moving AS (
    SELECT c.id, c.debtor_index, c.owner = :giver AS handed FROM ingest.correction_requests c
    JOIN ingest.handed_over h ON h.account_id = c.account_id AND h.debtor_index = c.debtor_index
    WHERE h.handover_id = :handover AND h.giver = :giver AND c.creditor = :giver
      AND c.state IN ('open', 'awaiting_fix')
    FOR UPDATE OF c
)
UPDATE ingest.correction_requests c
SET creditor = :receiver,
    owner = CASE WHEN moving.handed THEN :receiver ELSE c.owner END,
    forwarded_by = CASE WHEN moving.handed THEN :giver ELSE c.forwarded_by END,
    remind_time = CASE WHEN moving.handed THEN NULL ELSE c.remind_time END
FROM moving WHERE c.id = moving.id AND c.debtor_index = moving.debtor_index
RETURNING c.id, moving.handed
"""


class Handovers:
    """Portfolio handovers between institutions, within a transaction the caller holds."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def propose(
        self, giver: str, receiver: str, account_ids: Sequence[str], request_id: str | None, digest: bytes | None
    ) -> tuple[Handover, bytes | None]:
        """The proposal, new or (for a request id used before) the first one, with the digest it was made with."""
        statement = insert(handovers).values(
            id=uuid.uuid4(),
            giver=giver,
            receiver=receiver,
            account_ids=list(account_ids),
            state=HandoverState.PROPOSED.value,
            moved_count=0,
            request_id=request_id,
            request_digest=digest,
        )
        if request_id is not None:
            statement = statement.on_conflict_do_nothing(
                index_elements=["giver", "request_id"], index_where=text("request_id IS NOT NULL")
            )
        row = (await self._db.execute(statement.returning(*handovers.c))).first()
        if row is None:
            query = select(handovers).where(handovers.c.giver == giver, handovers.c.request_id == request_id)
            row = (await self._db.execute(query)).one()
        return _handover(row), row.request_digest

    async def get_for_update(self, handover_id: uuid.UUID) -> Handover | None:
        row = (await self._db.execute(select(handovers).where(handovers.c.id == handover_id).with_for_update())).first()
        return _handover(row) if row else None

    async def lock(self, handover: Handover) -> None:
        """Take both institutions' merge locks (the ones deliveries take, in staging.py), in a fixed order."""
        for creditor in sorted((handover.giver, handover.receiver)):
            await self._db.execute(
                text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": creditor_lock(creditor)}
            )

    async def conflicts(self, handover: Handover) -> int:
        """How many of the debts to move the receiver already holds under the same account and debtor."""
        return int(
            (
                await self._db.execute(
                    text(
                        "SELECT count(*) FROM ingest.debts mine JOIN ingest.debts theirs"
                        " ON theirs.account_id = mine.account_id AND theirs.debtor_index = mine.debtor_index"
                        " WHERE mine.creditor = :giver AND theirs.creditor = :receiver"
                        " AND (cardinality(CAST(:accounts AS text[])) = 0 OR mine.account_id = ANY(:accounts))"
                    ),
                    {"giver": handover.giver, "receiver": handover.receiver, "accounts": list(handover.account_ids)},
                )
            ).scalar_one()
        )

    async def complete(self, handover: Handover) -> Handover:
        """Move the debts in one statement, remember them as handed over by the giver (and no longer by the
        receiver, should they come back), and mark the handover done."""
        moved = (
            await self._db.execute(
                text(MOVE_DEBTS),
                {
                    "giver": handover.giver,
                    "receiver": handover.receiver,
                    "accounts": list(handover.account_ids),
                    "handover": handover.id,
                    "written": (await self._db.execute(text("SELECT clock_timestamp()"))).scalar_one(),
                },
            )
        ).scalar_one()
        carried = await self._db.execute(
            text(MOVE_CORRECTIONS),
            {"giver": handover.giver, "receiver": handover.receiver, "handover": handover.id},
        )
        events = []
        for request in carried:
            if request.handed:
                events.append((handover.giver, CorrectionEventType.FORWARDED, request.id))
                events.append((handover.receiver, CorrectionEventType.RECEIVED, request.id))
        for feed, kind, correction_id in sorted(events, key=feed_order):
            await self._db.exec_driver_sql(APPEND_CORRECTION_EVENT, (feed, kind.value, now(), correction_id))
        row = (
            await self._db.execute(
                update(handovers)
                .where(handovers.c.id == handover.id)
                .values(state=HandoverState.COMPLETED.value, moved_count=moved, complete_time=func.now())
                .returning(*handovers.c)
            )
        ).one()
        return _handover(row)


class CorrectionStore:
    """Correction requests and their feeds, within a transaction the caller holds."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def debt(self, creditor: str, account_id: str, debtor_index: bytes) -> Any | None:
        query = select(debts.c.register_time, debts.c.debt_type).where(
            debts.c.creditor == creditor, debts.c.account_id == account_id, debts.c.debtor_index == debtor_index
        )
        return (await self._db.execute(query)).first()

    async def of_request(self, debtor_index: bytes, request_id: str) -> Any | None:
        query = select(correction_requests).where(
            correction_requests.c.debtor_index == debtor_index, correction_requests.c.request_id == request_id
        )
        return (await self._db.execute(query)).first()

    async def add(self, values: dict[str, Any]) -> Any | None:
        """The new request; None when the debt already has an unresolved one (the index allows one)."""
        statement = (
            insert(correction_requests).values(**values).on_conflict_do_nothing().returning(*correction_requests.c)
        )
        return (await self._db.execute(statement)).first()

    async def get_for_update(self, correction_id: uuid.UUID) -> Any | None:
        """The request, locked. Found by its id alone (an institution answers by id), which names no debtor: on a
        distributed register that read asks every shard (a primary-key probe on each; answers are few), and Citus
        locks rows only in a statement on one shard, so the row is then locked under its debtor as well."""
        debtor = (
            await self._db.execute(
                select(correction_requests.c.debtor_index).where(correction_requests.c.id == correction_id)
            )
        ).scalar_one_or_none()
        if debtor is None:
            return None
        query = select(correction_requests).where(
            correction_requests.c.id == correction_id, correction_requests.c.debtor_index == debtor
        )
        return (await self._db.execute(query.with_for_update())).first()

    async def change(self, request: Any, values: dict[str, Any]) -> Any:
        """Change a request (a row read before), found under its debtor: one shard of a distributed register."""
        statement = (
            update(correction_requests)
            .where(correction_requests.c.id == request.id, correction_requests.c.debtor_index == request.debtor_index)
            .values(**values)
            .returning(*correction_requests.c)
        )
        return (await self._db.execute(statement)).one()

    async def of_debtor(self, debtor_index: bytes, before: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Any]:
        query = select(correction_requests).where(correction_requests.c.debtor_index == debtor_index)
        if before is not None:
            key = (correction_requests.c.create_time, correction_requests.c.id)
            query = query.where(beyond(key, before, descending=True))
        query = query.order_by(correction_requests.c.create_time.desc(), correction_requests.c.id.desc())
        return list(await self._db.execute(query.limit(limit)))

    async def append(self, feed: str, kind: CorrectionEventType, correction_id: uuid.UUID, when: datetime) -> None:
        await self._db.exec_driver_sql(APPEND_CORRECTION_EVENT, (feed, kind.value, when, correction_id))

    async def events_after(self, feed: str, after: int, limit: int) -> list[Any]:
        """The feed's events after a position, each with its request as it stands."""
        query = (
            select(
                correction_events.c.position,
                correction_events.c.type,
                correction_events.c.event_time,
                correction_requests,
            )
            .join(correction_requests, correction_requests.c.id == correction_events.c.correction_id)
            .where(correction_events.c.feed == feed, correction_events.c.position > after)
            .order_by(correction_events.c.position)
            .limit(limit)
        )
        return list(await self._db.execute(query))

    async def delivery_since(self, creditor: str, delivery_id: uuid.UUID, since: datetime) -> datetime | None:
        """When the creditor had applied this delivery, if it did after `since` (a delivery that can carry a fix)."""
        query = select(deliveries.c.complete_time).where(
            deliveries.c.id == delivery_id, deliveries.c.creditor == creditor, deliveries.c.complete_time >= since
        )
        applied: datetime | None = (await self._db.execute(query)).scalar_one_or_none()
        return applied

    async def earlier_holders(self, account_id: str, debtor_index: bytes) -> set[str]:
        """The institutions that held this debt before it was handed over: where an error in it may have arisen."""
        query = select(handed_over.c.giver).where(
            handed_over.c.account_id == account_id, handed_over.c.debtor_index == debtor_index
        )
        return set((await self._db.execute(query)).scalars())

    async def to_remind(self, until: datetime) -> list[Any]:
        """Open requests whose reminder is due (the deadline within the reminder's lead) and not yet sent, each locked
        (one another round holds is left to it).

        Due requests are found across every debtor (on a distributed register, every shard), unlocked: Citus locks
        rows only in a statement on one shard. Each is then locked under its debtor, and taken only if still due."""
        due = [
            correction_requests.c.state.in_(UNRESOLVED),
            correction_requests.c.remind_time.is_(None),
            correction_requests.c.due_time <= until + CORRECTION_REMIND_BEFORE,
        ]
        found = select(correction_requests.c.owner, correction_requests.c.id, correction_requests.c.debtor_index)
        candidates = await self._db.execute(
            found.where(*due).order_by(correction_requests.c.owner, correction_requests.c.id)
        )
        taken = []
        for candidate in list(candidates):  # by owner: feed heads in one order
            query = select(correction_requests).where(
                correction_requests.c.id == candidate.id,
                correction_requests.c.debtor_index == candidate.debtor_index,
                *due,
            )
            row = (await self._db.execute(query.with_for_update(skip_locked=True))).first()
            if row is not None:
                taken.append(row)
        return taken

    async def overdue(self, when: datetime, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Any]:
        query = select(correction_requests).where(
            correction_requests.c.state.in_(UNRESOLVED), correction_requests.c.due_time < when
        )
        if after is not None:
            query = query.where(
                beyond((correction_requests.c.due_time, correction_requests.c.id), after, descending=False)
            )
        query = query.order_by(correction_requests.c.due_time, correction_requests.c.id)
        return list(await self._db.execute(query.limit(limit)))


class IngestUnitOfWork(UnitOfWork):
    """One transaction of ingest's use cases other than taking in a delivery, with their stores."""

    debts: DebtRegister
    deliveries: DeliveryRecords
    handovers: Handovers
    corrections: CorrectionStore

    def bind(self, connection: AsyncConnection) -> None:
        self.corrections = CorrectionStore(connection)
        self.debts = DebtRegister(connection)
        self.deliveries = DeliveryRecords(connection)
        self.handovers = Handovers(connection)


@dataclass(frozen=True)
class Export:
    """An institution's snapshot as it streams it, read into parts of a snapshot delivery as they arrive."""

    extract_time: datetime
    parts: AsyncIterator[Part]


class CalledCreditors:
    """Institutions that prefer to be called for their snapshot, over gjeld.creditor.v1 (ExportDebts): their
    messages read here into the domain's parts, their failures into UNAVAILABLE (nothing of the export applied)."""

    def __init__(self, channels: CreditorChannels, timeout: float) -> None:
        self._channels = channels
        self._timeout = timeout  # the whole export's deadline: a bank that hangs cannot hold a fetch for ever

    async def export(self, institution: Institution) -> Export:
        call = self._channels.stub(institution).ExportDebts(
            creditor_service_pb2.ExportDebtsRequest(), timeout=self._timeout
        )
        stream = call.__aiter__()
        try:
            first = await anext(stream, None)
        except grpc.RpcError as error:
            raise _unavailable(institution, error) from None
        if first is None:
            raise Unavailable("SNAPSHOT_EMPTY", "the institution's export ended without a message")
        if not first.HasField("extract_time"):
            raise Unavailable("SNAPSHOT_INVALID", "the institution's export has no extract time")

        async def parts() -> AsyncIterator[Part]:
            message: creditor_service_pb2.ExportDebtsResponse | None = first
            offset, reading = 0, Reading(datetime.now(UTC))
            try:
                while message is not None:
                    reading.now = datetime.now(UTC)
                    content = message.SerializeToString(deterministic=True)
                    yield snapshot_part(message.debts, offset, content, reading)
                    offset += len(message.debts)
                    message = await anext(stream, None)
            except grpc.RpcError as error:
                raise _unavailable(institution, error) from None

        return Export(from_proto(first.extract_time), parts())

    async def close(self) -> None:
        await self._channels.close()


def _unavailable(institution: Institution, error: grpc.RpcError) -> Unavailable:
    return Unavailable(
        "INSTITUTION_UNAVAILABLE",
        "the institution's export failed; nothing was changed",
        {"institution": institution.organization_number, "code": error.code().name},
    )
