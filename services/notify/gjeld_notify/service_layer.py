"""notify's use cases: record a notice once per source (merging repeated lookups for the same application),
deliver due notices by the subject's channel with retries and a dead-letter list, and what subjects and operators
read and change."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gjeld.notify.v1 import notify_pb2
from gjeld_shared.errors import FailedPrecondition, NotFound
from gjeld_shared.identity_numbers import SubjectKeys
from gjeld_shared.server import backoff, drain_when_due
from gjeld_shared.timestamps import now

from . import letters
from .adapters import Channels, NoticeUnitOfWork, PopulationRegister
from .domain import (
    Channel,
    Contact,
    InstitutionNotice,
    Message,
    Notice,
    Preferences,
    choose_alert_channel,
    choose_channel,
    merge_key,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPolicy:
    merge_window: timedelta
    max_attempts: int
    backoff_cap_seconds: float = 300.0
    # The longest one delivery may take (reading the contact register, drawing the letter, the provider's call).
    send_timeout_seconds: float = 30.0

    @property
    def claim(self) -> timedelta:
        """How long a claimed notice is its worker's alone: past it, a worker that died mid-send has let it go."""
        return timedelta(seconds=2 * self.send_timeout_seconds)


@dataclass(frozen=True)
class Claimed:
    """A notice a delivery worker has claimed, with what sending it needs."""

    row: Any
    notice: Notice
    preferences: Preferences  # the address the subject consented to, if any, and their language


@dataclass(frozen=True)
class Outcome:
    """How a claimed notice's attempt ended: delivered by `channel`, or failed with `error` (due again at
    `retry_at`, or given up); and the letter rendered for it, sealed, with its language, if it was rendered now."""

    row: Any
    channel: Channel | None
    rendered: tuple[bytes, str] | None
    error: str | None = None
    retry_at: datetime | None = None
    give_up: bool = False


Content = notify_pb2.CopyLetter | notify_pb2.CorrectionOutcome | notify_pb2.IdentityTheftAlert
KINDS = {
    notify_pb2.CopyLetter: "copy_letter",
    notify_pb2.CorrectionOutcome: "correction",
    notify_pb2.IdentityTheftAlert: "alert",
}
# A copy letter of a lookup made while the subject's identity-theft flag stood brings an alert, sent at once by the
# fastest channel (it never waits for the merge window): its source id is the letter's with this prefix.
ALERT_PREFIX = "alert:"
MAX_ALERTED_SOURCE_ID = 64 - len(ALERT_PREFIX)


def with_alerts(wanted: Sequence[_Wanted]) -> list[_Wanted]:
    """The notices asked for, each copy letter of a flagged lookup followed by its alert."""
    found: list[_Wanted] = []
    for one in wanted:
        found.append(one)
        letter = one.letter
        if isinstance(letter, notify_pb2.CopyLetter) and letter.identity_theft_flag:
            alert = notify_pb2.IdentityTheftAlert(
                recipient=letter.recipient, disclose_time=letter.disclose_time, disclosure_id=one.source_id
            )
            found.append(_Wanted(ALERT_PREFIX + one.source_id, one.subject, alert, one.subject_index))
    return found


