"""ingest's units of work: nothing is kept unless committed, on the delivery path (the driver's own transaction)
as on the others."""

from __future__ import annotations

import uuid

from gjeld_ingest.adapters import IngestUnitOfWork
from gjeld_ingest.domain import DeliveryKind, Strictness
from gjeld_ingest.staging import DeliveryUnitOfWork
from gjeld_shared.timestamps import now
from gjeld_tools.testing import BANK, LENDER, rolls_back_unless_committed, service_engine


async def test_nothing_is_kept_unless_committed(postgres: str, database: str) -> None:
    engine = service_engine(postgres, "ingest", database)

    async def propose(uow: IngestUnitOfWork) -> None:
        await uow.handovers.propose(BANK, LENDER, ["ACC-1"], "uow-test", b"digest")

    async def proposed(uow: IngestUnitOfWork) -> bool:
        return (await uow.connection.exec_driver_sql("SELECT 1 FROM ingest.handovers")).first() is not None

    try:
        await rolls_back_unless_committed(lambda: IngestUnitOfWork(engine), propose, proposed)
    finally:
        await engine.dispose()


async def test_a_delivery_is_kept_only_when_committed(postgres: str, database: str) -> None:
    engine = service_engine(postgres, "ingest", database)
    request_id = f"uow-{uuid.uuid4().hex}"

    async def claim(uow: DeliveryUnitOfWork) -> None:
        counts = (0, 0, 0, 0, 0, 0, 0)
        await uow.log.claim(
            uuid.uuid4(), BANK, request_id, b"d", DeliveryKind.CHANGES, Strictness.ALL_OR_NOTHING, now(), counts
        )

    async def claimed(uow: DeliveryUnitOfWork) -> bool:
        return await uow.log.find(BANK, request_id) is not None

    try:
        await rolls_back_unless_committed(lambda: DeliveryUnitOfWork(engine), claim, claimed)
    finally:
        await engine.dispose()
