"""consent's use cases: grant, list, withdraw, and check-and-use for a lookup."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from gjeld_shared.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from gjeld_shared.identity_numbers import SubjectKeys
from gjeld_shared.timestamps import now
from sqlalchemy.ext.asyncio import AsyncEngine

from . import domain
from .adapters import ConsentStore
from .domain import Consent, Scope, Use


class Consents:
    def __init__(self, engine: AsyncEngine, keys: SubjectKeys) -> None:
        self._engine = engine
        self._keys = keys

    async def grant(
        self,
        subject: str,
        institution: str,
        scope: Scope,
        validity: timedelta | None,
        max_uses: int | None,
        request_id: str,
        content: bytes,
    ) -> Consent:
        moment = now()
        terms, problems = domain.terms(scope, validity, max_uses, moment)
        if terms is None:
            raise InvalidArgument([FieldViolation(f, d) for f, d in problems])
        consent = Consent(uuid.uuid4(), institution, scope, moment, terms.expire_time, terms.max_uses)
        digest = self._keys.digest(content)
        async with self._engine.begin() as connection:
            stored, stored_digest = await ConsentStore(connection).add(
                self._keys.blind_index(subject), consent, request_id, digest
            )
        if stored_digest != digest:
            raise AlreadyExists(
                "REQUEST_ID_REUSED", "this request id was used before for another consent", {"request_id": request_id}
            )
        return stored

    async def list(self, subject: str, before: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Consent]:
        async with self._engine.connect() as connection:
            return await ConsentStore(connection).of_subject(self._keys.blind_index(subject), before, limit)

    async def withdraw(self, subject: str, consent_id: uuid.UUID) -> Consent:
        async with self._engine.begin() as connection:
            store = ConsentStore(connection)
            consent = await store.get(self._keys.blind_index(subject), consent_id, lock=True)
            if consent is None:
                raise NotFound(
                    "CONSENT_NOT_FOUND", "the subject has no consent with this id", {"consent_id": str(consent_id)}
                )
            if consent.withdraw_time is None:
                consent.withdraw_time = now()
                await store.withdraw(consent_id, consent.withdraw_time)
            return consent

    async def use(self, subject: str, institution: str, scope: Scope, disclosure_id: str) -> Consent:
        """Find the consent that allows this lookup and record the use, or refuse (DOM-10)."""
        subject_index = self._keys.blind_index(subject)
        async with self._engine.begin() as connection:
            store = ConsentStore(connection)
            moment = now()
            candidates = await store.candidates(subject_index, institution, scope)
            already = await store.used_for(disclosure_id)
            if already is not None:
                for consent in candidates:
                    if consent.id == already:
                        return consent
            chosen, refusal = domain.choose(candidates, moment)
            if chosen is None:
                raise PermissionDenied(
                    refusal,
                    "no active consent from the subject allows this lookup",
                    {"institution": institution, "scope": scope.value},
                )
            await store.record_use(chosen.id, disclosure_id, moment)
            chosen.uses.append(Use(moment, disclosure_id))
            return chosen
