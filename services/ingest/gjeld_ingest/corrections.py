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
from gjeld_shared.server import periodically
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
from .staging import feed_order

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

    def _request(self, row: Any, debtor: bool = True, reason: bool = True, answer: bool = True) -> CorrectionRequest:
        """A row as the domain's request. The person sees it all, and so does its owner (it must find its customer
        and read what they wrote); lookup sees the debtor and the answer (it tells the person), not the reason;
        operators and institutions that no longer own it see neither the person nor anyone's words."""
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
            fix_time=row.fix_time,
            fix_delivery_id=row.fix_delivery_id,
            wrong_since=row.wrong_since,
            debt_register_time=row.debt_register_time,
            debtor=self._keys.decrypt(row.debtor_encrypted) if debtor else None,
            reason=self._keys.unseal(row.reason_sealed).decode() if reason else None,
            answer=self._keys.unseal(row.answer_sealed).decode() if answer and row.answer_sealed else "",
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
                    return self._request(earlier)
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
        return self._request(row)

    async def of_subject(
        self, subject: str, before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[CorrectionRequest]:
        async with self._uow() as uow:
            rows = await uow.corrections.of_debtor(self._keys.blind_index(subject), before, limit)
        return [self._request(row) for row in rows]

    async def feed(self, feed: str, after: int, limit: int) -> list[CorrectionEvent]:
        """An institution's correction events after a position (or lookup's outcome feed), with the requests as
        they stand: the person and their words only while the institution owns the request."""
        async with self._uow() as uow:
            rows = await uow.corrections.events_after(feed, after, limit)
        if feed == OUTCOMES_FEED:  # lookup: the person to tell, and the owner's answer for their letter
            shown = [self._request(row, reason=False) for row in rows]
        else:
            owned = [row.owner == feed for row in rows]  # a former owner sees neither the person nor any words
            shown = [self._request(row, mine, mine, mine) for row, mine in zip(rows, owned, strict=True)]
        return [
            CorrectionEvent(row.position, CorrectionEventType(row.type), row.event_time, request)
            for row, request in zip(rows, shown, strict=True)
        ]

    async def answer(self, institution: str, correction_id: uuid.UUID, answer: CorrectionAnswer) -> CorrectionRequest:
        """The owner's answer to an open request: corrected, rejected, or forwarded to where the error arose."""
        moment = now()
        async with self._uow() as uow:
            store: CorrectionStore = uow.corrections
            row = await store.get_for_update(correction_id)
            if row is None or row.owner != institution:
                raise NotFound(
                    "CORRECTION_NOT_FOUND", "no correction request to you has this id", {"id": str(correction_id)}
                )
            if row.state != CorrectionState.OPEN.value:
                raise FailedPrecondition(
                    "CORRECTION_NOT_OPEN", "the correction request was answered before", {"state": row.state}
                )
            if isinstance(answer, Forwarded):
                # Where the error arose: an institution that held the debt before it was handed over (or the
                # creditor, from one of them). Never any institution: it receives the person and their words.
                holders = await store.earlier_holders(row.account_id, row.debtor_index) | {row.creditor}
                if answer.institution == institution or answer.institution not in holders:
                    raise InvalidArgument(
                        [
                            FieldViolation(
                                "forwarded.institution.value",
                                "must be another institution that held this debt (an earlier holder, or its creditor)",
                            )
                        ]
                    )
                row = await store.change(
                    row, {"owner": answer.institution, "forwarded_by": institution, "remind_time": None}
                )
                await self._append(
                    store,
                    correction_id,
                    moment,
                    (institution, CorrectionEventType.FORWARDED),
                    (answer.institution, CorrectionEventType.RECEIVED),
                )
            elif isinstance(answer, Rejected):
                row = await store.change(
                    row,
                    {
                        "state": CorrectionState.REJECTED.value,
                        "resolve_time": moment,
                        "answer_time": moment,
                        "answer_sealed": self._keys.seal(answer.reason.encode()),
                    },
                )
                await self._append(
                    store,
                    correction_id,
                    moment,
                    (institution, CorrectionEventType.REJECTED),
                    (OUTCOMES_FEED, CorrectionEventType.REJECTED),
                )
            else:
                row = await self._corrected(store, row, answer, moment)
            await uow.commit()
        log.info("correction request %s answered by %s: %s", correction_id, institution, row.state)
        return self._request(row)

    @staticmethod
    async def _append(
        store: CorrectionStore, correction_id: uuid.UUID, when: datetime, *events: tuple[str, CorrectionEventType]
    ) -> None:
        """Events of one request into their feeds, the feeds' heads taken in the one order every writer uses."""
        for feed, kind in sorted(events, key=feed_order):
            await store.append(feed, kind, correction_id, when)

    async def _corrected(self, store: CorrectionStore, row: Any, answer: Corrected, moment: datetime) -> Any:
        values: dict[str, Any] = {"wrong_since": answer.wrong_since, "answer_time": moment}
        if answer.description:
            values["answer_sealed"] = self._keys.seal(answer.description.encode())
        if answer.delivery_id is None:
            # The creditor's next delivery carries the fix: it resolves the request (Ingest.deliver).
            values["state"] = CorrectionState.AWAITING_FIX.value
            changed = await store.change(row, values)
            await store.append(row.owner, CorrectionEventType.AWAITING_FIX, row.id, moment)
            return changed
        applied = await store.delivery_since(row.creditor, answer.delivery_id, row.create_time)
        if applied is None:
            raise InvalidArgument(
                [
                    FieldViolation(
                        "corrected.delivery_id",
                        "must name a delivery of the debt's creditor applied after the request was made",
                    )
                ]
            )
        values.update(
            state=CorrectionState.CORRECTED.value,
            resolve_time=moment,
            fix_time=applied,  # the register has held the fix since that delivery was applied
            fix_delivery_id=answer.delivery_id,
        )
        changed = await store.change(row, values)
        await self._append(
            store,
            row.id,
            moment,
            (row.owner, CorrectionEventType.CORRECTED),
            (OUTCOMES_FEED, CorrectionEventType.CORRECTED),
        )
        return changed

    async def overdue(self, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[CorrectionRequest]:
        """Open requests past their deadline, for operators: without the person or what they wrote."""
        async with self._uow() as uow:
            rows = await uow.corrections.overdue(now(), after, limit)
        return [self._request(row, debtor=False, reason=False, answer=False) for row in rows]

    async def remind(self) -> int:
        """Remind each owner, in its feed, of its unresolved requests whose deadline is a week or less away; once
        per owner (a request forwarded after its reminder is reminded again, to its new owner)."""
        moment = now()
        async with self._uow() as uow:
            store: CorrectionStore = uow.corrections
            rows = await store.to_remind(moment)
            for row in rows:
                await store.append(row.owner, CorrectionEventType.REMINDER, row.id, moment)
                await store.change(row, {"remind_time": moment})
            await uow.commit()
        for row in rows:
            log.info("correction request %s: owner %s reminded, due %s", row.id, row.owner, row.due_time.date())
        return len(rows)

    async def run_housekeeping(self, stopping: asyncio.Event, interval: float) -> None:
        """Reminders, until the service stops; overdue requests are what ListOverdueCorrectionRequests shows."""
        await periodically(stopping, interval, self.remind, "correction reminders")
