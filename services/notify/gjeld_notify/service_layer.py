"""notify's use cases: record a notice once per source, deliver pending notices, list a subject's notices."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import datetime
from typing import Any

from gjeld.notify.v1 import notify_pb2
from gjeld_shared.identity_numbers import SubjectKeys
from gjeld_shared.server import backoff, drain_when_due
from gjeld_shared.timestamps import now
from sqlalchemy.ext.asyncio import AsyncEngine

from . import letters
from .adapters import Mailbox, NoticeStore

log = logging.getLogger(__name__)


class Notices:
    def __init__(self, engine: AsyncEngine, keys: SubjectKeys, mailbox: Mailbox) -> None:
        self._engine = engine
        self._keys = keys
        self._mailbox = mailbox

    async def enqueue(self, source_id: str, subject: str, letter: notify_pb2.CopyLetter) -> tuple[Any, bool]:
        """Record a copy letter for delivery; the same source id again returns the first (idempotent)."""
        moment = now()
        async with self._engine.begin() as connection:
            return await NoticeStore(connection).add(
                {
                    "id": uuid.uuid4(),
                    "source_id": source_id,
                    "subject_index": self._keys.blind_index(subject),
                    "kind": "copy_letter",
                    "content": letter.SerializeToString(),
                    "channel": self._mailbox.channel,
                    "state": "pending",
                    "next_attempt_time": moment,
                    "create_time": moment,
                }
            )

    async def deliver_due(self, limit: int = 20) -> int:
        """Deliver the pending notices whose time has come; returns how many were delivered."""
        delivered = 0
        async with self._engine.begin() as connection:
            store = NoticeStore(connection)
            for row in await store.due(now(), limit):
                letter = notify_pb2.CopyLetter.FromString(row.content)
                try:
                    await self._mailbox.deliver(row.subject_index, row.id, letters.render(letter))
                except Exception as error:  # noqa: BLE001 - any channel failure is retried later
                    log.warning(
                        "delivery of notice %s failed (attempt %d): %s", row.id, row.attempts + 1, type(error).__name__
                    )
                    await store.failed(row.id, now() + backoff(row.attempts), type(error).__name__)
                    continue
                await store.delivered(row.id, now())
                delivered += 1
        return delivered

    async def run_delivery(self, stopping: asyncio.Event, interval: float = 0.5) -> None:
        """The delivery worker: polls for due notices until the service stops."""
        await drain_when_due(stopping, interval, self.any_due, self.deliver_due, "delivery")

    async def any_due(self) -> bool:
        async with self._engine.connect() as connection:
            return await NoticeStore(connection).any_due(now())

    async def of_subject(self, subject: str, before: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Any]:
        async with self._engine.connect() as connection:
            return await NoticeStore(connection).of_subject(self._keys.blind_index(subject), before, limit)
