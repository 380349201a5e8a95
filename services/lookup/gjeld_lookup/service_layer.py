"""lookup's use cases: a lender's lookup, the subject's own view, who received my data,
and the relay that hands copy letters to notify."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc
from gjeld.lookup.v1 import lookup_pb2, lookup_service_pb2
from gjeld.notify.v1 import notify_pb2
from gjeld.type.v1 import debt_pb2
from gjeld_shared.errors import AlreadyExists, PermissionDenied
from gjeld_shared.identity_numbers import SubjectKeys
from gjeld_shared.institutions import InstitutionDirectory, institution_to_proto
from gjeld_shared.server import backoff, drain_when_due
from gjeld_shared.telemetry import current_trace_id
from gjeld_shared.timestamps import now, to_proto
from opentelemetry import trace
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from . import domain
from .adapters import DisclosureUnitOfWork, LiveCreditors, Registry
from .domain import Answer, Purpose

log = logging.getLogger(__name__)

PURPOSE_TO_PROTO = {
    Purpose.CREDIT_ASSESSMENT: lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT,
    Purpose.SUBJECT_ACCESS: lookup_pb2.DISCLOSURE_PURPOSE_SUBJECT_ACCESS,
    Purpose.PRESENTATION: lookup_pb2.DISCLOSURE_PURPOSE_PRESENTATION,
    Purpose.CREDIT_BUREAU: lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_BUREAU,
}
ANSWER_TO_PROTO = {
    Answer.LIVE: lookup_pb2.CREDITOR_ANSWER_LIVE,
    Answer.REGISTERED: lookup_pb2.CREDITOR_ANSWER_REGISTERED,
    Answer.MISSING: lookup_pb2.CREDITOR_ANSWER_MISSING,
}
# Time kept back from the caller's deadline for what follows the live answers (recording the disclosure).
RESERVE_SECONDS = 0.3


@dataclass(frozen=True)
class Disclosed:
    """What an institution receives (DOM-5: no creditor anywhere in it)."""

    disclosure: lookup_pb2.Disclosure
    debts: list[debt_pb2.DisclosedDebt]
    totals: list[debt_pb2.DebtTotal]
    creditors: list[lookup_pb2.CreditorStatus]
    answered: int
    missing: int


@dataclass(frozen=True)
class OwnView:
    """What the subject sees of their own debt: with creditors."""

    debts: list[lookup_pb2.OwnDebt]
    totals: list[debt_pb2.DebtTotal]
    creditors: list[lookup_pb2.OwnCreditorStatus]
    answered: int
    missing: int


class Lookups:
    def __init__(
        self,
        unit_of_work: Callable[[], DisclosureUnitOfWork],
        keys: SubjectKeys,
        registry: Registry,
        live: LiveCreditors,
        directory: InstitutionDirectory,
        call_timeout: float,
        tracer: trace.Tracer,
    ) -> None:
        self._uow = unit_of_work
        # The service's own tracer: the global one is a no-op, as each service has its own provider.
        self._tracer = tracer
        self._keys = keys
        self._registry = registry
        self._live = live
        self._directory = directory
        # The longest one call to another service may take (the caller's own deadline may cut it shorter).
        self.call_timeout = call_timeout

    def disclosure_to_proto(self, row: Mapping[Any, Any]) -> lookup_pb2.Disclosure:
        """A disclosure record (a row's mapping, or the values written) as the contract's message."""
        message = lookup_pb2.Disclosure(
            id=str(row["id"]),
            purpose=PURPOSE_TO_PROTO[Purpose(row["purpose"])],
            consent_id=row["consent_id"] or "",
            disclose_time=to_proto(row["disclose_time"]),
            debt_count=row["debt_count"],
            application_reference=row["application_reference"],
            trace_id=row["trace_id"],
            credit_blocked=row["credit_blocked"],
        )
        if row["recipient"]:
            message.recipient.CopyFrom(institution_to_proto(self._directory.get(row["recipient"])))
        return message

    async def _gather(self, subject: str, wait: float, timeout: float) -> domain.Gathered:
        """The subject's registered debts and the live creditors' answers, asked at the same time."""
        live = self._directory.live_creditors()
        registered, answers = await asyncio.gather(
            self._registry.debts_of(subject, timeout),
            self._live.ask(live, subject, min(wait, timeout - RESERVE_SECONDS)),
        )
        answered_at = to_proto(now())
        for number, debts in answers.items():
            creditor = institution_to_proto(self._directory.get(number))
            for debt in debts:
                debt.creditor.CopyFrom(creditor)
                debt.confirm_time.CopyFrom(answered_at)
        return domain.gather(registered, [c.organization_number for c in live], answers)

    async def _may_see(
        self, institution: str, purpose: Purpose, subject: str, disclosure_id: uuid.UUID, reference: str, timeout: float
    ) -> tuple[str | None, bool]:
        """The legal basis checked: (the consent used, if the purpose needs one; whether a credit block stops it)."""
        if purpose.value not in self._directory.get(institution).purposes:
            raise PermissionDenied(
                "PURPOSE_NOT_ALLOWED",
                "the operator has not allowed this institution to look up debt for this purpose",
                {"purpose": purpose.value},
            )
        scope = domain.CONSENT_SCOPE.get(purpose)
        if scope is None:
            return None, await self._registry.credit_blocked(subject, timeout)
        consent_id = await self._registry.use_consent(
            subject, institution, scope, str(disclosure_id), reference, timeout
        )
        return consent_id, consent_id is None

    async def look_up(
        self,
        institution: str,
        purpose: Purpose,
        subject: str,
        reference: str,
        wait: float,
        timeout: float,
        request_id: str = "",
    ) -> Disclosed:
        """An institution's lookup: the legal basis first (DOM-9, DOM-10, DOM-12), then the debts from the register
        and the live creditors, then one transaction for the record and the copy letter (DOM-13).

        With a request id, a retry of the same lookup is answered from the first one's record (AIP-155): no second
        use of the consent, no second disclosure, no second letter."""
        digest = self._keys.digest(f"{subject}\x00{purpose.value}\x00{reference}".encode()) if request_id else None
        if request_id:
            async with self._uow() as uow:
                earlier = await uow.disclosures.of_request(institution, request_id)
            if earlier is not None:
                return self._retried(earlier, digest, request_id)
        disclosure_id = uuid.uuid4()
        consent_id, blocked = await self._may_see(institution, purpose, subject, disclosure_id, reference, timeout)
        gathered = domain.Gathered([], 0, 0) if blocked else await self._gather(subject, wait, timeout)
        debts, creditors = [], []
        for number, part in enumerate(gathered.parts, start=1):
            debts += [domain.for_lender(d, number) for d in part.debts]
            status = lookup_pb2.CreditorStatus(creditor_number=number, answer=ANSWER_TO_PROTO[part.answer])
            confirmed = part.confirm_time()
            if confirmed is not None:
                status.confirm_time.FromDatetime(confirmed)
            creditors.append(status)
        totals = domain.totals(debts)
        moment = now()
        values = {
            "id": disclosure_id,
            "subject_index": self._keys.blind_index(subject),
            "recipient": institution,
            "purpose": purpose.value,
            "consent_id": consent_id,
            "application_reference": reference,
            "debt_count": len(debts),
            "trace_id": current_trace_id(),
            "disclose_time": moment,
            "credit_blocked": blocked,
            "disclosed": lookup_service_pb2.LookUpDebtResponse(
                debts=debts,
                totals=totals,
                creditors=creditors,
                credit_blocked=blocked,
                creditors_answered=gathered.answered,
                creditors_missing=gathered.missing,
            ).SerializeToString(),
            "request_id": request_id or None,
            "request_digest": digest,
        }
        letter = None
        # DOM-13 for lenders; DOM-12: a subject is told of every lookup their block stopped.
        if purpose in domain.COPY_LETTER or blocked:
            letter = notify_pb2.CopyLetter(
                recipient=institution_to_proto(self._directory.get(institution)),
                disclose_time=to_proto(moment),
                purpose=domain.PURPOSE_WORDS[purpose],
                source=domain.SOURCE,
                application_reference=reference,
                debts=debts,
                totals=totals,
                credit_blocked=blocked,
                creditors_answered=gathered.answered,
                creditors_missing=gathered.missing,
            )
        try:
            await self._record(values, letter, subject)
        except IntegrityError:
            # The same request, sent twice at once, recorded first by the other call: its answer is the answer.
            async with self._uow() as uow:
                earlier = await uow.disclosures.of_request(institution, request_id)
            if not request_id or earlier is None:
                raise
            return self._retried(earlier, digest, request_id)
        return Disclosed(
            self.disclosure_to_proto(values), debts, totals, creditors, gathered.answered, gathered.missing
        )

    def _retried(self, earlier: Any, digest: bytes | None, request_id: str) -> Disclosed:
        """The answer to a retried lookup: the first one's, if it asked the same."""
        if earlier.request_digest != digest:
            raise AlreadyExists(
                "REQUEST_ID_REUSED", "this request id was used before for another lookup", {"request_id": request_id}
            )
        answer = lookup_service_pb2.LookUpDebtResponse.FromString(earlier.disclosed)
        return Disclosed(
            self.disclosure_to_proto(earlier._mapping),
            list(answer.debts),
            list(answer.totals),
            list(answer.creditors),
            answer.creditors_answered,
            answer.creditors_missing,
        )

    async def _record(self, values: dict[str, Any], letter: notify_pb2.CopyLetter | None, subject: str) -> None:
        """The disclosure record and the copy letter to send (if any), in one transaction."""
        async with self._uow() as uow:
            await uow.disclosures.record(values)
            if letter is not None:
                await uow.disclosures.queue_letter(
                    values["id"], self._keys.encrypt(subject), letter.SerializeToString(), values["disclose_time"]
                )
            await uow.commit()

    async def own_debt(self, subject: str, wait: float, timeout: float) -> OwnView:
        """The subject's own view, with creditors (DOM-5), live where creditors answer; in the access log, no
        letter. A credit block does not hide a subject's debt from the subject."""
        gathered = await self._gather(subject, wait, timeout)
        debts, creditors = [], []
        for part in gathered.parts:
            debts += [domain.for_subject(d) for d in part.debts]
            status = lookup_pb2.OwnCreditorStatus(
                creditor=institution_to_proto(self._directory.get(part.organization_number)),
                answer=ANSWER_TO_PROTO[part.answer],
            )
            confirmed = part.confirm_time()
            if confirmed is not None:
                status.confirm_time.FromDatetime(confirmed)
            creditors.append(status)
        totals = domain.totals(debts)
        async with self._uow() as uow:
            await uow.disclosures.record(
                {
                    "id": uuid.uuid4(),
                    "subject_index": self._keys.blind_index(subject),
                    "recipient": None,
                    "purpose": Purpose.SUBJECT_ACCESS.value,
                    "consent_id": None,
                    "application_reference": "",
                    "debt_count": len(debts),
                    "trace_id": current_trace_id(),
                    "disclose_time": now(),
                    "disclosed": b"",
                }
            )
            await uow.commit()
        return OwnView(debts, totals, creditors, gathered.answered, gathered.missing)

    async def disclosures_of(
        self, subject: str, before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Row[Any]]:
        async with self._uow() as uow:
            return await uow.disclosures.of_subject(self._keys.blind_index(subject), before, limit)

    async def relay_letters(self, limit: int = 20) -> int:
        """Hand due copy letters to notify, at least once; notify de-duplicates on the disclosure id."""
        relayed = 0
        async with self._uow() as uow:
            log_ = uow.disclosures
            for row in await log_.letters_due(now(), limit):
                with self._tracer.start_as_current_span(
                    "relay copy letter", attributes={"disclosure.id": str(row.disclosure_id)}
                ):
                    try:
                        await self._registry.send_letter(
                            str(row.disclosure_id),
                            self._keys.decrypt(row.subject_encrypted),
                            notify_pb2.CopyLetter.FromString(row.copy_letter),
                            self.call_timeout,
                        )
                    except grpc.RpcError as error:
                        retry = now() + backoff(row.attempts, cap_seconds=60)
                        await log_.relay_failed(row.disclosure_id, retry, error.code().name)
                        continue
                await log_.relayed(row.disclosure_id, now())
                relayed += 1
            await uow.commit()
        return relayed

    async def any_letter_due(self) -> bool:
        async with self._uow() as uow:
            return await uow.disclosures.any_letter_due(now())

    async def run_relay(self, stopping: asyncio.Event, interval: float) -> None:
        await drain_when_due(stopping, interval, self.any_letter_due, self.relay_letters, "relay")
