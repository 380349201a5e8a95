"""notify's storage (the `notify` schema), its delivery channels and its population register.

Notices are keyed by their first source (for a copy letter, the disclosure id); every source a notice tells of,
merged ones included, is a row of `notice_sources`, whose key makes enqueueing idempotent. The development
channels write what they send under `.data/mailbox/<channel>/`, in a folder named by a prefix of the subject's
keyed hash (never the identity number), and file names by notice id, so that a repeated delivery of a notice
overwrites rather than duplicates: the same guarantee a real provider gives when handed the notice id as its
idempotency key.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from gjeld.notify.v1 import notify_pb2
from gjeld_shared.db import beyond, next_position
from gjeld_shared.redaction import redact
from gjeld_shared.rekey import Protected
from gjeld_shared.retention import Kept
from gjeld_shared.sandbox import sandbox_person
from gjeld_shared.unit_of_work import UnitOfWork
from sqlalchemy import (
    BigInteger,
    Column,
    ColumnElement,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .domain import MAX_LETTERS_PER_NOTICE, Channel, Contact, Message, Notice, NoticeState, Preferences

SCHEMA = "notify"
metadata = MetaData(schema=SCHEMA)

notices = Table(
    "notices",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("source_id", String(64), nullable=False, unique=True),
    Column("subject_index", LargeBinary, nullable=False),
    Column("subject_encrypted", LargeBinary),
    Column("kind", String(16), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("channel", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    Column("merge_key", String(160)),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_time", DateTime(timezone=True), nullable=False),
    Column("last_error", Text),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("deliver_time", DateTime(timezone=True)),
    # The letter as rendered at the first delivery attempt (sealed: it holds the person's name, address and debts), in
    # its language: rendered once, for every retry and every time the person opens it.
    Column("message_sealed", LargeBinary),
    Column("message_language", String(8)),
    Index("notices_by_subject", "subject_index", "create_time"),
    Index("notices_pending", "next_attempt_time", postgresql_where="state = 'pending'"),
    Index("notices_mergeable", "subject_index", "merge_key", postgresql_where="state = 'pending'"),
    Index("notices_failed", "create_time", postgresql_where="state = 'failed'"),
    Index("notices_by_time", "create_time"),  # retention
)

sources = Table(
    "notice_sources",
    metadata,
    Column("source_id", String(64), primary_key=True),
    Column("notice_id", UUID(as_uuid=True), ForeignKey(f"{SCHEMA}.notices.id"), nullable=False),
    Column("content", LargeBinary, nullable=False),
    Column("add_time", DateTime(timezone=True), nullable=False),
    Index("notice_sources_by_notice", "notice_id"),
)

preferences = Table(
    "contact_preferences",
    metadata,
    Column("subject_index", LargeBinary, primary_key=True),
    Column("email_address", String(254), nullable=False, server_default=""),
    Column("language", String(8), nullable=False, server_default="nb"),
    Column("update_time", DateTime(timezone=True), nullable=False),
)

# Each institution's feed of notices (correction notices, DOM-14): taking the next position locks the head's row until
# the transaction ends, so positions come in commit order without gaps. The content names a person: sealed.
institution_feed_heads = Table(
    "institution_feed_heads",
    metadata,
    Column("institution", String(16), primary_key=True),
    Column("last_position", BigInteger, nullable=False),
)
institution_notices = Table(
    "institution_notices",
    metadata,
    Column("institution", String(16), primary_key=True),
    Column("position", BigInteger, primary_key=True),
    Column("source_id", String(128), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("content_sealed", LargeBinary, nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    UniqueConstraint("institution", "source_id", name="institution_notices_by_source"),
)


def retention(notices_kept: timedelta, institution_notices_kept: timedelta) -> list[Kept]:
    """What notify keeps, and for how long (the README's table): the person's notices with their letters (read in
    Min gjeld), and institutions' notice feeds."""
    old_notice = select(notices.c.id)
    return [
        Kept(
            "the letters of a notice",
            sources,
            notices_kept,
            lambda cut: sources.c.notice_id.in_(old_notice.where(notices.c.create_time < cut)),
        ),
        Kept("notices to persons", notices, notices_kept, lambda cut: notices.c.create_time < cut),
        Kept(
            "notices to institutions",
            institution_notices,
            institution_notices_kept,
            lambda cut: institution_notices.c.create_time < cut,
        ),
    ]


# What holds identity numbers, for `python -m gjeld_notify rekey` after a key rotation.
PROTECTED = (
    Protected(notices, hashes=("subject_index",), ciphertexts=("subject_encrypted", "message_sealed")),
    Protected(institution_notices, ciphertexts=("content_sealed",)),
    Protected(preferences, hashes=("subject_index",)),
)


class PopulationRegister(Protocol):
    """Where contact details come from (in Norway: the population register and the contact register)."""

    async def contact(self, identity_number: str) -> Contact: ...


class DevelopmentPopulationRegister:
    """A population register for development and tests: the sandbox population (a synthetic person for every
    synthetic identity number, gjeld_shared.sandbox), with the people of a JSON file as overrides. A number that is
    not synthetic has nobody here, so a letter to it cannot be delivered (and ends in the dead-letter list)."""

    def __init__(self, path: Path | None) -> None:
        people = json.loads(path.read_text(encoding="utf-8"))["people"] if path else []
        self._people = {
            p["identity_number"]: Contact(
                p["name"], tuple(p.get("postal_address", ())), bool(p.get("digital_mailbox")), p.get("mobile", "")
            )
            for p in people
        }

    async def contact(self, identity_number: str) -> Contact:
        if identity_number in self._people:
            return self._people[identity_number]
        person = sandbox_person(identity_number)
        if person is None:
            return Contact("", ())
        return Contact(person.name, person.postal_address, person.digital_mailbox, person.mobile)


class Channels(Protocol):
    """The providers that carry notices: digital mailbox, e-mail, SMS and post.

    `notice_id` is the provider's idempotency key (as Digipost's API and most SMS and print providers take one): a
    notice sent again after a crash between sending and recording it is delivered once, however often it is sent."""

    async def send(
        self, channel: Channel, notice_id: uuid.UUID, recipient_key: str, contact: Contact, email: str, message: Message
    ) -> None: ...


DEVELOPMENT_SENDER = "gjeld <no-reply@gjeld.example>"


def email_message(notice_id: uuid.UUID, sender: str, to: str, message: Message) -> EmailMessage:
    """A notice as an e-mail: the message as text, the letter as a PDF. Its Message-ID is made from the notice's id,
    so a receiving system can tell a resent notice for the same one (SMTP itself takes no idempotency key)."""
    mail = EmailMessage()
    mail["To"], mail["From"], mail["Subject"] = to, sender, message.title
    mail["Message-ID"] = f"<{notice_id}@notices.gjeld>"
    mail.set_content(message.text)
    mail.add_attachment(message.pdf, maintype="application", subtype="pdf", filename="gjenpart.pdf")
    return mail


class RoutedChannels:
    """Each channel by its own provider where one is configured; the others by `otherwise`."""

    def __init__(self, providers: dict[Channel, Channels], otherwise: Channels) -> None:
        self._providers, self._otherwise = providers, otherwise

    async def send(
        self, channel: Channel, notice_id: uuid.UUID, recipient_key: str, contact: Contact, email: str, message: Message
    ) -> None:
        provider = self._providers.get(channel, self._otherwise)
        await provider.send(channel, notice_id, recipient_key, contact, email, message)


class DevelopmentChannels:
    """Every channel as files a person can open under one folder: `<channel>/<subject key>/<notice id>.*`.

    It honours the idempotency key as a provider does: a notice already delivered is not delivered again, and each
    such repeat is recorded in `duplicates.log`; every delivery made is recorded in `deliveries.log`, so a test (or
    a fault run) can count what reached people."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @property
    def _ledger(self) -> Path:
        return self.folder / ".delivered"

    def duplicates(self) -> list[str]:
        """The idempotency keys of every repeated send, one per repeat."""
        return self._read("duplicates.log")

    def deliveries(self) -> list[str]:
        """The notice id of every delivery made, one per delivery: what the mailboxes received."""
        return self._read("deliveries.log")

    def _read(self, name: str) -> list[str]:
        log = self.folder / name
        return log.read_text().split() if log.exists() else []

    def _note(self, name: str, notice_id: uuid.UUID) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        with (self.folder / name).open("a") as log:
            log.write(f"{notice_id}\n")

    def _write(self, path: Path, content: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.tmp")
        partial.write_bytes(content)
        partial.replace(path)

    async def send(
        self, channel: Channel, notice_id: uuid.UUID, recipient_key: str, contact: Contact, email: str, message: Message
    ) -> None:
        delivered = self._ledger / str(notice_id)
        if delivered.exists():
            self._note("duplicates.log", notice_id)
            return
        self._deliver(channel, notice_id, recipient_key, contact, email, message)
        self._note("deliveries.log", notice_id)
        delivered.parent.mkdir(parents=True, exist_ok=True)
        delivered.touch()

    def _deliver(
        self, channel: Channel, notice_id: uuid.UUID, recipient_key: str, contact: Contact, email: str, message: Message
    ) -> None:
        base = self.folder / channel.value / recipient_key / str(notice_id)
        if channel is Channel.DIGITAL_MAILBOX:
            self._write(base.with_suffix(".pdf"), message.pdf)
            self._write(base.with_suffix(".txt"), message.text.encode())
        elif channel is Channel.EMAIL:
            self._write(base.with_suffix(".eml"), bytes(email_message(notice_id, DEVELOPMENT_SENDER, email, message)))
        elif channel is Channel.SMS:
            if not contact.mobile:
                raise ValueError("no mobile number")
            self._write(base.with_suffix(".sms.txt"), f"To: {contact.mobile}\n{message.sms}\n".encode())
        else:
            if not contact.postal_address:
                raise ValueError("no postal address")
            self._write(base.with_suffix(".pdf"), message.pdf)


def _still_claimed(notice_id: uuid.UUID, claimed: int) -> ColumnElement[bool]:
    """The notice, as its claim left it: pending, and not claimed again since (a late outcome changes nothing)."""
    return and_(notices.c.id == notice_id, notices.c.state == "pending", notices.c.attempts == claimed)


class NoticeStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def serialize(self, key: str) -> None:
        """Wait until no other transaction holds `key`, and hold it until this one ends."""
        await self._db.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0))))

    async def notice_of_source(self, source_id: str) -> Any | None:
        """The notice that already tells of this source, if any."""
        return (
            await self._db.execute(
                select(notices)
                .join(sources, sources.c.notice_id == notices.c.id)
                .where(sources.c.source_id == source_id)
            )
        ).first()

    async def mergeable(self, subject_index: bytes, merge_key: str, now: datetime) -> Any | None:
        """A notice to the same subject about the same application still held for merging, locked; a notice that a
        delivery worker holds is skipped (it is being sent, so it can no longer take more), and a full one too."""
        return (
            await self._db.execute(
                select(notices)
                .where(
                    notices.c.subject_index == subject_index,
                    notices.c.merge_key == merge_key,
                    notices.c.state == "pending",
                    notices.c.attempts == 0,
                    notices.c.last_error.is_(None),  # never tried (an operator's replay resets attempts, not this)
                    notices.c.next_attempt_time > now,
                    select(func.count()).where(sources.c.notice_id == notices.c.id).scalar_subquery()
                    < MAX_LETTERS_PER_NOTICE,
                )
                .order_by(notices.c.create_time)
                .limit(1)
                .with_for_update(skip_locked=True)
            )
        ).first()

    async def add(self, values: dict[str, Any]) -> Any:
        """Record a new notice and its first source."""
        row = (await self._db.execute(insert(notices).values(**values).returning(*notices.c))).one()
        if not await self.add_source(row.id, values["source_id"], values["content"], values["create_time"]):
            raise RuntimeError("the source of a new notice is already another notice's")
        return row

    async def add_source(self, notice_id: uuid.UUID, source_id: str, content: bytes, when: datetime) -> bool:
        """Record that the notice tells of this source; False if some notice already does (a repeated enqueue)."""
        added = await self._db.execute(
            insert(sources)
            .values(source_id=source_id, notice_id=notice_id, content=content, add_time=when)
            .on_conflict_do_nothing()
            .returning(sources.c.source_id)
        )
        return added.first() is not None

    async def institution_notice(self, institution: str, source_id: str) -> Any | None:
        query = select(institution_notices).where(
            institution_notices.c.institution == institution, institution_notices.c.source_id == source_id
        )
        return (await self._db.execute(query)).first()

    async def add_institution_notice(
        self, institution: str, source_id: str, kind: str, sealed: bytes, when: datetime
    ) -> Any:
        """Append a notice to the institution's feed at its next position (no gaps: see `institution_feed_heads`)."""
        position = await next_position(self._db, institution_feed_heads, institution)
        values = {
            "institution": institution,
            "position": position,
            "source_id": source_id,
            "kind": kind,
            "content_sealed": sealed,
            "create_time": when,
        }
        return (
            await self._db.execute(insert(institution_notices).values(**values).returning(*institution_notices.c))
        ).one()

    async def institution_notices_after(self, institution: str, after: int, limit: int) -> list[Any]:
        query = (
            select(institution_notices)
            .where(institution_notices.c.institution == institution, institution_notices.c.position > after)
            .order_by(institution_notices.c.position)
            .limit(limit)
        )
        return list(await self._db.execute(query))

    async def notices(self, rows: Sequence[Any]) -> list[Notice]:
        """The notices these rows hold, each with every letter it tells of, oldest first."""
        by_notice: dict[uuid.UUID, list[Any]] = defaultdict(list)
        if rows:
            found = await self._db.execute(
                select(sources).where(sources.c.notice_id.in_([r.id for r in rows])).order_by(sources.c.add_time)
            )
            for source in found:
                by_notice[source.notice_id].append(source)
        return [
            Notice(
                id=row.id,
                source_id=row.source_id,
                source_ids=[s.source_id for s in by_notice[row.id]],
                letters=[
                    notify_pb2.CopyLetter.FromString(s.content) for s in by_notice[row.id] if row.kind == "copy_letter"
                ],
                outcome=(
                    notify_pb2.CorrectionOutcome.FromString(by_notice[row.id][0].content)
                    if row.kind == "correction"
                    else None
                ),
                alert=(
                    notify_pb2.IdentityTheftAlert.FromString(by_notice[row.id][0].content)
                    if row.kind == "alert"
                    else None
                ),
                state=NoticeState(row.state),
                channel=Channel(row.channel) if row.channel else None,
                attempts=row.attempts,
                last_error=row.last_error or "",
                create_time=row.create_time,
                deliver_time=row.deliver_time,
            )
            for row in rows
        ]

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

    async def claim(self, now: datetime, until: datetime, limit: int) -> list[Any]:
        """Take pending notices whose time has come for one worker until `until`, counting the attempt (skipping
        any another transaction holds, such as an enqueue merging into it); a claimed notice takes no more letters."""
        due = (
            select(notices.c.id)
            .where(notices.c.state == "pending", notices.c.next_attempt_time <= now)
            .order_by(notices.c.next_attempt_time)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(
            await self._db.execute(
                update(notices)
                .where(notices.c.id.in_(due.scalar_subquery()))
                .values(attempts=notices.c.attempts + 1, next_attempt_time=until)
                .returning(*notices.c)
            )
        )

    async def set_aside_interrupted(self, now: datetime, max_attempts: int) -> None:
        """Notices whose last allowed attempt never came back (the worker died sending them): into the dead-letter
        list, so a notice that crashes every worker cannot take the queue down with it."""
        await self._db.execute(
            update(notices)
            .where(notices.c.state == "pending", notices.c.next_attempt_time <= now, notices.c.attempts >= max_attempts)
            .values(state="failed", last_error="interrupted: the delivery never finished")
        )

    async def rendered(self, notice_id: uuid.UUID, sealed: bytes, language: str) -> None:
        """Keep the letter as rendered, once (a later render, by a worker that lost its claim, changes nothing)."""
        await self._db.execute(
            update(notices)
            .where(notices.c.id == notice_id, notices.c.message_sealed.is_(None))
            .values(message_sealed=sealed, message_language=language)
        )

    async def delivered(self, notice_id: uuid.UUID, claimed: int, channel: Channel, when: datetime) -> None:
        """The outcome of a claimed attempt (the claim counted it), if the claim still holds."""
        await self._db.execute(
            update(notices)
            .where(_still_claimed(notice_id, claimed))
            .values(state="delivered", channel=channel.value, deliver_time=when, last_error=None)
        )

    async def failed(
        self,
        notice_id: uuid.UUID,
        claimed: int,
        channel: Channel | None,
        retry_at: datetime,
        error: str,
        give_up: bool,
    ) -> None:
        """The outcome of a claimed attempt that failed: due again at `retry_at`, or set aside; if the claim holds."""
        await self._db.execute(
            update(notices)
            .where(_still_claimed(notice_id, claimed))
            .values(
                state="failed" if give_up else "pending",
                channel=channel.value if channel else "",
                next_attempt_time=retry_at,
                # Redacted before it is cut: a cut could leave part of a number that no longer looks like one.
                last_error=redact(error)[:500],
            )
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

    async def one_of_subject(self, subject_index: bytes, notice_id: uuid.UUID) -> Any | None:
        query = select(notices).where(notices.c.subject_index == subject_index, notices.c.id == notice_id)
        return (await self._db.execute(query)).first()

    async def failed_notices(self, before: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Any]:
        query = select(notices).where(notices.c.state == "failed")
        if before is not None:
            query = query.where(beyond((notices.c.create_time, notices.c.id), before, descending=True))
        return list(
            await self._db.execute(query.order_by(notices.c.create_time.desc(), notices.c.id.desc()).limit(limit))
        )

    async def retry(self, notice_id: uuid.UUID, now: datetime) -> Any | None:
        """Put a failed notice back for delivery; None if there is no failed notice with this id."""
        return (
            await self._db.execute(
                update(notices)
                .where(notices.c.id == notice_id, notices.c.state == "failed")
                .values(state="pending", attempts=0, next_attempt_time=now)
                .returning(*notices.c)
            )
        ).first()

    async def preferences_of_each(self, subject_indexes: Sequence[bytes]) -> list[Preferences]:
        """Each person's choices, in the order asked (the defaults for those who made none)."""
        if not subject_indexes:
            return []
        rows = await self._db.execute(select(preferences).where(preferences.c.subject_index.in_(set(subject_indexes))))
        found = {r.subject_index: Preferences(r.email_address, r.language, r.update_time) for r in rows}
        return [found.get(index, Preferences()) for index in subject_indexes]

    async def preferences_of(self, subject_index: bytes) -> Preferences:
        """A person's choices (the defaults if they made none)."""
        row = (await self._db.execute(select(preferences).where(preferences.c.subject_index == subject_index))).first()
        return Preferences(row.email_address, row.language, row.update_time) if row else Preferences()

    async def set_preferences(self, subject_index: bytes, chosen: Preferences) -> None:
        values = {"email_address": chosen.email, "language": chosen.language, "update_time": chosen.update_time}
        statement = insert(preferences).values(subject_index=subject_index, **values)
        await self._db.execute(statement.on_conflict_do_update(index_elements=["subject_index"], set_=values))


class NoticeUnitOfWork(UnitOfWork):
    """One transaction of notify's use cases, with its store."""

    notices: NoticeStore

    def bind(self, connection: AsyncConnection) -> None:
        self.notices = NoticeStore(connection)