@dataclass(frozen=True)
class _Wanted:
    """One notice asked for: its source, subject and content."""

    source_id: str
    subject: str
    letter: Content
    subject_index: bytes

    @property
    def merge_key(self) -> str | None:
        """A copy letter's key for joining a notice about the same application (DOM-13's burst of lookups)."""
        if not isinstance(self.letter, notify_pb2.CopyLetter):
            return None
        return merge_key(self.letter.recipient.organization_number.value, self.letter.application_reference)

    def locks(self) -> list[str]:
        return [self.source_id, *([f"{self.subject_index.hex()}|{self.merge_key}"] if self.merge_key else [])]


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

    async def enqueue(self, source_id: str, subject: str, letter: Content) -> tuple[Notice, bool]:
        """Record a copy letter (or a correction's outcome) for delivery, once per source id (a repeat returns the
        notice that has it).

        A letter with an application reference waits for the merge window, and later letters from the same
        recipient about the same application join it: one notice for a burst of lookups."""
        return (await self.enqueue_many([(source_id, subject, letter)]))[0]

    async def enqueue_many(self, items: Sequence[tuple[str, str, Content]]) -> list[tuple[Notice, bool]]:
        """Record several notices as `enqueue` does, in one transaction (a relay's batch): for each, its notice and
        whether this call recorded it."""
        wanted = [
            _Wanted(source_id, subject, letter, self._keys.blind_index(subject)) for source_id, subject, letter in items
        ]
        async with self._uow() as uow:
            store = uow.notices
            # One enqueue at a time per source, then per application: a repeat sent while the first is still being
            # recorded waits for it and finds its notice, and letters racing for one application join one notice
            # (without this, two could each find none, and one notice end with no letter in it). Taken in one
            # order, so that two batches never wait on each other in a circle.
            everything = with_alerts(wanted)
            for key in sorted({key for one in everything for key in one.locks()}):
                await store.serialize(key)
            moment = now()  # after the wait: a notice's merge window is judged as it stands now
            recorded = [await self._record(store, one, moment) for one in everything]
            await uow.commit()
            # What was asked for, in order: not the alerts that came with it (no caller asks for one).
            alerts = notify_pb2.IdentityTheftAlert
            asked = [r for one, r in zip(everything, recorded, strict=True) if not isinstance(one.letter, alerts)]
            found = await store.notices([row for row, _ in asked])
        return [(notice, created) for notice, (_, created) in zip(found, asked, strict=True)]

    async def _record(self, store: Any, one: _Wanted, moment: datetime) -> tuple[Any, bool]:
        earlier = await store.notice_of_source(one.source_id)
        if earlier is not None:
            return earlier, False
        content = one.letter.SerializeToString()
        joined = await store.mergeable(one.subject_index, one.merge_key, moment) if one.merge_key else None
        if joined is not None and await store.add_source(joined.id, one.source_id, content, moment):
            return joined, True
        row = await store.add(
            {
                "id": uuid.uuid4(),
                "source_id": one.source_id,
                "subject_index": one.subject_index,
                "subject_encrypted": self._keys.encrypt(one.subject),
                "kind": KINDS[type(one.letter)],
                "content": content,
                "channel": "",
                "state": "pending",
                "merge_key": one.merge_key,
                "next_attempt_time": moment + self._policy.merge_window if one.merge_key else moment,
                "create_time": moment,
            }
        )
        return row, True

    async def _deliver_one(self, claimed: Claimed) -> Outcome:
        """Send one claimed notice by the subject's channel, with no transaction open: delivered, or the failure
        counted (given up into the dead-letter list after the most attempts)."""
        row, notice = claimed.row, claimed.notice
        channel: Channel | None = None
        rendered = None
        try:
            async with asyncio.timeout(self._policy.send_timeout_seconds):
                subject = self._keys.decrypt(row.subject_encrypted)
                contact = await self._population.contact(subject)
                email, language = claimed.preferences.email, claimed.preferences.language
                choose = choose_alert_channel if notice.alert is not None else choose_channel
                channel = choose(contact, email)
                message, rendered = await self._message(row, notice, contact, language)
                recipient_key = row.subject_index.hex()[:16]
                await self._channels.send(channel, row.id, recipient_key, contact, email, message)
        except Exception as error:  # noqa: BLE001 - any channel failure is retried, then kept for an operator
            give_up = row.attempts >= self._policy.max_attempts
            log.warning(
                "delivery of notice %s failed (attempt %d%s): %s",
                row.id,
                row.attempts,
                ", giving up" if give_up else "",
                type(error).__name__,
            )
            retry_at = now() + backoff(row.attempts - 1, self._policy.backoff_cap_seconds)
            return Outcome(row, channel, rendered, f"{type(error).__name__}: {error}", retry_at, give_up)
        return Outcome(row, channel, rendered)

    async def _message(
        self, row: Any, notice: Notice, contact: Contact, language: str
    ) -> tuple[Message, tuple[bytes, str] | None]:
        """The notice's letter, rendered once: the one kept from an earlier attempt (in the language it was rendered
        in), or rendered now (on a worker thread: a letter of many lines must not stall the event loop), with what
        to keep of it (sealed) when the attempt's outcome is recorded."""
        if row.message_sealed is not None and row.message_language == language:
            return letters.message_from_bytes(self._keys.unseal(row.message_sealed)), None
        message = await asyncio.to_thread(letters.message_of, notice, contact, language)
        return message, (self._keys.seal(letters.message_to_bytes(message)), language)

    async def deliver_due(self, limit: int = 20) -> int:
        """Deliver the pending notices whose time has come; returns how many were attempted.

        No transaction waits on a provider: the notices are claimed in one short transaction (the claim counts an
        attempt and holds the notice from other workers for a while), sent with none open, and the outcomes (with
        the letters rendered for them) recorded together in one more. A worker that dies mid-send leaves its notices
        to be sent again when the claim runs out, under the same notice id, which the channels treat as the same
        message; a notice that kills every worker that takes it is set aside after the most attempts, like any that
        fails."""
        moment = now()
        async with self._uow() as uow:
            await uow.notices.set_aside_interrupted(moment, self._policy.max_attempts)
            rows = await uow.notices.claim(moment, moment + self._policy.claim, limit)
            chosen = await uow.notices.preferences_of_each([row.subject_index for row in rows])
            work = [
                Claimed(row, notice, preferences)
                for row, notice, preferences in zip(rows, await uow.notices.notices(rows), chosen, strict=True)
            ]
            await uow.commit()
        # At once, each within its deadline: all are done before their claim runs out.
        outcomes = await asyncio.gather(*(self._deliver_one(claimed) for claimed in work))
        if not outcomes:
            return 0
        try:
            async with self._uow() as uow:
                for outcome in outcomes:
                    await self._record_outcome(uow, outcome)
                await uow.commit()
        except Exception:  # noqa: BLE001 - recorded one by one instead: one bad outcome must not lose the others
            log.warning("the outcomes of %d deliveries could not be recorded together; one by one", len(outcomes))
            for outcome in outcomes:
                try:
                    async with self._uow() as uow:
                        await self._record_outcome(uow, outcome)
                        await uow.commit()
                except Exception:  # sent again when its claim runs out (channels de-duplicate)
                    log.exception("the outcome of notice %s could not be recorded", outcome.row.id)
        return len(work)

    @staticmethod
    async def _record_outcome(uow: NoticeUnitOfWork, outcome: Outcome) -> None:
        row = outcome.row
        if outcome.rendered is not None:
            await uow.notices.rendered(row.id, *outcome.rendered)
        if outcome.error is None and outcome.channel is not None:
            await uow.notices.delivered(row.id, row.attempts, outcome.channel, now())
        else:
            retry_at = outcome.retry_at or now()
            error = outcome.error or "no channel"
            await uow.notices.failed(row.id, row.attempts, outcome.channel, retry_at, error, outcome.give_up)

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

    async def letter_of(self, subject: str, notice_id: uuid.UUID) -> Message:
        """One of the subject's own notices as the letter they read, in their language; another's is not found."""
        index = self._keys.blind_index(subject)
        async with self._uow() as uow:
            row = await uow.notices.one_of_subject(index, notice_id)
            if row is None:
                raise NotFound("NOTICE_NOT_FOUND", "the caller has no notice with this id")
            [notice] = await uow.notices.notices([row])
            chosen = await uow.notices.preferences_of(index)
        if row.message_sealed is not None and row.message_language == chosen.language:
            return letters.message_from_bytes(self._keys.unseal(row.message_sealed))  # as it was sent
        contact = await self._population.contact(subject)
        return await asyncio.to_thread(letters.message_of, notice, contact, chosen.language)

    async def enqueue_for_institution(
        self, institution: str, source_id: str, content: notify_pb2.InstitutionNotice
    ) -> tuple[InstitutionNotice, bool]:
        """Append a notice to an institution's feed, once per source id and institution (sealed: it may name a
        person)."""
        async with self._uow() as uow:
            store = uow.notices
            await store.serialize(f"{institution}|{source_id}")
            row = await store.institution_notice(institution, source_id)
            created = row is None
            if row is None:
                sealed = self._keys.seal(content.SerializeToString())
                kind = content.WhichOneof("content") or ""
                row = await store.add_institution_notice(institution, source_id, kind[:16], sealed, now())
                await uow.commit()
        return self._institution_notice(row), created

    def _institution_notice(self, row: Any) -> InstitutionNotice:
        content = notify_pb2.InstitutionNotice.FromString(self._keys.unseal(row.content_sealed))
        return InstitutionNotice(row.position, row.create_time, content)

    async def institution_feed(self, institution: str, after: int, limit: int) -> list[InstitutionNotice]:
        async with self._uow() as uow:
            rows = await uow.notices.institution_notices_after(institution, after, limit)
        return [self._institution_notice(row) for row in rows]

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

    async def preferences(self, subject: str) -> Preferences:
        async with self._uow() as uow:
            return await uow.notices.preferences_of(self._keys.blind_index(subject))

    async def set_preferences(self, subject: str, email: str, language: str) -> Preferences:
        chosen = Preferences(email, language, now())
        async with self._uow() as uow:
            await uow.notices.set_preferences(self._keys.blind_index(subject), chosen)
            await uow.commit()
        return chosen
