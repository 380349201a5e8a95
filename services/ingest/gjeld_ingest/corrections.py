"""Correction requests (DOM-14, regulation §9 second paragraph; GDPR art. 12(3), 16 and 19).

A person asks for one of their debts to be corrected, with a reason. The request goes to the institution that
reported the debt, which reads it from its correction feed (positions without gaps, replayable, like the consent
feed) and answers: corrected (by a delivery it names, or by its next delivery, which then resolves the request in its
own transaction), rejected with a reason the person reads, or forwarded to the institution where the error arose,
which then owns it. While the request is unresolved the debt is disputed in every lookup and own view. The deadline
is one month from the request; the owner is reminded a week before, and operators see what is overdue.

A resolved request enters lookup's outcome feed: lookup finds everyone whose disclosures held the debt and tells
them, and the person, through notify. Every step is an event in a feed: that is the record of it.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from gjeld_shared.errors import AlreadyExists, FailedPrecondition, FieldViolation, InvalidArgument, NotFound
from gjeld_shared.identity_numbers import SubjectKeys
from gjeld_shared.institutions import InstitutionDirectory
from gjeld_shared.timestamps import add_months, now

from .adapters import CorrectionStore, IngestUnitOfWork
from .domain import (
    OUTCOMES_FEED,
    Corrected,
    CorrectionAnswer,
    CorrectionEvent,
    CorrectionEventType,
    CorrectionRequest,
    CorrectionState,
    DebtType,
    Forwarded,
    Rejected,
)

log = logging.getLogger(__name__)


class Corrections:
    def __init__(
        self,
        unit_of_work: Callable[[], IngestUnitOfWork],
        keys: SubjectKeys,
        directory: InstitutionDirectory,
    ) -> None:
        self._uow = unit_of_work
        self._keys = keys
        self._directory = directory

    def _request(self, row: Any, personal: bool) -> CorrectionRequest:
        """A row as the domain's request; with the debtor, reason and answer only for those who may read them (the
        person and the owner), never for operators."""
        return CorrectionRequest(
            id=row.id,
            creditor=row.creditor,
            account_id=row.account_id,
            debt_type=DebtType(row.debt_type),
            state=CorrectionState(row.state),
            owner=row.owner,
            forwarded_by=row.forwarded_by,
            create_time=row.create_time,
            due_time=row.due_time,
            resolve_time=row.resolve_time,
            fix_delivery_id=row.fix_delivery_id,
            wrong_since=row.wrong_since,
            debt_register_time=row.debt_register_time,
            debtor=self._keys.decrypt(row.debtor_encrypted) if personal else None,
            reason=self._keys.unseal(row.reason_sealed).decode() if personal else None,
            answer=self._keys.unseal(row.answer_sealed).decode() if personal and row.answer_sealed else "",
        )

    async def request(
        self, subject: str, creditor: str, account_id: str, reason: str, request_id: str = ""
    ) -> CorrectionRequest:
        """The subject's request about one of their debts, to the institution that reported it (DOM-14); with a
        request id, a retry returns the first request (AIP-155)."""
        debtor_index = self._keys.blind_index(subject)
        digest = self._keys.digest("\x00".join((creditor, account_id, reason)).encode()) if request_id else None
        moment = now()
        async with self._uow() as uow:
            store: CorrectionStore = uow.corrections
            if request_id:
                earlier = await store.of_request(debtor_index, request_id)
                if earlier is not None:
                    if not hmac.compare_digest(earlier.request_digest, digest or b""):
                        raise AlreadyExists(
                            "REQUEST_ID_REUSED",
                            "this request id was used before for another correction request",
                            {"request_id": request_id},
                        )
                    return self._request(earlier, personal=True)
            debt = await store.debt(creditor, account_id, debtor_index)
            if debt is None:
                raise NotFound("DEBT_NOT_FOUND", "you have no registered debt with this creditor and account")
            row = await store.add(
                {
                    "id": uuid.uuid4(),
                    "creditor": creditor,
                    "account_id": account_id,
                    "debt_type": debt.debt_type,
                    "debtor_index": debtor_index,
                    "debtor_encrypted": self._keys.encrypt(subject),
                    "reason_sealed": self._keys.seal(reason.encode()),
                    "state": CorrectionState.OPEN.value,
                    "owner": creditor,
                    "create_time": moment,
                    "due_time": add_months(moment, 1),
                    "debt_register_time": debt.register_time,
                    "request_id": request_id or None,
                    "request_digest": digest,
                }
            )
            if row is None:
                raise FailedPrecondition(
                    "CORRECTION_ALREADY_OPEN", "a correction request about this debt is already open"
                )
            await store.append(creditor, CorrectionEventType.RECEIVED, row.id, moment)
            await uow.commit()
        log.info("correction request %s made to %s", row.id, creditor)
        return self._request(row, personal=True)

    async def of_subject(
        self, subject: str, before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[CorrectionRequest]:
        async with self._uow() as uow:
            rows = await uow.corrections.of_debtor(self._keys.blind_index(subject), before, limit)
        return [self._request(row, personal=True) for row in rows]

    async def feed(self, feed: str, after: int, limit: int) -> list[CorrectionEvent]:
        """An institution's correction events after a position (or lookup's outcome feed), with the requests."""
        async with self._uow() as uow:
            rows = await uow.corrections.events_after(feed, after, limit)
        return [
            CorrectionEvent(
                row.position, CorrectionEventType(row.type), row.event_time, self._request(row, personal=True)
            )
            for row in rows
        ]

    async def answer(self, institution: str, correction_id: uuid.UUID, answer: CorrectionAnswer) -> CorrectionRequest:
        """The owner's answer to an open request: corrected, rejected, or forwarded to where the error arose."""
        moment = now()
        async with self._uow() as uow:
            store: CorrectionStore = uow.corrections
            row = await store.get(correction_id, lock=True)
            if row is None or row.owner != institution:
                raise NotFound(
                    "CORRECTION_NOT_FOUND", "no correction request to you has this id", {"id": str(correction_id)}
                )
            if row.state != CorrectionState.OPEN.value:
                raise FailedPrecondition(
                    "CORRECTION_NOT_OPEN", "the correction request was answered before", {"state": row.state}
                )
            if isinstance(answer, Forwarded):
                if answer.institution == institution or not self._directory.admits(answer.institution):
                    raise InvalidArgument(
                        [FieldViolation("forwarded.institution.value", "must be another institution of the registry")]
                    )
                row = await store.change(correction_id, {"owner": answer.institution, "forwarded_by": institution})
                await store.append(institution, CorrectionEventType.FORWARDED, correction_id, moment)
                await store.append(answer.institution, CorrectionEventType.RECEIVED, correction_id, moment)
            elif isinstance(answer, Rejected):
                row = await store.change(
                    correction_id,
                    {
                        "state": CorrectionState.REJECTED.value,
                        "resolve_time": moment,
                        "answer_sealed": self._keys.seal(answer.reason.encode()),
                    },
                )
                await store.append(institution, CorrectionEventType.REJECTED, correction_id, moment)
                await store.append(OUTCOMES_FEED, CorrectionEventType.REJECTED, correction_id, moment)
            else:
                row = await self._corrected(store, row, answer, moment)
            await uow.commit()
        log.info("correction request %s answered by %s: %s", correction_id, institution, row.state)
        return self._request(row, personal=True)

    async def _corrected(self, store: CorrectionStore, row: Any, answer: Corrected, moment: datetime) -> Any:
        values: dict[str, Any] = {"wrong_since": answer.wrong_since}
        if answer.description:
            values["answer_sealed"] = self._keys.seal(answer.description.encode())
        if answer.delivery_id is None:
            # The creditor's next delivery carries the fix: it resolves the request (Ingest.deliver).
            values["state"] = CorrectionState.AWAITING_FIX.value
            changed = await store.change(row.id, values)
            await store.append(row.owner, CorrectionEventType.AWAITING_FIX, row.id, moment)
            return changed
        if not await store.delivery_since(row.creditor, answer.delivery_id, row.create_time):
            raise InvalidArgument(
                [
                    FieldViolation(
                        "corrected.delivery_id",
                        "must name a delivery of the debt's creditor applied after the request was made",
                    )
                ]
            )
        values.update(state=CorrectionState.CORRECTED.value, resolve_time=moment, fix_delivery_id=answer.delivery_id)
        changed = await store.change(row.id, values)
        await store.append(row.owner, CorrectionEventType.CORRECTED, row.id, moment)
        await store.append(OUTCOMES_FEED, CorrectionEventType.CORRECTED, row.id, moment)
        return changed

    async def overdue(self, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[CorrectionRequest]:
        """Open requests past their deadline, for operators: without the person or what they wrote."""
        async with self._uow() as uow:
            rows = await uow.corrections.overdue(now(), after, limit)
        return [self._request(row, personal=False) for row in rows]

    async def remind(self) -> int:
        """Remind each owner, in its feed, of its open requests whose deadline is a week or less away; once."""
        moment = now()
        async with self._uow() as uow:
            store: CorrectionStore = uow.corrections
            rows = await store.to_remind(moment)
            for row in rows:
                await store.append(row.owner, CorrectionEventType.REMINDER, row.id, moment)
                await store.change(row.id, {"remind_time": moment})
            await uow.commit()
        for row in rows:
            log.info("correction request %s: owner %s reminded, due %s", row.id, row.owner, row.due_time.date())
        return len(rows)

    async def run_housekeeping(self, stopping: asyncio.Event, interval: float) -> None:
        """Reminders, until the service stops; overdue requests are what ListOverdueCorrectionRequests shows."""
        while not stopping.is_set():
            try:
                await self.remind()
            except Exception:
                log.exception("correction reminders failed; trying again in %g s", interval)
            try:
                await asyncio.wait_for(stopping.wait(), interval)
            except TimeoutError:
                pass
