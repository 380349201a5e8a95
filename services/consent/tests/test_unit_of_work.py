"""consent's unit of work: nothing is kept unless committed."""

from __future__ import annotations

from gjeld_consent.adapters import ConsentUnitOfWork
from gjeld_shared.timestamps import now
from gjeld_tools.testing import rolls_back_unless_committed, service_engine

SUBJECT_INDEX = b"\x01" + bytes(32)


async def test_nothing_is_kept_unless_committed(postgres: str, database: str) -> None:
    engine = service_engine(postgres, "consent", database)
    try:
        await rolls_back_unless_committed(
            lambda: ConsentUnitOfWork(engine),
            lambda uow: uow.consents.block(SUBJECT_INDEX, now()),
            lambda uow: _blocked(uow),
        )
    finally:
        await engine.dispose()


async def _blocked(uow: ConsentUnitOfWork) -> bool:
    return await uow.consents.blocked_since(SUBJECT_INDEX) is not None
