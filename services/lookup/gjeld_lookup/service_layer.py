"""lookup's use cases: a lender's lookup, the subject's own view, who received my data,
and the relay that hands copy letters to notify."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import grpc
from gjeld.lookup.v1 import lookup_pb2, lookup_service_pb2
from gjeld.notify.v1 import notify_pb2
from gjeld.type.v1 import debt_pb2
from gjeld_shared.identity_numbers import SubjectKeys
from gjeld_shared.institutions import InstitutionDirectory, institution_to_proto
from gjeld_shared.server import backoff, drain_when_due
from gjeld_shared.telemetry import current_trace_id
from gjeld_shared.timestamps import now, to_proto
from opentelemetry import trace
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncEngine

from . import domain
from .adapters import DisclosureLog, Registry
from .domain import Purpose

log = logging.getLogger(__name__)

PURPOSE_TO_PROTO = {
    Purpose.CREDIT_ASSESSMENT: lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT,
    Purpose.SUBJECT_ACCESS: lookup_pb2.DISCLOSURE_PURPOSE_SUBJECT_ACCESS,
}


@dataclass(frozen=True)
class Disclosed:
    disclosure: lookup_pb2.Disclosure
    debts: list[debt_pb2.DisclosedDebt]
    totals: list[debt_pb2.DebtTotal]


class Lookups:
    def __init__(
        self,
        engine: AsyncEngine,
        keys: SubjectKeys,
        registry: Registry,
        directory: InstitutionDirectory,
        call_timeout: float,
        tracer: trace.Tracer,
    ) -> None:
        self._engine = engine
        # The service's own tracer: the global one is a no-op, as each service has its own provider.
        self._tracer = tracer
        self._keys = keys
        self._registry = registry
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
        )
        if row["recipient"]:
            message.recipient.CopyFrom(institution_to_proto(self._directory.get(row["recipient"])))
        return message

    async def look_up(self, lender: str, subject: str, reference: str, timeout: float) -> Disclosed:
        """A lender's lookup: consent first, then the debts, then one transaction for record and letter."""
        disclosure_id = uuid.uuid4()
        consent_id = await self._registry.use_consent(subject, lender, str(disclosure_id), timeout)
        debts = [domain.for_lender(d) for d in await self._registry.debts_of(subject, timeout)]
        totals = domain.totals(debts)
        moment = now()
        recipient = self._directory.get(lender)
        letter = notify_pb2.CopyLetter(
            recipient=institution_to_proto(recipient),
            disclose_time=to_proto(moment),
            purpose=domain.PURPOSE_WORDS[Purpose.CREDIT_ASSESSMENT],
            source=domain.SOURCE,
            application_reference=reference,
            debts=debts,
            totals=totals,
        )
        values = {
            "id": disclosure_id,
            "subject_index": self._keys.blind_index(subject),
            "recipient": lender,
            "purpose": Purpose.CREDIT_ASSESSMENT.value,
            "consent_id": consent_id,
            "application_reference": reference,
            "debt_count": len(debts),
            "trace_id": current_trace_id(),
            "disclose_time": moment,
            "disclosed": lookup_service_pb2.LookUpDebtResponse(debts=debts, totals=totals).SerializeToString(),
        }
        async with self._engine.begin() as connection:
            log_ = DisclosureLog(connection)
            await log_.record(values)
            await log_.queue_letter(disclosure_id, self._keys.encrypt(subject), letter.SerializeToString(), moment)
        return Disclosed(self.disclosure_to_proto(values), debts, totals)

    async def own_debt(self, subject: str, timeout: float) -> tuple[list[lookup_pb2.OwnDebt], list[debt_pb2.DebtTotal]]:
        """The subject's own view, with creditors; recorded in the access log, no letter."""
        debts = [domain.for_subject(d) for d in await self._registry.debts_of(subject, timeout)]
        totals = domain.totals(debts)
        async with self._engine.begin() as connection:
            await DisclosureLog(connection).record(
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
        return debts, totals

    async def disclosures_of(
        self, subject: str, before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Row[Any]]:
        async with self._engine.connect() as connection:
            return await DisclosureLog(connection).of_subject(self._keys.blind_index(subject), before, limit)

    async def relay_letters(self, limit: int = 20) -> int:
        """Hand due copy letters to notify, at least once; notify de-duplicates on the disclosure id."""
        relayed = 0
        async with self._engine.begin() as connection:
            log_ = DisclosureLog(connection)
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
        return relayed

    async def any_letter_due(self) -> bool:
        async with self._engine.connect() as connection:
            return await DisclosureLog(connection).any_letter_due(now())

    async def run_relay(self, stopping: asyncio.Event, interval: float) -> None:
        await drain_when_due(stopping, interval, self.any_letter_due, self.relay_letters, "relay")
