"""notify's storage (the `notify` schema) and its delivery channels.

The development mailbox writes each notice as a file under `.data/mailbox/`, in a
folder named by a prefix of the subject's keyed hash (never the identity number),
and file names by notice id, so a second delivery of the same notice overwrites
rather than duplicates.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from gjeld_shared.db import beyond
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncConnection

SCHEMA = "notify"
metadata = MetaData(schema=SCHEMA)

notices = Table(
    "notices",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("source_id", String(64), nullable=False, unique=True),
    Column("subject_index", LargeBinary, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_time", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("deliver_time", DateTime(timezone=True)),
    Index("notices_by_subject", "subject_index", "create_time"),
    Index("notices_pending", "next_attempt_time", postgresql_where="state = 'pending'"),
)


class Mailbox(Protocol):
    """A channel that delivers a rendered notice to a subject."""

    channel: str

    async def deliver(self, subject_index: bytes, notice_id: uuid.UUID, text: str) -> None: ...


class DevelopmentMailbox:
    """The development digital mailbox: files a person can open under `.data/mailbox/`."""

    channel = "digital_mailbox"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def subject_folder(self, subject_index: bytes) -> Path:
        return self.folder / subject_index.hex()[:16]

    async def deliver(self, subject_index: bytes, notice_id: uuid.UUID, text: str) -> None:
        folder = self.subject_folder(subject_index)
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f".{notice_id}.tmp"
        partial.write_text(text, encoding="utf-8")
        partial.replace(folder / f"{notice_id}.txt")


class NoticeStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def add(self, values: dict[str, Any]) -> tuple[Any, bool]:
        """Record a notice, or return the one already recorded for its source id. True if new."""
        row = (
            await self._db.execute(
                insert(notices)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["source_id"])
                .returning(*notices.c)
            )
        ).first()
        if row is not None:
            return row, True
        return (await self._db.execute(select(notices).where(notices.c.source_id == values["source_id"]))).one(), False

    async def any_due(self, now: datetime) -> bool:
        return bool(
            (
                await self._db.execute(
                    select(notices.c.id)
                    .where(notices.c.state == "pending", notices.c.next_attempt_time <= now)
                    .limit(1)
                )
            ).first()
        )

    async def due(self, now: datetime, limit: int) -> list[Any]:
        """Pending notices whose time has come, locked so that no other worker takes them."""
        return list(
            await self._db.execute(
                select(notices)
                .where(notices.c.state == "pending", notices.c.next_attempt_time <= now)
                .order_by(notices.c.next_attempt_time)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )

    async def delivered(self, notice_id: uuid.UUID, when: datetime) -> None:
        await self._db.execute(
            update(notices)
            .where(notices.c.id == notice_id)
            .values(state="delivered", deliver_time=when, attempts=notices.c.attempts + 1, last_error=None)
        )

    async def failed(self, notice_id: uuid.UUID, retry_at: datetime, error: str) -> None:
        await self._db.execute(
            update(notices)
            .where(notices.c.id == notice_id)
            .values(attempts=notices.c.attempts + 1, next_attempt_time=retry_at, last_error=error[:500])
        )

    async def of_subject(
        self, subject_index: bytes, before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Any]:
        query = select(notices).where(notices.c.subject_index == subject_index)
        if before is not None:
            query = query.where(beyond((notices.c.create_time, notices.c.id), before, descending=True))
        return list(
            await self._db.execute(query.order_by(notices.c.create_time.desc(), notices.c.id.desc()).limit(limit))
        )
