"""consent's use cases: a subject grants, lists and withdraws consents and blocks lookups; an institution registers
consents it collected, checks and ends them, and reads its event feed; lookup checks and uses a consent."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from gjeld_shared.errors import AlreadyExists, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from gjeld_shared.identity_numbers import SubjectKeys
from gjeld_shared.server import drain_when_due
from gjeld_shared.timestamps import now

from . import domain
from .adapters import ConsentUnitOfWork
from .domain import Consent, Event, EventType, IdentityTheftFlag, Origin, Scope, Standing, State, Use


@dataclass(frozen=True)
class Feed:
    """A stretch of an institution's feed, with the consents its events name."""

    events: list[Event]
    consents: dict[uuid.UUID, Consent]
    next_after: int
    first_kept: int


@dataclass(frozen=True)
class ConsentRequest:
    """What a new consent should allow, as a subject or an institution asked for it."""

    institution: str
    scope: Scope
    validity: timedelta | None
    max_uses: int | None


def _not_found(consent_id: uuid.UUID | None, own_id: str | None) -> NotFound:
    named = {"consent_id": str(consent_id)} if consent_id else {"institution_consent_id": own_id or ""}
    return NotFound("CONSENT_NOT_FOUND", "no consent with this id was given to the caller", named)


class Consents:
    def __init__(self, unit_of_work: Callable[[], ConsentUnitOfWork], keys: SubjectKeys, retention: timedelta) -> None:
        self._uow = unit_of_work
        self._keys = keys
        self._retention = retention

    async def _create(
        self,
        subject: str,
        asked: ConsentRequest,
        origin: Origin,
        request_id: str,
        institution_id: str | None,
        content: bytes,
    ) -> tuple[Consent, bytes, bytes, bool]:
        moment = now()
        terms, problems = domain.terms(asked.scope, asked.validity, asked.max_uses, moment)
        if terms is None:
            raise InvalidArgument([FieldViolation(f, d) for f, d in problems])
        consent = Consent(
            uuid.uuid4(),
            asked.institution,
            asked.scope,
            moment,
            terms.expire_time,
            terms.max_uses,
            origin=origin,
            institution_consent_id=institution_id,
        )
        digest = self._keys.digest(content)
        async with self._uow() as uow:
            stored, stored_digest, created = await uow.consents.add(
                self._keys.blind_index(subject), consent, request_id, digest
            )
            if created:
                await uow.consents.record_event(asked.institution, EventType.CREATED, stored.id, moment)
            await uow.commit()
        return stored, stored_digest, digest, created

    async def grant(self, subject: str, asked: ConsentRequest, request_id: str, content: bytes) -> Consent:
        """The subject gives a consent to the registry directly; a retry returns the first (AIP-155)."""
        stored, stored_digest, digest, _ = await self._create(subject, asked, Origin.SUBJECT, request_id, None, content)
        if stored_digest != digest:
            raise AlreadyExists(
                "REQUEST_ID_REUSED", "this request id was used before for another consent", {"request_id": request_id}
            )
        return stored

    async def register(
        self, subject: str, asked: ConsentRequest, institution_consent_id: str, content: bytes
    ) -> tuple[Consent, bool]:
        """An institution registers a consent it collected (the integrated flow), idempotent on its own id.

        The digest covers the subject too, so the same id for another person is refused, never merged."""
        stored, stored_digest, digest, created = await self._create(
            subject,
            asked,
            Origin.INSTITUTION,
            # The subject-side request id is unused here; a fresh one cannot clash with a subject's own grants.
            uuid.uuid4().hex,
            institution_consent_id,
            content,
        )
        if stored_digest != digest:
            raise AlreadyExists(
                "CONSENT_ID_REUSED",
                "this consent id was registered before with other data",
                {"institution_consent_id": institution_consent_id},
            )
        return stored, created

    async def uses(
        self, subject: str, consent_id: uuid.UUID, before: tuple[datetime, str] | None, limit: int
    ) -> tuple[Consent, list[Use]]:
        """One of the subject's consents and a page of its uses, newest first."""
        async with self._uow() as uow:
            consent = await uow.consents.get(self._keys.blind_index(subject), consent_id)
            if consent is None:
                raise NotFound(
                    "CONSENT_NOT_FOUND", "the subject has no consent with this id", {"consent_id": str(consent_id)}
                )
            return consent, await uow.consents.uses_of(consent_id, before, limit)

    async def list(self, subject: str, before: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Consent]:
        async with self._uow() as uow:
            return await uow.consents.of_subject(self._keys.blind_index(subject), before, limit)

    async def withdraw(self, subject: str, consent_id: uuid.UUID) -> Consent:
        async with self._uow() as uow:
            consent = await uow.consents.get(self._keys.blind_index(subject), consent_id, lock=True)
            if consent is None:
                raise NotFound(
                    "CONSENT_NOT_FOUND", "the subject has no consent with this id", {"consent_id": str(consent_id)}
                )
            if consent.withdraw_time is None:
                consent.withdraw_time = now()
                await uow.consents.withdraw(consent_id, consent.withdraw_time)
                await uow.consents.record_event(
                    consent.institution, EventType.WITHDRAWN, consent.id, consent.withdraw_time
                )
                await uow.commit()
            return consent

    async def of_institution(self, institution: str, consent_id: uuid.UUID | None, own_id: str | None) -> Consent:
        async with self._uow() as uow:
            consent = await uow.consents.of_institution(institution, consent_id, own_id, lock=False)
        if consent is None:
            raise _not_found(consent_id, own_id)
        return consent

    async def end(self, institution: str, consent_id: uuid.UUID | None, own_id: str | None) -> Consent:
        """The institution no longer needs the consent; a consent already refused is returned as it is."""
        async with self._uow() as uow:
            consent = await uow.consents.of_institution(institution, consent_id, own_id, lock=True)
            if consent is None:
                raise _not_found(consent_id, own_id)
            moment = now()
            if consent.state(moment) is State.ACTIVE:
                consent.end_time = moment
                await uow.consents.end(consent.id, moment)
                await uow.consents.record_event(institution, EventType.ENDED, consent.id, moment)
                await uow.commit()
            return consent

    async def use(
        self, subject: str, institution: str, scope: Scope, disclosure_id: str, reference: str
    ) -> tuple[Consent | None, Standing]:
        """Find the consent that allows this lookup and record the use, or refuse (DOM-10); with the subject's
        standing (the identity-theft flag the lender must be warned of).

        No consent when the subject has a credit block (DOM-12): then none is looked at and no use is recorded."""
        subject_index = self._keys.blind_index(subject)
        async with self._uow() as uow:
            standing, candidates = await uow.consents.candidates(subject_index, institution, scope)
            if standing.blocked_since is not None:
                return None, standing
            moment = now()
            chosen, refusal = domain.choose(candidates, moment)
            use = Use(moment, disclosure_id, reference)
            if chosen is None or not await uow.consents.record_use(chosen.id, institution, use):
                # Nothing to use, or this disclosure's use was recorded before: a retry of the same lookup may
                # rely on its own use (the consent it spent may be used up by that very use).
                earlier = await uow.consents.use_of(disclosure_id)
                if earlier is not None:
                    return self._repeated(candidates, earlier, disclosure_id, reference, moment), standing
                raise PermissionDenied(
                    refusal,
                    "no active consent from the subject allows this lookup",
                    {"institution": institution, "scope": scope.value},
                )
            await uow.commit()
            chosen.used(use)
            return chosen, standing

    async def release(self, disclosure_id: str) -> bool:
        """Give back the use recorded for this disclosure id: the lookup failed before disclosing anything, so it
        spends nothing. The institution's feed says so. False when no use is recorded (or it was released before)."""
        async with self._uow() as uow:
            released = await uow.consents.release_use(disclosure_id)
            if released is None:
                return False
            await uow.consents.record_event(
                released.institution, EventType.USE_RELEASED, released.consent_id, now(), disclosure_id
            )
            await uow.commit()
        return True

    def _repeated(
        self, candidates: Sequence[Consent], earlier: Any, disclosure_id: str, reference: str, moment: datetime
    ) -> Consent:
        """The same lookup asking again (a retry after a failure): the use it recorded stands, once. Never a way round
        a consent that has since been withdrawn, ended or spent: only a retry soon after may rely on its own use."""
        consent = next((c for c in candidates if c.id == earlier.consent_id), None)
        if consent is None or earlier.application_reference != reference:
            # A disclosure is one lookup: its id already names another use.
            raise AlreadyExists(
                "DISCLOSURE_ID_REUSED",
                "this disclosure id was used before for another lookup",
                {"disclosure_id": disclosure_id},
            )
        state = consent.state(moment)
        if state is State.ACTIVE or (
            state in (State.USED_UP, State.EXPIRED) and moment - earlier.use_time <= domain.REPEAT_WINDOW
        ):
            return consent
        raise PermissionDenied(
            domain.REFUSAL_REASONS[state],
            "no active consent from the subject allows this lookup",
            {"institution": consent.institution, "scope": consent.scope.value},
        )

    async def feed(self, institution: str, after: int, limit: int) -> Feed:
        async with self._uow() as uow:
            found = await uow.consents.events_after(institution, after, limit)
            first_kept = await uow.consents.first_kept_position(institution)
            consents = await uow.consents.consents_by_id([e.consent_id for e in found]) if found else {}
        return Feed(found, consents, found[-1].position if found else after, first_kept)

    # --- credit blocks (DOM-12) ---------------------------------------------------------------------------------

    async def place_block(self, subject: str) -> datetime:
        async with self._uow() as uow:
            since = await uow.consents.block(self._keys.blind_index(subject), now())
            await uow.commit()
            return since

    async def lift_block(self, subject: str) -> None:
        async with self._uow() as uow:
            await uow.consents.unblock(self._keys.blind_index(subject))
            await uow.commit()

    async def blocked_since(self, subject: str) -> datetime | None:
        async with self._uow() as uow:
            return await uow.consents.blocked_since(self._keys.blind_index(subject))

    async def standing(self, subject: str) -> Standing:
        """The subject's credit block and identity-theft flag, for a lookup that needs no consent."""
        async with self._uow() as uow:
            return await uow.consents.standing(self._keys.blind_index(subject))

    # --- identity-theft flags -------------------------------------------------------------------------------------

    async def place_flag(self, subject: str, end: datetime | None) -> IdentityTheftFlag:
        """Place the subject's flag until `end` (FLAG_PERIOD ahead when unset), or move the end of the one that
        stands."""
        moment = now()
        until, problems = domain.flag_end(end, moment)
        if until is None:
            raise InvalidArgument([FieldViolation(field, description) for field, description in problems])
        async with self._uow() as uow:
            flag = await uow.consents.place_flag(self._keys.blind_index(subject), moment, until)
            await uow.commit()
            return flag

    async def lift_flag(self, subject: str) -> None:
        async with self._uow() as uow:
            await uow.consents.lift_flag(self._keys.blind_index(subject))
            await uow.commit()

    async def flag(self, subject: str) -> IdentityTheftFlag | None:
        return (await self.standing(subject)).flag

    # --- housekeeping ---------------------------------------------------------------------------------------------

    async def note_expiries(self, limit: int = 100) -> int:
        """Put the expiry of consents whose validity ran out into their institutions' feeds, and forget feed
        events older than the retention. Returns how many expiries were noted."""
        moment = now()
        async with self._uow() as uow:
            expired = await uow.consents.newly_expired(moment, limit)
            for consent in expired:
                if consent.withdraw_time is None and consent.end_time is None:
                    await uow.consents.record_event(
                        consent.institution, EventType.EXPIRED, consent.id, consent.expire_time
                    )
                await uow.consents.expiry_noted(consent.id)
            await uow.consents.prune_events(moment - self._retention)
            await uow.commit()
        return len(expired)

    async def any_housekeeping_due(self) -> bool:
        moment = now()
        async with self._uow() as uow:
            return await uow.consents.any_newly_expired(moment) or await uow.consents.any_events_before(
                moment - self._retention
            )

    async def run_housekeeping(self, stopping: asyncio.Event, interval: float) -> None:
        await drain_when_due(stopping, interval, self.any_housekeeping_due, self.note_expiries, "consent expiry")
