"""One replica at a time (`db.exclusive`): the lock is given back however the work ends, and never stays behind on a
pooled connection."""

from __future__ import annotations

import asyncio

from gjeld_shared import db
from gjeld_tools import devstack


async def test_work_cancelled_midway_gives_the_lock_back(postgres: str, database: str) -> None:
    one, two = (db.create_engine(devstack.database_url(postgres, "lookup", database)) for _ in range(2))
    try:
        started = asyncio.Event()

        async def work() -> None:
            async with db.exclusive(one, "gjeld:test-round") as held:
                assert held
                started.set()
                await asyncio.sleep(60)

        task = asyncio.create_task(work())
        await started.wait()
        async with db.exclusive(two, "gjeld:test-round") as held:
            assert not held  # the other replica is at it
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        async with db.exclusive(two, "gjeld:test-round") as held:
            assert held  # cancelled (a replica stopping), it let go
        async with one.connect() as connection:  # and no pooled connection of the first keeps a lock
            locks = await connection.exec_driver_sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
            assert locks.scalar_one() == 0
    finally:
        await one.dispose()
        await two.dispose()
