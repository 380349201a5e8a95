"""The unit of work: a transaction around a use case, or none around a one-statement read (`reading()`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from gjeld_shared import db
from gjeld_shared.unit_of_work import UnitOfWork
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


@pytest.fixture
async def engine(postgres: str, database: str) -> AsyncIterator[AsyncEngine]:
    made = db.create_engine(f"postgresql+asyncpg://postgres@/{database}?host={postgres}", pool_size=1)
    yield made
    await made.dispose()


async def _transaction_ids(uow: UnitOfWork) -> set[int]:
    """The transactions two statements ran in."""
    first = (await uow.connection.execute(text("SELECT txid_current()"))).scalar_one()
    second = (await uow.connection.execute(text("SELECT txid_current()"))).scalar_one()
    return {first, second}


async def test_a_reading_unit_of_work_opens_no_transaction_and_leaves_none_behind(engine: AsyncEngine) -> None:
    # Breaking it (BEGIN anyway) puts both statements in one transaction; leaking the driver's autocommit into the
    # pool (the next unit of work on the same connection) takes the next use case's transaction apart.
    async with UnitOfWork(engine).reading() as uow:
        assert len(await _transaction_ids(uow)) == 2
        with pytest.raises(RuntimeError):
            await uow.commit()
    async with UnitOfWork(engine) as uow:  # the pool's one connection again
        assert len(await _transaction_ids(uow)) == 1
