"""The unit of work: one transaction of a use case, with the service's stores as attributes (cosmicpython's
`unit_of_work.py`). Whatever a use case does through it is rolled back unless it calls `commit()`: when it returns
without committing, and when it fails. Use cases never open connections or touch the driver themselves.

    async with self._uow() as uow:
        consent = await uow.consents.get(...)
        await uow.consents.withdraw(...)
        await uow.commit()

Each service's unit of work names its stores in `bind`, given the transaction's connection.

A use case that reads with one statement needs no transaction: `async with self._uow().reading() as uow` runs it
without BEGIN and ROLLBACK (two round trips of three, on a lookup's path); such a unit of work cannot commit.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class UnitOfWork:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None
        self._reading = False

    def reading(self) -> Self:
        """This unit of work for one statement's read: no transaction (the statement sees its own snapshot)."""
        self._reading = True
        return self

    def bind(self, connection: AsyncConnection) -> None:
        """Make the service's stores on the transaction's connection (each service's unit of work)."""

    @property
    def connection(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("the unit of work is used outside its `async with`")
        return self._connection

    async def __aenter__(self) -> Self:
        self._connection = await self._engine.connect()
        if self._reading:
            # The driver's autocommit: set on the client, no round trip; the pool resets it when the connection is
            # returned.
            await self._connection.execution_options(isolation_level="AUTOCOMMIT")
            self.bind(self._connection)
        else:
            await self._begin(self._connection)
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        connection, self._connection = self.connection, None
        try:
            await self._rollback(connection)
        finally:
            await connection.close()

    async def _begin(self, connection: AsyncConnection) -> None:
        await connection.begin()
        self.bind(connection)

    async def _rollback(self, connection: AsyncConnection) -> None:
        """Undo whatever was not committed."""
        if connection.in_transaction():
            await connection.rollback()

    async def commit(self) -> None:
        if self._reading:
            raise RuntimeError("a reading unit of work has nothing to commit")
        await self.connection.commit()
