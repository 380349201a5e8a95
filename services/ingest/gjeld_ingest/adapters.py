"""ingest's storage: the debt register and delivery receipts, in the `ingest` schema.

One row per (creditor, account, debtor). The debtor is held as a keyed hash (the
blind index used for lookups by subject) and an encryption (so an institution can
read back its own data); never in clear (DOM-15). An update overwrites the row and
keeps no history of balances (DOM-7); a closed debt's row is deleted.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gjeld_shared.db import beyond
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    delete,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from . import domain
from .domain import (
    ChargeCard,
    CoBorrowerRole,
    CreditFacility,
    DebtType,
    InstallmentChargePeriod,
    InstallmentCharges,
    RegisteredDebt,
    RepaymentLoan,
    Terms,
)

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
    Index("debts_by_debtor", "debtor_index"),
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
    Index("deliveries_by_request", "creditor", "request_id", unique=True),
)


@dataclass(frozen=True)
class Delivery:
    id: uuid.UUID
    request_id: str
    content_digest: bytes
    registered_count: int
    closed_count: int
    unknown_close_count: int
    receive_time: datetime


@dataclass(frozen=True)
class StoredDebt:
    """A debt row ready to write: the debtor already hashed and encrypted."""

    debt: domain.Debt
    debtor_index: bytes
    debtor_encrypted: bytes


def _terms_columns(terms: Terms) -> dict[str, Any]:
    columns: dict[str, Any] = {"debt_type": terms.debt_type.value}
    for name in (
        "original_balance",
        "balance",
        "remaining_term_months",
        "credit_limit",
        "interest_bearing_balance",
        "non_interest_bearing_balance",
        "nominal_interest_rate_bp",
        "effective_interest_rate_bp",
    ):
        columns[name] = getattr(terms, name, None)
    charges = getattr(terms, "installment_charges", None)
    columns["installment_charges"] = charges.monthly_amount if charges else None
    columns["installment_charge_period"] = charges.period.value if charges else None
    return columns


def _terms_from_row(row: Any) -> Terms:
    kind = DebtType(row.debt_type)
    if kind is DebtType.CHARGE_CARD:
        return ChargeCard(row.interest_bearing_balance, row.non_interest_bearing_balance)
    charges = InstallmentCharges(row.installment_charges, InstallmentChargePeriod(row.installment_charge_period))
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


def registered_debt(row: Any, debtor: str | None = None) -> RegisteredDebt:
    return RegisteredDebt(
        creditor=row.creditor,
        account_id=row.account_id,
        co_borrower_role=CoBorrowerRole(row.co_borrower_role),
        extract_time=row.extract_time,
        terms=_terms_from_row(row),
        confirm_time=row.confirm_time,
        debtor=debtor,
    )


class DebtRegister:
    """Queries on the register, within a transaction the caller holds."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def claim_delivery(self, creditor: str, request_id: str, digest: bytes) -> tuple[Delivery, bool]:
        """Record a delivery, or find the one already recorded under its request id. True if new."""
        row = (
            await self._db.execute(
                insert(deliveries)
                .values(
                    id=uuid.uuid4(),
                    creditor=creditor,
                    request_id=request_id,
                    content_digest=digest,
                    registered_count=0,
                    closed_count=0,
                    unknown_close_count=0,
                )
                .on_conflict_do_nothing(index_elements=["creditor", "request_id"])
                .returning(*deliveries.c)
            )
        ).first()
        if row is not None:
            return Delivery(**_delivery_fields(row)), True
        existing = (
            await self._db.execute(
                select(deliveries).where(deliveries.c.creditor == creditor, deliveries.c.request_id == request_id)
            )
        ).one()
        return Delivery(**_delivery_fields(existing)), False

    async def finish_delivery(self, delivery: Delivery, registered: int, closed: int, unknown: int) -> Delivery:
        await self._db.execute(
            update(deliveries)
            .where(deliveries.c.id == delivery.id)
            .values(registered_count=registered, closed_count=closed, unknown_close_count=unknown)
        )
        return Delivery(
            delivery.id,
            delivery.request_id,
            delivery.content_digest,
            registered,
            closed,
            unknown,
            delivery.receive_time,
        )

    async def register(self, creditor: str, rows: Sequence[StoredDebt]) -> None:
        """Insert or overwrite debts: the previous state is replaced, not kept (DOM-7)."""
        if not rows:
            return
        values = [
            {
                "creditor": creditor,
                "account_id": r.debt.account_id,
                "debtor_index": r.debtor_index,
                "debtor_encrypted": r.debtor_encrypted,
                "co_borrower_role": r.debt.co_borrower_role.value,
                "extract_time": r.debt.extract_time,
                "confirm_time": func.now(),
                **_terms_columns(r.debt.terms),
            }
            for r in rows
        ]
        statement = insert(debts).values(values)
        replaced = {
            c.name: statement.excluded[c.name]
            for c in debts.c
            if c.name not in ("creditor", "account_id", "debtor_index")
        }
        await self._db.execute(
            statement.on_conflict_do_update(index_elements=["creditor", "account_id", "debtor_index"], set_=replaced)
        )

    async def close(self, creditor: str, keys: Sequence[tuple[str, bytes]]) -> int:
        """Delete closed or repaid debts (DOM-7); returns how many were held."""
        if not keys:
            return 0
        result = await self._db.execute(
            delete(debts).where(
                debts.c.creditor == creditor, tuple_(debts.c.account_id, debts.c.debtor_index).in_(keys)
            )
        )
        return int(result.rowcount)

    async def of_creditor(self, creditor: str, after: tuple[str, bytes] | None, limit: int) -> list[Any]:
        query = select(debts).where(debts.c.creditor == creditor)
        if after is not None:
            query = query.where(beyond((debts.c.account_id, debts.c.debtor_index), after, descending=False))
        rows = await self._db.execute(query.order_by(debts.c.account_id, debts.c.debtor_index).limit(limit))
        return list(rows)

    async def of_subject(self, debtor_index: bytes) -> list[RegisteredDebt]:
        rows = await self._db.execute(
            select(debts).where(debts.c.debtor_index == debtor_index).order_by(debts.c.creditor, debts.c.account_id)
        )
        return [registered_debt(row) for row in rows]


def _delivery_fields(row: Any) -> dict[str, Any]:
    return {
        k: getattr(row, k)
        for k in (
            "id",
            "request_id",
            "content_digest",
            "registered_count",
            "closed_count",
            "unknown_close_count",
            "receive_time",
        )
    }
