"""notify's use cases: record a notice once per source (merging repeated lookups for the same application),
deliver due notices by the subject's channel with retries and a dead-letter list, and what subjects and operators
read and change."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gjeld.notify.v1 import notify_pb2
from gjeld_shared.errors import FailedPrecondition
from gjeld_shared.identity_numbers import SubjectKeys
from gjeld_shared.server import backoff, drain_when_due
from gjeld_shared.timestamps import now

from . import letters
from .adapters import Channels, NoticeStore, NoticeUnitOfWork, PopulationRegister
from .domain import Channel, Notice, choose_channel, merge_key

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPolicy:
    merge_window: timedelta
    max_attempts: int
    backoff_cap_seconds: float = 300.0


class Notices:
    def __init__(
        self,
        unit_of_work: Callable[[], NoticeUnitOfWork],
        keys: SubjectKeys,
        channels: Channels,
        population: PopulationRegister,
        policy: DeliveryPolicy,
    ) -> None:
        self._uow = unit_of_work
        self._keys = keys
        self._channels = channels
        self._population = population
        self._policy = policy

    async def enqueue(self, source_id: str, subject: str, letter: notify_pb2.CopyLetter) -> tuple[Notice, bool]:
        """Record a copy letter for delivery, once per source id (a repeat returns the notice that has it).

        A letter with an application reference waits for the merge window, and later letters from the same
        recipient about the same application join it: one notice for a burst of lookups."""
        moment = now()
        subject_index = self._keys.blind_index(subject)
        key = merge_key(letter.recipient.organization_number.value, letter.application_reference)
        content = letter.SerializeToString()
        async with self._uow() as uow:
            store = uow.notices
            earlier = await store.notice_of_source(source_id)
            if earlier is not None:
                return (await store.notices([earlier]))[0], False
            joined = await store.mergeable(subject_index, key, moment) if key else None
            if joined is not None and await store.add_source(joined.id, source_id, content, moment):
                await uow.commit()
                return (await store.notices([joined]))[0], True
            row = await store.add(
                {
                    "id": uuid.uuid4(),
                    "source_id": source_id,
                    "subject_index": subject_index,
                    "subject_encrypted": self._keys.encrypt(subject),
                    "kind": "copy_letter",
                    "content": content,
                    "channel": "",
                    "state": "pending",
                    "merge_key": key,
                    "next_attempt_time": moment + self._policy.merge_window if key else moment,
                    "create_time": moment,
                }
            )
            await uow.commit()
            return (await store.notices([row]))[0], True

    async def _deliver_one(self, store: NoticeStore, row: Any, notice: Notice) -> None:
        """Send one notice by the subject's channel, or count the failure (giving up into the dead-letter list).
        The row holds what only delivery needs: the subject, encrypted, and its blind index."""
        channel: Channel | None = None
        try:
            subject = self._keys.decrypt(row.subject_encrypted)
            contact = await self._population.contact(subject)
            preferences = await store.email_of(row.subject_index)
            email = preferences.email_address if preferences else ""
            channel = choose_channel(contact, email)
            message = letters.message(notice.letters, contact)
            await self._channels.send(channel, row.id, row.subject_index.hex()[:16], contact, email, message)
        except Exception as error:  # noqa: BLE001 - any channel failure is retried, then kept for an operator
            attempts = row.attempts + 1
            give_up = attempts >= self._policy.max_attempts
            log.warning(
                "delivery of notice %s failed (attempt %d%s): %s",
                row.id,
                attempts,
                ", giving up" if give_up else "",
                type(error).__name__,
            )
            retry_at = now() + backoff(row.attempts, self._policy.backoff_cap_seconds)
            await store.failed(row.id, channel, retry_at, f"{type(error).__name__}: {error}", give_up)
            return
        await store.delivered(row.id, channel, now())

    async def deliver_due(self, limit: int = 20) -> int:
        """Deliver the pending notices whose time has come; returns how many were attempted.

        Each notice is locked while it is sent and marked in the same transaction, so no two workers send it;
        a crash between sending and committing sends it again under the same notice id, which the channels treat
        as the same message."""
        async with self._uow() as uow:
            due = await uow.notices.due(now(), limit)
            for row, notice in zip(due, await uow.notices.notices(due), strict=True):
                await self._deliver_one(uow.notices, row, notice)
            await uow.commit()
        return len(due)

    async def run_delivery(self, stopping: asyncio.Event, interval: float = 0.5) -> None:
        """The delivery worker: polls for due notices until the service stops."""
        await drain_when_due(stopping, interval, self.any_due, self.deliver_due, "delivery")

    async def any_due(self) -> bool:
        async with self._uow() as uow:
            return await uow.notices.any_due(now())

    async def of_subject(self, subject: str, before: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Notice]:
        async with self._uow() as uow:
            found = await uow.notices.of_subject(self._keys.blind_index(subject), before, limit)
            return await uow.notices.notices(found)

    async def failed(self, before: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Notice]:
        async with self._uow() as uow:
            return await uow.notices.notices(await uow.notices.failed_notices(before, limit))

    async def retry(self, notice_id: uuid.UUID) -> Notice:
        async with self._uow() as uow:
            row = await uow.notices.retry(notice_id, now())
            if row is None:
                raise FailedPrecondition(
                    "NOTICE_NOT_FAILED", "no failed notice has this id", {"notice_id": str(notice_id)}
                )
            await uow.commit()
            return (await uow.notices.notices([row]))[0]

    async def email_preference(self, subject: str) -> tuple[str, datetime | None]:
        async with self._uow() as uow:
            row = await uow.notices.email_of(self._keys.blind_index(subject))
        return (row.email_address, row.update_time) if row else ("", None)

    async def set_email_preference(self, subject: str, email: str) -> datetime:
        moment = now()
        async with self._uow() as uow:
            await uow.notices.set_email(self._keys.blind_index(subject), email, moment)
            await uow.commit()
        return moment
