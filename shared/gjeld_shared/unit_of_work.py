"""The unit of work: one transaction of a use case, with the service's stores as attributes (cosmicpython's
`unit_of_work.py`). Whatever a use case does through it is rolled back unless it calls `commit()`: when it returns
without committing, and when it fails. Use cases never open connections or touch the driver themselves.

    async with self._uow() as uow:
        consent = await uow.consents.get(...)
        await uow.consents.withdraw(...)
        await uow.commit()

Each service's unit of work names its stores in `bind`, given the transaction's connection.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class UnitOfWork:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._connection: AsyncConnection | None = None

    def bind(self, connection: AsyncConnection) -> None:
        """Make the service's stores on the transaction's connection (each service's unit of work)."""

    @property
    def connection(self) -> AsyncConnection:
        if self._connection is None:
            raise RuntimeError("the unit of work is used outside its `async with`")
        return self._connection

    async def __aenter__(self) -> Self:
        self._connection = await self._engine.connect()
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
        await self.connection.commit()
