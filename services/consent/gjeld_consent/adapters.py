"""consent's storage, in the `consent` schema: consents (the subject as a keyed hash)
and every use of each."""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from gjeld_shared.db import beyond
from sqlalchemy import (
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from .domain import Consent, Scope, Use

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
    Index("consents_by_request", "subject_index", "request_id", unique=True),
    Index("consents_by_subject", "subject_index", "institution", "scope"),
)

uses = Table(
    "consent_uses",
    metadata,
    Column("disclosure_id", String(64), primary_key=True),
    Column("consent_id", UUID(as_uuid=True), ForeignKey(f"{SCHEMA}.consents.id"), nullable=False),
    Column("use_time", DateTime(timezone=True), nullable=False),
    Index("consent_uses_by_consent", "consent_id"),
)


def _consent(row: Any, used: list[Use]) -> Consent:
    return Consent(
        row.id,
        row.institution,
        Scope(row.scope),
        row.create_time,
        row.expire_time,
        row.max_uses,
        used,
        row.withdraw_time,
    )


class ConsentStore:
    def __init__(self, connection: AsyncConnection) -> None:
        self._db = connection

    async def _with_uses(self, rows: list[Any]) -> list[Consent]:
        by_consent: dict[uuid.UUID, list[Use]] = defaultdict(list)
        if rows:
            found = await self._db.execute(
                select(uses).where(uses.c.consent_id.in_([r.id for r in rows])).order_by(uses.c.use_time)
            )
            for use in found:
                by_consent[use.consent_id].append(Use(use.use_time, use.disclosure_id))
        return [_consent(row, by_consent[row.id]) for row in rows]

    async def add(
        self, subject_index: bytes, consent: Consent, request_id: str, digest: bytes
    ) -> tuple[Consent, bytes]:
        """Store a new consent, or return the one stored before under the same request id, with its digest."""
        inserted = (
            await self._db.execute(
                insert(consents)
                .values(
                    id=consent.id,
                    subject_index=subject_index,
                    institution=consent.institution,
                    scope=consent.scope.value,
                    create_time=consent.create_time,
                    expire_time=consent.expire_time,
                    max_uses=consent.max_uses,
                    request_id=request_id,
                    request_digest=digest,
                )
                .on_conflict_do_nothing(index_elements=["subject_index", "request_id"])
                .returning(consents.c.id)
            )
        ).first()
        if inserted is not None:
            return consent, digest
        row = (
            await self._db.execute(
                select(consents).where(consents.c.subject_index == subject_index, consents.c.request_id == request_id)
            )
        ).one()
        return (await self._with_uses([row]))[0], row.request_digest

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

    async def withdraw(self, consent_id: uuid.UUID, when: datetime) -> None:
        await self._db.execute(update(consents).where(consents.c.id == consent_id).values(withdraw_time=when))

    async def candidates(self, subject_index: bytes, institution: str, scope: Scope) -> list[Consent]:
        """The subject's consents for this institution and scope, newest first, locked for a use."""
        rows = list(
            await self._db.execute(
                select(consents)
                .where(
                    consents.c.subject_index == subject_index,
                    consents.c.institution == institution,
                    consents.c.scope == scope.value,
                )
                .order_by(consents.c.create_time.desc())
                .with_for_update()
            )
        )
        return await self._with_uses(rows)

    async def used_for(self, disclosure_id: str) -> uuid.UUID | None:
        return (
            await self._db.execute(select(uses.c.consent_id).where(uses.c.disclosure_id == disclosure_id))
        ).scalar_one_or_none()

    async def record_use(self, consent_id: uuid.UUID, disclosure_id: str, when: datetime) -> None:
        await self._db.execute(insert(uses).values(disclosure_id=disclosure_id, consent_id=consent_id, use_time=when))
