"""lookup's unit of work: nothing is kept unless committed."""

from __future__ import annotations

import uuid

from gjeld_lookup.adapters import DisclosureUnitOfWork
from gjeld_lookup.domain import Disclosure, Purpose
from gjeld_shared.timestamps import now
from gjeld_tools.testing import rolls_back_unless_committed, service_engine

SUBJECT_INDEX = b"\x01" + bytes(32)


async def test_nothing_is_kept_unless_committed(postgres: str, database: str) -> None:
    engine = service_engine(postgres, "lookup", database)

    async def record(uow: DisclosureUnitOfWork) -> None:
        disclosure = Disclosure(uuid.uuid4(), None, Purpose.SUBJECT_ACCESS, None, now(), 0, "", "", False)
        await uow.disclosures.record(disclosure, SUBJECT_INDEX, b"")

    async def recorded(uow: DisclosureUnitOfWork) -> bool:
        return bool(await uow.disclosures.of_subject(SUBJECT_INDEX, None, 1))

    try:
        await rolls_back_unless_committed(lambda: DisclosureUnitOfWork(engine), record, recorded)
    finally:
        await engine.dispose()
