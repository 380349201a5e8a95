"""consent's storage, in the `consent` schema: consents (the subject as a keyed hash),
every use of each, the institutions' event feeds, and credit blocks."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from gjeld_shared.db import beyond, next_position
from gjeld_shared.rekey import Protected
from gjeld_shared.retention import Kept
from gjeld_shared.unit_of_work import UnitOfWork
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    bindparam,
    case,
    cast,
    delete,
    func,
    literal,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .domain import RECENT_USES, Consent, Event, EventType, IdentityTheftFlag, Origin, Scope, Standing, Use

SCHEMA = "consent"
metadata = MetaData(schema=SCHEMA)

consents = Table(
    "consents",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("subject_index", LargeBinary, nullable=False),
    Column("institution", String(16), nullable=False),
    Column("scope", String(16), nullable=False),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("expire_time", DateTime(timezone=True), nullable=False),
    Column("max_uses", Integer),
    Column("withdraw_time", DateTime(timezone=True)),
    Column("request_id", String(64), nullable=False),
    Column("request_digest", LargeBinary, nullable=False),
    Column("origin", String(16), nullable=False, server_default="subject"),
    Column("institution_consent_id", String(64)),
    Column("end_time", DateTime(timezone=True)),
    Column("expiry_noted", Boolean, nullable=False, server_default="false"),
    Column("use_count", Integer, nullable=False, server_default="0"),
    Index("consents_by_request", "subject_index", "request_id", unique=True),
    Index("consents_by_subject", "subject_index", "institution", "scope"),
    Index(
        "consents_by_institution_id",
        "institution",
        "institution_consent_id",
        unique=True,
        postgresql_where="institution_consent_id IS NOT NULL",
    ),
    Index("consents_expiring", "expire_time", postgresql_where="NOT expiry_noted"),
)


def ended() -> Any:
    """When a consent ended: withdrawn, ended by the institution, or expired, whichever came first."""
    never = cast(literal("infinity"), DateTime(timezone=True))
    return func.least(
        func.coalesce(consents.c.withdraw_time, never),
        func.coalesce(consents.c.end_time, never),
        consents.c.expire_time,
    )


uses = Table(
    "consent_uses",
    metadata,
    Column("disclosure_id", String(64), primary_key=True),
    Column("consent_id", UUID(as_uuid=True), ForeignKey(f"{SCHEMA}.consents.id"), nullable=False),
    Column("use_time", DateTime(timezone=True), nullable=False),
    Column("application_reference", String(64), nullable=False, server_default=""),
    Index("consent_uses_by_consent_time", "consent_id", "use_time", "disclosure_id"),
)

# The head of each institution's feed: taking the next position locks this row until the transaction ends, so
# positions are handed out in commit order and a rolled-back event leaves no gap.
feed_heads = Table(
    "feed_heads",
    metadata,
    Column("institution", String(16), primary_key=True),
    Column("last_position", BigInteger, nullable=False),
)

events = Table(
    "consent_events",
    metadata,
    Column("institution", String(16), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("type", String(16), nullable=False),
    Column("event_time", DateTime(timezone=True), nullable=False),
    Column("consent_id", UUID(as_uuid=True), nullable=False),
    Column("disclosure_id", String(64), nullable=False, server_default=""),
    PrimaryKeyConstraint("institution", "position"),
    Index("consent_events_by_time", "event_time"),
)

credit_blocks = Table(
    "credit_blocks",
    metadata,
    Column("subject_index", LargeBinary, primary_key=True),
    Column("create_time", DateTime(timezone=True), nullable=False),
)

# A subject's identity-theft flag: it stands until its end (then it is forgotten, by retention).
identity_theft_flags = Table(
    "identity_theft_flags",
    metadata,
    Column("subject_index", LargeBinary, primary_key=True),
    Column("create_time", DateTime(timezone=True), nullable=False),
    Column("end_time", DateTime(timezone=True), nullable=False),
    Index("identity_theft_flags_by_end", "end_time"),
)


def retention(kept: timedelta) -> list[Kept]:
    """What consent keeps, and for how long (the README's table): a consent and its uses until `kept` after it
    ended (the person's record; the disclosure log's own period), its feed events by their own rule."""
    gone = select(consents.c.id)
    return [
        Kept("the uses of ended consents", uses, kept, lambda cut: uses.c.consent_id.in_(gone.where(ended() < cut))),
        Kept("ended consents", consents, kept, lambda cut: ended() < cut),
        Kept(
            "identity-theft flags past their end",
            identity_theft_flags,
            timedelta(0),
            lambda cut: identity_theft_flags.c.end_time < cut,
        ),
    ]


# What holds identity numbers, for `python -m gjeld_consent rekey` after a key rotation.
PROTECTED = (
    Protected(consents, hashes=("subject_index", "request_digest")),
    Protected(credit_blocks, hashes=("subject_index",)),
    Protected(identity_theft_flags, hashes=("subject_index",)),
)


def _standing(row: Any) -> Standing:
    flag = IdentityTheftFlag(row.flag_since, row.flag_until) if row.flag_until is not None else None
    return Standing(row.blocked_since, flag)


def _consent(row: Any, used: list[Use]) -> Consent:
    return Consent(
        row.id,
        row.institution,
        Scope(row.scope),
        row.create_time,
        row.expire_time,
        row.max_uses,
        used,
        row.use_count,
        row.withdraw_time,
        Origin(row.origin),
        row.institution_consent_id,
        row.end_time,
    )


# A use, its count on the consent and its event in the institution's feed, in one statement (a lookup's hot path:
# one round trip, and written out because SQLAlchemy compiles a statement of data-modifying CTEs anew each time).
# The feed's next position is taken as next_position takes it: the head's row stays locked until commit.
RECORD_USE = text(
    """
    WITH used AS (
        INSERT INTO consent.consent_uses (disclosure_id, consent_id, use_time, application_reference)
        VALUES (:disclosure_id, :consent_id, :use_time, :reference)
        ON CONFLICT (disclosure_id) DO NOTHING
        RETURNING consent_id
    ), counted AS (
        UPDATE consent.consents SET use_count = use_count + 1 WHERE id IN (SELECT consent_id FROM used)
    ), head AS (
        INSERT INTO consent.feed_heads (institution, last_position) SELECT :institution, 1 FROM used
        ON CONFLICT (institution) DO UPDATE SET last_position = feed_heads.last_position + 1
        RETURNING last_position
    )
    INSERT INTO consent.consent_events (institution, position, type, event_time, consent_id, disclosure_id)
    SELECT :institution, last_position, :type, :use_time, :consent_id, :disclosure_id FROM head
    RETURNING position
    """
).bindparams(bindparam("consent_id", type_=UUID(as_uuid=True)), bindparam("use_time", type_=DateTime(timezone=True)))


# A person's consents to an institution for a scope, newest first, locked for a use, with the person's credit block
# and identity-theft flag (if it stands): a lookup's hot path, built once (building the statement cost more than
# running it).
def _flag(column: Column[datetime], label: str) -> Any:
    return (
        select(column)
        .where(
            identity_theft_flags.c.subject_index == bindparam("subject_index", type_=LargeBinary),
            identity_theft_flags.c.end_time > func.now(),
        )
        .scalar_subquery()
        .label(label)
    )


_STANDING = (
    select(credit_blocks.c.create_time)
    .where(credit_blocks.c.subject_index == bindparam("subject_index", type_=LargeBinary))
    .scalar_subquery()
    .label("blocked_since"),
    _flag(identity_theft_flags.c.create_time, "flag_since"),
    _flag(identity_theft_flags.c.end_time, "flag_until"),
)
STANDING = select(*_STANDING)
CANDIDATES = (
    select(consents, *_STANDING)
    .where(
        consents.c.subject_index == bindparam("subject_index", type_=LargeBinary),
        consents.c.institution == bindparam("institution", type_=String),
        consents.c.scope == bindparam("scope", type_=String),
    )
    .order_by(consents.c.create_time.desc())
    .with_for_update(of=consents)
)


class ConsentStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def _with_uses(self, rows: Sequence[Any], recent: int = RECENT_USES) -> list[Consent]:
        """The consents, each with its latest `recent` uses (oldest first) and the count of all of them."""
        by_consent: dict[uuid.UUID, list[Use]] = defaultdict(list)
        if rows and recent:
            latest = (
                select(uses)
                .where(uses.c.consent_id == consents.c.id)
                .order_by(uses.c.use_time.desc(), uses.c.disclosure_id.desc())
                .limit(recent)
                .lateral("latest")
            )
            found = await self._db.execute(
                select(latest)
                .select_from(consents.join(latest, true()))
                .where(consents.c.id.in_([r.id for r in rows]))
                .order_by(latest.c.use_time, latest.c.disclosure_id)
            )
            for use in found:
                by_consent[use.consent_id].append(Use(use.use_time, use.disclosure_id, use.application_reference))
        return [_consent(row, by_consent[row.id]) for row in rows]

    async def uses_of(self, consent_id: uuid.UUID, before: tuple[datetime, str] | None, limit: int) -> list[Use]:
        """A page of the uses of a consent, newest first."""
        query = select(uses).where(uses.c.consent_id == consent_id)
        if before is not None:
            query = query.where(beyond((uses.c.use_time, uses.c.disclosure_id), before, descending=True))
        rows = await self._db.execute(query.order_by(uses.c.use_time.desc(), uses.c.disclosure_id.desc()).limit(limit))
        return [Use(r.use_time, r.disclosure_id, r.application_reference) for r in rows]

    async def add(
        self, subject_index: bytes, consent: Consent, request_id: str, digest: bytes
    ) -> tuple[Consent, bytes, bool]:
        """Store a new consent, or return the one stored before under the same request id (a subject's grant)
        or the same institution consent id (an institution's registration), with its digest; True if new."""
        statement = insert(consents).values(
            id=consent.id,
            subject_index=subject_index,
            institution=consent.institution,
            scope=consent.scope.value,
            create_time=consent.create_time,
            expire_time=consent.expire_time,
            max_uses=consent.max_uses,
            request_id=request_id,
            request_digest=digest,
            origin=consent.origin.value,
            institution_consent_id=consent.institution_consent_id,
        )
        if consent.institution_consent_id is None:
            statement = statement.on_conflict_do_nothing(index_elements=["subject_index", "request_id"])
            earlier = select(consents).where(
                consents.c.subject_index == subject_index, consents.c.request_id == request_id
            )
        else:
            statement = statement.on_conflict_do_nothing(
                index_elements=["institution", "institution_consent_id"],
                index_where=consents.c.institution_consent_id.isnot(None),
            )
            earlier = select(consents).where(
                consents.c.institution == consent.institution,
                consents.c.institution_consent_id == consent.institution_consent_id,
            )
        if (await self._db.execute(statement.returning(consents.c.id))).first() is not None:
            return consent, digest, True
        row = (await self._db.execute(earlier)).one()
        return (await self._with_uses([row]))[0], row.request_digest, False

    async def of_subject(
        self, subject_index: bytes, before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Consent]:
        query = select(consents).where(consents.c.subject_index == subject_index)
        if before is not None:
            query = query.where(beyond((consents.c.create_time, consents.c.id), before, descending=True))
        rows = list(
            await self._db.execute(query.order_by(consents.c.create_time.desc(), consents.c.id.desc()).limit(limit))
        )
        return await self._with_uses(rows)

    async def get(self, subject_index: bytes, consent_id: uuid.UUID, *, lock: bool = False) -> Consent | None:
        query = select(consents).where(consents.c.id == consent_id, consents.c.subject_index == subject_index)
        row = (await self._db.execute(query.with_for_update() if lock else query)).first()
        return (await self._with_uses([row]))[0] if row else None

    async def of_institution(
        self, institution: str, consent_id: uuid.UUID | None, institution_consent_id: str | None, *, lock: bool
    ) -> Consent | None:
        """One consent given to `institution`, by either id."""
        query = select(consents).where(consents.c.institution == institution)
        if consent_id is not None:
            query = query.where(consents.c.id == consent_id)
        else:
            query = query.where(consents.c.institution_consent_id == institution_consent_id)
        row = (await self._db.execute(query.with_for_update() if lock else query)).first()
        return (await self._with_uses([row]))[0] if row else None

    async def withdraw(self, consent_id: uuid.UUID, when: datetime) -> None:
        await self._db.execute(update(consents).where(consents.c.id == consent_id).values(withdraw_time=when))

    async def end(self, consent_id: uuid.UUID, when: datetime) -> None:
        await self._db.execute(update(consents).where(consents.c.id == consent_id).values(end_time=when))

    async def candidates(self, subject_index: bytes, institution: str, scope: Scope) -> tuple[Standing, list[Consent]]:
        """The subject's credit block and identity-theft flag, and consents for this institution and scope, newest
        first, locked for a use: one statement, the block and flag read with the consents (a lookup's hot path)."""
        found = {"subject_index": subject_index, "institution": institution, "scope": scope.value}
        rows = list(await self._db.execute(CANDIDATES, found))
        standing = _standing(rows[0]) if rows else await self.standing(subject_index)
        return standing, await self._with_uses(rows, recent=0)  # the count decides; the uses themselves are not needed

    async def standing(self, subject_index: bytes) -> Standing:
        """The subject's credit block and identity-theft flag (if it stands), in one statement."""
        return _standing((await self._db.execute(STANDING, {"subject_index": subject_index})).one())

    async def use_of(self, disclosure_id: str) -> Any | None:
        """The use recorded for this disclosure, if any (its consent, time and reference)."""
        return (await self._db.execute(select(uses).where(uses.c.disclosure_id == disclosure_id))).first()

    async def record_use(self, consent_id: uuid.UUID, institution: str, use: Use) -> bool:
        """Record the use, count it on its consent and put it in the institution's feed, in one statement; False
        (and nothing done) when a use under this disclosure id was recorded before."""
        found = await self._db.execute(
            RECORD_USE,
            {
                "disclosure_id": use.disclosure_id,
                "consent_id": consent_id,
                "use_time": use.use_time,
                "reference": use.application_reference,
                "institution": institution,
                "type": EventType.USED.value,
            },
        )
        return found.first() is not None

    async def release_use(self, disclosure_id: str) -> Any | None:
        """Delete the use recorded for this disclosure and count it off its consent: the consent's id and
        institution, or None when there was no such use."""
        gone = (
            await self._db.execute(
                delete(uses).where(uses.c.disclosure_id == disclosure_id).returning(uses.c.consent_id)
            )
        ).first()
        if gone is None:
            return None
        counted = (
            update(consents)
            .where(consents.c.id == gone.consent_id)
            .values(use_count=consents.c.use_count - 1)
            .returning(consents.c.id.label("consent_id"), consents.c.institution)
        )
        return (await self._db.execute(counted)).one()

    # --- the institutions' feeds --------------------------------------------------------------------------------

    async def record_event(
        self, institution: str, kind: EventType, consent_id: uuid.UUID, when: datetime, disclosure_id: str = ""
    ) -> int:
        """Append an event to the institution's feed at the next position (no gaps: see `feed_heads`)."""
        position = await next_position(self._db, feed_heads, institution)
        await self._db.execute(
            insert(events).values(
                institution=institution,
                position=position,
                type=kind.value,
                event_time=when,
                consent_id=consent_id,
                disclosure_id=disclosure_id,
            )
        )
        return position

    async def events_after(self, institution: str, after: int, limit: int) -> list[Event]:
        rows = await self._db.execute(
            select(events)
            .where(events.c.institution == institution, events.c.position > after)
            .order_by(events.c.position)
            .limit(limit)
        )
        return [Event(r.position, EventType(r.type), r.event_time, r.consent_id, r.disclosure_id) for r in rows]

    async def first_kept_position(self, institution: str) -> int:
        """The oldest position kept; past the head when the feed is empty (or everything was pruned)."""
        oldest = (
            await self._db.execute(select(func.min(events.c.position)).where(events.c.institution == institution))
        ).scalar_one_or_none()
        if oldest is not None:
            return int(oldest)
        head = (
            await self._db.execute(select(feed_heads.c.last_position).where(feed_heads.c.institution == institution))
        ).scalar_one_or_none()
        return int(head or 0) + 1

    async def consents_by_id(self, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Consent]:
        rows = list(await self._db.execute(select(consents).where(consents.c.id.in_(list(set(ids))))))
        return {c.id: c for c in [_consent(r, []) for r in rows]}

    async def newly_expired(self, now: datetime, limit: int) -> list[Consent]:
        """Consents whose validity ran out and whose expiry is not yet in their institution's feed, locked."""
        rows = list(
            await self._db.execute(
                select(consents)
                .where(consents.c.expire_time <= now, consents.c.expiry_noted.is_(False))
                .order_by(consents.c.expire_time)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        return [_consent(r, []) for r in rows]

    async def expiry_noted(self, consent_id: uuid.UUID) -> None:
        await self._db.execute(update(consents).where(consents.c.id == consent_id).values(expiry_noted=True))

    async def any_newly_expired(self, now: datetime) -> bool:
        query = select(consents.c.id).where(consents.c.expire_time <= now, consents.c.expiry_noted.is_(False))
        return (await self._db.execute(query.limit(1))).first() is not None

    async def any_events_before(self, before: datetime) -> bool:
        return (
            await self._db.execute(select(events.c.position).where(events.c.event_time < before).limit(1))
        ).first() is not None

    async def prune_events(self, before: datetime) -> int:
        """Forget feed events older than the retention."""
        result = await self._db.execute(delete(events).where(events.c.event_time < before))
        return int(result.rowcount or 0)

    # --- credit blocks (DOM-12) ---------------------------------------------------------------------------------

    async def block(self, subject_index: bytes, when: datetime) -> datetime:
        await self._db.execute(
            insert(credit_blocks).values(subject_index=subject_index, create_time=when).on_conflict_do_nothing()
        )
        return await self.blocked_since(subject_index) or when

    async def unblock(self, subject_index: bytes) -> None:
        await self._db.execute(delete(credit_blocks).where(credit_blocks.c.subject_index == subject_index))

    # --- identity-theft flags ------------------------------------------------------------------------------------

    async def place_flag(self, subject_index: bytes, when: datetime, end: datetime) -> IdentityTheftFlag:
        """Place the flag until `end`, or move the end of the one that stands (an ended one is placed anew)."""
        flag = identity_theft_flags
        statement = insert(flag).values(subject_index=subject_index, create_time=when, end_time=end)
        row = (
            await self._db.execute(
                statement.on_conflict_do_update(
                    index_elements=[flag.c.subject_index],
                    set_={
                        "end_time": statement.excluded.end_time,
                        # A flag that stands keeps when it was placed; one that had ended is placed anew.
                        "create_time": case(
                            (flag.c.end_time > when, flag.c.create_time), else_=statement.excluded.create_time
                        ),
                    },
                ).returning(flag.c.create_time, flag.c.end_time)
            )
        ).one()
        return IdentityTheftFlag(row.create_time, row.end_time)

    async def lift_flag(self, subject_index: bytes) -> None:
        flags = identity_theft_flags
        await self._db.execute(delete(flags).where(flags.c.subject_index == subject_index))

    async def blocked_since(self, subject_index: bytes) -> datetime | None:
        since: datetime | None = (
            await self._db.execute(
                select(credit_blocks.c.create_time).where(credit_blocks.c.subject_index == subject_index)
            )
        ).scalar_one_or_none()
        return since


class ConsentUnitOfWork(UnitOfWork):
    """One transaction of consent's use cases, with its store."""

    consents: ConsentStore

    def bind(self, connection: AsyncConnection) -> None:
        self.consents = ConsentStore(connection)
