"""notify's unit of work: nothing is kept unless committed."""

from __future__ import annotations

from gjeld_notify.adapters import NoticeUnitOfWork
from gjeld_notify.domain import Preferences
from gjeld_shared.timestamps import now
from gjeld_tools.testing import rolls_back_unless_committed, service_engine

SUBJECT_INDEX = b"\x01" + bytes(32)


async def test_nothing_is_kept_unless_committed(postgres: str, database: str) -> None:
    engine = service_engine(postgres, "notify", database)
    try:
        await rolls_back_unless_committed(
            lambda: NoticeUnitOfWork(engine),
            lambda uow: uow.notices.set_preferences(SUBJECT_INDEX, Preferences("person@example.org", "nb", now())),
            lambda uow: _has_email(uow),
        )
    finally:
        await engine.dispose()


async def _has_email(uow: NoticeUnitOfWork) -> bool:
    return (await uow.notices.preferences_of(SUBJECT_INDEX)).update_time is not None
