"""Reading a score-model extract round (DOM-11) from one snapshot of the register.

All packages of a round must be cut at the same instant, however long the round takes. The round is read in one
REPEATABLE READ transaction: its snapshot is taken by its first statement, and every order of the round, read one
after another as the caller asks, sees the register exactly as it was then, whatever deliveries land meanwhile. The
listed persons are staged in a temporary table (gone with the transaction) and joined to the register: a customer is
a listed person with a debt registered by one of the order's creditors, and comes back with all of their debts.
The caller paces the round; the transaction may wait on it between orders, bounded by `pause`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import asyncpg
from gjeld_shared.errors import FieldViolation, InvalidArgument
from gjeld_shared.identity_numbers import SubjectKeys
from gjeld_shared.unit_of_work import UnitOfWork
from sqlalchemy import column, exists, select, table, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from .adapters import DEBT_READ, debts, registered_debt
from .domain import RegisteredDebt

ANSWER_BATCH = 1000
# The round's listed persons: a temporary table of the round's transaction (no schema: the session's own).
LISTED = table("extract_listed", column("order_id"), column("debtor_index"), column("subject"))


class ExtractUnitOfWork(UnitOfWork):
    """A round's transaction: REPEATABLE READ, its snapshot taken by its first statement, which reads the instant."""

    instant: datetime

    def __init__(self, engine: AsyncEngine, pause: float) -> None:
        super().__init__(engine)
        self._pause = pause

    async def _begin(self, connection: AsyncConnection) -> None:
        await connection.execution_options(isolation_level="REPEATABLE READ")
        await connection.begin()
        self.instant = (await connection.execute(text("SELECT clock_timestamp()"))).scalar_one()
        # The caller works on each order's answer before asking for the next: this transaction waits on it, so long.
        await connection.execute(text(f"SET LOCAL idle_in_transaction_session_timeout = {int(self._pause * 1000)}"))
        await connection.execute(
            text(
                "CREATE TEMPORARY TABLE extract_listed (order_id uuid, debtor_index bytea, subject text) ON COMMIT DROP"
            )
        )
        self.bind(connection)

    async def stage(self, order_id: uuid.UUID, listed: Sequence[tuple[bytes, str]]) -> None:
        driver: asyncpg.Connection = (await self.connection.get_raw_connection()).driver_connection
        await driver.copy_records_to_table(
            "extract_listed", records=[(order_id, index, subject) for index, subject in listed]
        )

    async def customers(
        self, order_id: uuid.UUID, creditors: Sequence[str]
    ) -> AsyncIterator[tuple[str, list[RegisteredDebt]]]:
        """Each listed person of the order who has a debt at one of `creditors`, with all their debts."""
        owner = debts.alias("owner")
        customer = exists().where(owner.c.debtor_index == LISTED.c.debtor_index, owner.c.creditor.in_(creditors))
        query = (
            select(LISTED.c.subject, *DEBT_READ)
            .join_from(LISTED, debts, debts.c.debtor_index == LISTED.c.debtor_index)
            .where(LISTED.c.order_id == order_id, customer)
            .order_by(LISTED.c.debtor_index, debts.c.creditor, debts.c.account_id)
        )
        result = await self.connection.stream(query)
        current: str | None = None
        held: list[RegisteredDebt] = []
        async for rows in result.partitions(ANSWER_BATCH):
            for row in rows:
                subject = row[0]
                if subject != current and current is not None:
                    yield current, held
                    held = []
                current = subject
                held.append(registered_debt(row))
        if current is not None:
            yield current, held


@dataclass(frozen=True)
class OrderStart:
    order_id: uuid.UUID
    creditors: tuple[str, ...]


@dataclass(frozen=True)
class Listed:
    subjects: tuple[str, ...]


@dataclass(frozen=True)
class OrderEnd:
    pass


@dataclass(frozen=True)
class Customers:
    order_id: uuid.UUID
    customers: list[tuple[str, list[RegisteredDebt]]]


@dataclass(frozen=True)
class OrderRead:
    order_id: uuid.UUID
    customer_count: int
    not_customer_count: int


Asked = OrderStart | Listed | OrderEnd
Answer = datetime | Customers | OrderRead


class ExtractReads:
    """Rounds read for lookup (the use case behind ReadExtract)."""

    def __init__(self, unit_of_work: Callable[[], ExtractUnitOfWork], keys: SubjectKeys) -> None:
        self._uow, self._keys = unit_of_work, keys

    async def read(self, asked: AsyncIterator[Asked]) -> AsyncIterator[Answer]:
        """A round's answers, as the caller asks: the instant first, then for each order its customers (in
        batches) and its counts. An order's persons are staged as they come and read at its end."""
        async with self._uow() as uow:
            yield uow.instant
            order: OrderStart | None = None
            listed = 0
            async for message in asked:
                if isinstance(message, OrderStart):
                    order, listed = message, 0
                elif order is None:
                    raise InvalidArgument([FieldViolation("part", "an order must begin before its customers or end")])
                elif isinstance(message, Listed):
                    await uow.stage(order.order_id, [(self._keys.blind_index(s), s) for s in message.subjects])
                    listed += len(message.subjects)
                else:
                    found = 0
                    batch: list[tuple[str, list[RegisteredDebt]]] = []
                    async for customer in uow.customers(order.order_id, order.creditors):
                        batch.append(customer)
                        found += 1
                        if len(batch) == ANSWER_BATCH:
                            yield Customers(order.order_id, batch)
                            batch = []
                    if batch:
                        yield Customers(order.order_id, batch)
                    yield OrderRead(order.order_id, found, listed - found)
                    order = None
