"""lookup's use cases: a lender's lookup, the subject's own view, who received my data,
and the relay that hands copy letters to notify."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from gjeld.ingest.v1 import ingest_pb2
from gjeld.notify.v1 import notify_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_shared.errors import (
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
)
from gjeld_shared.identity_numbers import SubjectKeys
from gjeld_shared.institutions import InstitutionDirectory, institution_to_proto
from gjeld_shared.server import backoff, drain_when_due, periodically
from gjeld_shared.telemetry import current_trace_id
from gjeld_shared.timestamps import add_months, from_proto, now, to_proto
from opentelemetry import trace
from sqlalchemy.exc import IntegrityError

from . import audit, convert, domain, extracts
from .adapters import DisclosureUnitOfWork, LiveCreditors, Registry, disclosure_from_row
from .domain import CopyLetter, CreditorStatus, Disclosure, LenderDebt, OwnDebt, Purpose, SetAsideLetter, Total

log = logging.getLogger(__name__)

# Time kept back from the caller's deadline for what follows the live answers (recording the disclosure).
RESERVE_SECONDS = 0.3


@dataclass(frozen=True)
class Disclosed:
    """What an institution receives (DOM-5: no creditor anywhere in it, by type)."""

    disclosure: Disclosure
    debts: list[LenderDebt]
    totals: list[Total]
    creditors: list[CreditorStatus]  # shown to the lender by number only
    answered: int
    missing: int
    withheld_stale: int = 0  # debts left out as too old to show (DOM-8)
    identity_theft_flag: bool = False  # the subject's flag stood: verify the applicant's identity with extra care


@dataclass(frozen=True)
class OwnView:
    """What the subject sees of their own debt: with creditors."""

    debts: list[OwnDebt]
    totals: list[Total]
    creditors: list[CreditorStatus]
    answered: int
    missing: int


def _refused(error: Exception) -> bool:
    """notify refused what it was sent as such (it will every time), rather than failing to take it now."""
    return isinstance(error, grpc.RpcError) and error.code() is grpc.StatusCode.INVALID_ARGUMENT


# A batch notify will not take as a batch, whatever its letters: one of them refused, the batch too large for one
# message, or a notify that does not know batches yet (a rolling deploy): handed over one by one, with EnqueueNotice.
BATCH_REFUSALS = (
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
    grpc.StatusCode.UNIMPLEMENTED,
)


def _batch_refused(error: Exception) -> bool:
    return isinstance(error, grpc.RpcError) and error.code() in BATCH_REFUSALS


class Admission:
    """Overload is shed, not queued (issue 15): at most `limit` lookups at once; one that finds no room within
    `wait` seconds is refused RESOURCE_EXHAUSTED OVERLOADED at once, so the accepted ones keep their latency and the
    service is itself again as soon as the load drops. When `queue` more are already waiting, the door refuses the
    next before anything else runs for it (`full`, read by the service's Door)."""

    def __init__(self, limit: int, wait: float = 0.02, queue: int = 4) -> None:
        self._room = asyncio.Semaphore(limit)
        self._wait = wait
        self.most = limit + queue
        self._present = 0  # admitted, or waiting for room

    def full(self) -> bool:
        return self._present >= self.most

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        self._present += 1
        try:
            try:
                await asyncio.wait_for(self._room.acquire(), self._wait)
            except TimeoutError:
                raise overloaded() from None
            try:
                yield
            finally:
                self._room.release()
        finally:
            self._present -= 1


def overloaded() -> ResourceExhausted:
    return ResourceExhausted("OVERLOADED", "the registry has more lookups than it can answer now: try again shortly")


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
        max_relay_attempts: int = 10,
        staleness: domain.Staleness = domain.DEFAULT_STALENESS,
    ) -> None:
        self._staleness = staleness
        self._max_relay_attempts = max_relay_attempts
        self._uow = unit_of_work
        # The service's own tracer: the global one is a no-op, as each service has its own provider.
        self._tracer = tracer
        self._keys = keys
        self._registry = registry
        self._live = live
        self._directory = directory
        # The longest one call to another service may take (the caller's own deadline may cut it shorter).
        self.call_timeout = call_timeout

    async def _gather(self, subject: str, wait: float, timeout: float) -> domain.Gathered:
        """The subject's registered debts, then the live answers of the creditors that hold one of them: only those
        are asked (a bank that answers live learns of a lookup only when the person is its customer), within what is
        left of the caller's budget."""
        started = asyncio.get_running_loop().time()
        registered = await self._registry.debts_of(subject, timeout)
        holding = {debt.creditor for debt in registered}
        live = [creditor for creditor in self._directory.live_creditors() if creditor.organization_number in holding]
        if not live:
            return domain.gather(registered, [], {})
        left = timeout - (asyncio.get_running_loop().time() - started) - RESERVE_SECONDS
        answers = await self._live.ask(live, subject, max(0.0, min(wait, left)))
        return domain.gather(registered, [c.organization_number for c in live], answers)

    async def _may_see(
        self, institution: str, purpose: Purpose, subject: str, disclosure_id: uuid.UUID, reference: str, timeout: float
    ) -> tuple[str | None, bool, bool]:
        """The legal basis checked: (the consent used, if the purpose needs one; whether a credit block stops it;
        whether the lender is to be warned of the subject's identity-theft flag: never when the block stops it, for
        then the lender learns only that, DOM-12)."""
        if purpose.value not in self._directory.get(institution).purposes:
            raise PermissionDenied(
                "PURPOSE_NOT_ALLOWED",
                "the operator has not allowed this institution to look up debt for this purpose",
                {"purpose": purpose.value},
            )
        scope = domain.CONSENT_SCOPE.get(purpose)
        if scope is None:
            blocked, flagged = await self._registry.standing(subject, timeout)
            return None, blocked, flagged and not blocked
        consent_id, flagged = await self._registry.use_consent(
            subject, institution, scope, str(disclosure_id), reference, timeout
        )
        return consent_id, consent_id is None, flagged and consent_id is not None

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
        # A retried lookup keeps its disclosure id, so that a retry after a crash between using the consent and
        # recording the disclosure uses the consent under the same id: once (consent de-duplicates on it).
        disclosure_id = self._retried_id(institution, request_id) if request_id else uuid.uuid4()
        deadline = asyncio.get_running_loop().time() + timeout  # every call below gets what is left of it
        consent_id, blocked, flagged = await self._may_see(
            institution, purpose, subject, disclosure_id, reference, self._left(deadline)
        )
        try:
            read_time = now()  # the register is read after this moment
            gathered = domain.Gathered([], 0, 0) if blocked else await self._gather(subject, wait, self._left(deadline))
            (debts, withheld), creditors = domain.for_lender(gathered, now(), self._staleness), gathered.statuses()
            totals = domain.totals(debts)
            answer = convert.lender_answer_to_proto(
                debts, totals, creditors, blocked, gathered.answered, gathered.missing, withheld, flagged
            )
            disclosure = Disclosure(
                disclosure_id,
                institution,
                purpose,
                consent_id,
                now(),
                len(debts),
                reference,
                current_trace_id(),
                blocked,
                read_time,
            )
            letter = None
            # DOM-13 for lenders; DOM-12: a subject is told of every lookup their block stopped; and of every lookup
            # while their identity-theft flag stands (its letter says so, and notify alerts them at once).
            if purpose in domain.COPY_LETTER or blocked or flagged:
                letter = CopyLetter(
                    institution,
                    disclosure.disclose_time,
                    purpose,
                    reference,
                    debts,
                    totals,
                    blocked,
                    gathered.answered,
                    gathered.missing,
                    flagged,
                )
            try:
                await self._record(disclosure, subject, answer.SerializeToString(), letter, request_id, digest)
            except IntegrityError:
                # The same request, sent twice at once, recorded first by the other call: its answer is the answer.
                async with self._uow() as uow:
                    earlier = await uow.disclosures.of_request(institution, request_id)
                if not request_id or earlier is None:
                    raise
                return self._retried(earlier, digest, request_id)
            return Disclosed(
                disclosure, debts, totals, creditors, gathered.answered, gathered.missing, withheld, flagged
            )
        except BaseException:
            # A failed lookup spends nothing: the consent's use is given back, unless a disclosure under its id was
            # recorded after all (the same request's other call, sent at once).
            if consent_id is not None:
                await asyncio.shield(self._release(disclosure_id))
            raise

    @staticmethod
    def _left(deadline: float) -> float:
        """What is left of the caller's budget for the next call (never nothing: the call then fails fast)."""
        return max(0.05, deadline - asyncio.get_running_loop().time())

    async def _release(self, disclosure_id: uuid.UUID) -> None:
        try:
            async with self._uow() as uow:
                if await uow.disclosures.exists(disclosure_id):
                    return
            await self._registry.release_consent_use(str(disclosure_id), min(self.call_timeout, 2.0))
        except Exception:  # noqa: BLE001 - the lookup's own failure is the one to report; this is logged
            log.warning("the consent use of failed lookup %s could not be given back", disclosure_id)

    def _retried_id(self, institution: str, request_id: str) -> uuid.UUID:
        """The disclosure id of a retry-safe lookup: the same for every retry, and keyed, so that nobody can tell
        from it which institution and request it stands for."""
        digest = self._keys.digest(f"disclosure\x00{institution}\x00{request_id}".encode())
        return uuid.UUID(bytes=digest[-16:], version=4)

    def _retried(self, earlier: Any, digest: bytes | None, request_id: str) -> Disclosed:
        """The answer to a retried lookup: the first one's, if it asked the same and the answer is still kept."""
        if earlier.request_digest != digest:
            raise AlreadyExists(
                "REQUEST_ID_REUSED", "this request id was used before for another lookup", {"request_id": request_id}
            )
        if not earlier.disclosed:
            raise FailedPrecondition(
                "ANSWER_NO_LONGER_KEPT",
                "the answer to this request is no longer kept (retention): make a new lookup with a new request id",
                {"request_id": request_id},
            )
        return Disclosed(disclosure_from_row(earlier), *convert.lender_answer_from_bytes(earlier.disclosed))

    async def _record(
        self,
        disclosure: Disclosure,
        subject: str,
        answer: bytes,
        letter: CopyLetter | None,
        request_id: str = "",
        digest: bytes | None = None,
    ) -> None:
        """The disclosure record and the copy letter to send (if any), in one transaction."""
        with self._tracer.start_as_current_span("record disclosure", attributes={"letter": letter is not None}):
            await self._record_in_one(disclosure, subject, answer, letter, request_id, digest)

    async def _record_in_one(
        self,
        disclosure: Disclosure,
        subject: str,
        answer: bytes,
        letter: CopyLetter | None,
        request_id: str,
        digest: bytes | None,
    ) -> None:
        async with self._uow() as uow:
            await uow.disclosures.record(
                disclosure, self._keys.blind_index(subject), answer, request_id or None, digest
            )
            if letter is not None:
                content = convert.copy_letter_to_proto(letter, self._directory).SerializeToString()
                await uow.disclosures.queue_letter(
                    disclosure.id, self._keys.encrypt(subject), content, disclosure.disclose_time
                )
            # DOM-15: in the tamper-evident log too, in the same transaction (an entry without the person), last:
            # the log's lock is held from the append to the commit only.
            entry = audit.entry_of(
                "disclosure",
                str(disclosure.id),
                disclosure.recipient or "",
                disclosure.purpose.value,
                disclosure.disclose_time,
            )
            await uow.disclosures.append_audit(disclosure.id, entry)
            await uow.commit()

    async def own_debt(self, subject: str, wait: float, timeout: float) -> OwnView:
        """The subject's own view, with creditors (DOM-5), live where creditors answer; in the access log, no
        letter. A credit block does not hide a subject's debt from the subject."""
        gathered = await self._gather(subject, wait, timeout)
        debts = domain.for_subject(gathered, now(), self._staleness)
        totals = domain.totals(debts)
        record = Disclosure(
            uuid.uuid4(), None, Purpose.SUBJECT_ACCESS, None, now(), len(debts), "", current_trace_id(), False
        )
        await self._record(record, subject, b"", None)
        return OwnView(debts, totals, gathered.statuses(), gathered.answered, gathered.missing)

    async def disclosures_of(
        self, subject: str, before: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Disclosure]:
        async with self._uow() as uow:
            return await uow.disclosures.of_subject(self._keys.blind_index(subject), before, limit)

    async def relay_letters(self, limit: int = 20) -> int:
        """Hand due copy letters to notify, at least once (notify de-duplicates on the disclosure id); returns how
        many were attempted.

        No transaction waits on notify: the letters are claimed in one short transaction (the claim counts an
        attempt and holds them from other relays for a while), handed over together in one call with none open,
        and the outcome recorded in one more. A letter notify refuses as such takes the batch apart: its letters
        are handed over one by one, so that the bad one is set aside and the rest flow on. A relay that dies
        mid-call leaves its letters to be handed over again when the claim runs out; a letter that kills every
        relay that takes it is set aside after the most attempts."""
        moment = now()
        async with self._uow() as uow:
            await uow.disclosures.set_aside_interrupted(moment, self._max_relay_attempts)
            rows = await uow.disclosures.claim_letters(moment, moment + timedelta(seconds=2 * self.call_timeout), limit)
            await uow.commit()
        readable = []
        for row in rows:
            try:
                subject = self._keys.decrypt(row.subject_encrypted)
                readable.append((row, subject, convert.copy_letter_from_bytes(row.copy_letter)))
            except Exception as error:  # noqa: BLE001 - one unreadable letter must not hold up the rest
                await self._relay_failed(row, error)
        if not readable:
            return len(rows)
        with self._tracer.start_as_current_span("relay copy letters", attributes={"letters": len(readable)}):
            if len(readable) == 1:  # a letter alone goes as it always went
                await self._relay_one(*readable[0])
                return len(rows)
            try:
                await self._registry.send_letters(
                    [(str(row.disclosure_id), subject, letter) for row, subject, letter in readable],
                    self.call_timeout,
                )
            except Exception as error:  # noqa: BLE001 - recorded for each letter, by kind
                if _batch_refused(error):
                    await asyncio.gather(*(self._relay_one(*one) for one in readable))
                else:
                    await asyncio.gather(*(self._relay_failed(row, error) for row, _, _ in readable))
                return len(rows)
        async with self._uow() as uow:
            await uow.disclosures.relayed([(row.disclosure_id, row.attempts) for row, _, _ in readable], now())
            await uow.commit()
        return len(rows)

    async def _relay_one(self, row: Any, subject: str, letter: notify_pb2.CopyLetter) -> None:
        try:
            await self._registry.send_letter(str(row.disclosure_id), subject, letter, self.call_timeout)
        except Exception as error:  # noqa: BLE001 - one bad letter must not hold up the rest
            await self._relay_failed(row, error)
            return
        async with self._uow() as uow:
            await uow.disclosures.relayed([(row.disclosure_id, row.attempts)], now())
            await uow.commit()

    async def _relay_failed(self, row: Any, error: Exception) -> None:
        """A letter notify refused, or one that cannot be read (no poison pill): retried with growing pauses, then
        set aside; the error is kept by kind only, never its text."""
        cause = error.code().name if isinstance(error, grpc.RpcError) else type(error).__name__
        # notify refusing the letter as such will refuse it every time: set aside at once.
        give_up = _refused(error) or row.attempts >= self._max_relay_attempts
        async with self._uow() as uow:
            retry = now() + backoff(row.attempts - 1, cap_seconds=60)
            await uow.disclosures.relay_failed(row.disclosure_id, row.attempts, retry, cause, give_up)
            await uow.commit()
        if give_up:
            log.warning("copy letter of disclosure %s set aside: %s", row.disclosure_id, cause)

    async def set_aside_letters(self, before: tuple[datetime, uuid.UUID] | None, limit: int) -> list[SetAsideLetter]:
        """The operators' dead-letter list of copy letters, newest first."""
        async with self._uow() as uow:
            return await uow.disclosures.set_aside(before, limit)

    async def put_back_letter(self, disclosure_id: uuid.UUID) -> SetAsideLetter:
        """An operator's replay of a letter set aside: due again at once, its attempts from zero."""
        async with self._uow() as uow:
            letter = await uow.disclosures.put_back(disclosure_id, now())
            if letter is None:
                raise FailedPrecondition(
                    "COPY_LETTER_NOT_FAILED",
                    "no copy letter set aside tells of this disclosure",
                    {"disclosure_id": str(disclosure_id)},
                )
            await uow.commit()
        return letter

    async def any_letter_due(self) -> bool:
        async with self._uow() as uow:
            return await uow.disclosures.any_letter_due(now())

    async def run_relay(self, stopping: asyncio.Event, interval: float) -> None:
        await drain_when_due(stopping, interval, self.any_letter_due, self.relay_letters, "relay")


# Customers recorded in the disclosure log in one transaction while a package is cut.
DISCLOSURE_BATCH = 1000


class Extracts:
    """Score-model extracts (DOM-11): orders handed in, rounds cut from one snapshot, packages downloaded and
    deleted within three months (§10)."""

    def __init__(
        self,
        unit_of_work: Callable[[], DisclosureUnitOfWork],
        keys: SubjectKeys,
        registry: Registry,
        signer: extracts.ManifestSigner,
        registry_number: str,
        directory: InstitutionDirectory,
        round_lock: Callable[[], AbstractAsyncContextManager[bool]],
        remind_before: timedelta = timedelta(days=14),
        clock: Callable[[], datetime] = now,
        call_timeout: float = 5.0,
    ) -> None:
        self._call_timeout = call_timeout
        self._round_lock = round_lock
        self._remind_before = remind_before
        self._uow, self._keys, self._registry, self._signer = unit_of_work, keys, registry, signer
        self._directory = directory
        self._registry_number = registry_number
        self._clock = clock

    def manifest(self, row: Any) -> Any:
        """The signed manifest of an order's package (None before the round, and after deletion)."""
        if row.state != "delivered":
            return None
        package = extracts.Package(
            row.package_id, row.round_id, row.snapshot_time, row.record_count, row.sha256, row.size, row.delete_deadline
        )
        return self._signer.manifest(package)

    async def submit(
        self, institution: str, quarter: str, request_id: str, report: extracts.ListReport, failure: str = ""
    ) -> Any:
        """Record an order: its list encrypted, its report; or, for a list that could not be read, the failure."""
        moment = self._clock()
        current = extracts.quarter_of(moment.date())
        if quarter != current:
            raise InvalidArgument([FieldViolation("header.quarter", f"must be the current quarter, {current}")])
        async with self._uow() as uow:
            store = uow.extracts
            await store.serialize(institution)
            if request_id and (earlier := await store.of_request(institution, request_id)) is not None:
                return earlier
            if not failure:
                if await store.waiting(institution) is not None:
                    raise AlreadyExists("EXTRACT_ALREADY_ORDERED", "an order of this institution waits for its round")
                # Counted by the year of the round that cuts the order (a Q4 list is cut on 1 January), however
                # early an operator's catch-up round cuts it.
                year = extracts.round_year(quarter)
                taken = await store.rounds_in(institution, extracts.quarters_cut_in(year))
                if taken >= extracts.ROUNDS_A_YEAR:
                    raise FailedPrecondition(
                        "EXTRACT_LIMIT_REACHED",
                        f"the institution takes part in {taken} rounds in {year}: the regulation allows "
                        f"{extracts.ROUNDS_A_YEAR} a year (§5)",
                    )
            parts = [] if failure else [self._keys.encrypt(part) for part in extracts.parts(report.numbers)]
            row = await store.add(
                {
                    "id": uuid.uuid4(),
                    "institution": institution,
                    "quarter": quarter,
                    "state": "failed" if failure else "ordered",
                    "request_id": request_id or None,
                    "submit_time": moment,
                    "listed_count": report.listed,
                    "invalid_count": report.invalid,
                    "duplicate_count": report.duplicates,
                    "failure": failure,
                },
                parts,
            )
            await uow.commit()
            return row

    async def order(self, institution: str, order_id: uuid.UUID) -> Any:
        async with self._uow() as uow:
            row = await uow.extracts.order(order_id, institution)
        if row is None:
            raise NotFound("EXTRACT_ORDER_NOT_FOUND", "the institution has no order with this id")
        return row

    async def run_round(self) -> tuple[uuid.UUID | None, datetime | None, list[Any]]:
        """Cut every waiting order's package from one snapshot of the register (DOM-11), one round at a time across
        replicas; the round's packages are delivered together at its end. A round that fails, or one whose runner
        died (found by the next), puts its orders back to wait, keeping nothing of what it cut."""
        async with self._round_lock() as held:
            if not held:
                raise FailedPrecondition("EXTRACT_ROUND_RUNNING", "a round is running; its orders are cut in it")
            round_id = uuid.uuid4()
            async with self._uow() as uow:
                await uow.extracts.release()  # what a runner that died left half cut
                claimed = await uow.extracts.claim(round_id)
                await uow.commit()
            if not claimed:
                return None, None, []
            reader = self._registry.read_round()
            try:
                instant = await reader.instant()
                for row in claimed:
                    await self._cut(reader, instant, row)
                async with self._uow() as uow:
                    delivered = await uow.extracts.publish(round_id)
                    # Each package in the tamper-evident log as it is delivered: one entry for all its customers
                    # (each of their disclosures names the package), committing to its content by its digest.
                    for row in delivered:
                        entry = audit.entry_of(
                            "score_model_package",
                            str(row.package_id),
                            row.institution,
                            Purpose.SCORE_MODEL.value,
                            row.snapshot_time,
                            digest=row.sha256.hex(),
                        )
                        await uow.disclosures.append_audit(row.package_id, entry)
                    await uow.commit()
            except BaseException:
                async with self._uow() as uow:
                    await uow.extracts.release(round_id)
                    await uow.commit()
                raise
            finally:
                await reader.close()
        log.info("extract round %s cut %d packages", round_id, len(delivered))
        return round_id, instant, delivered

    async def _cut(self, reader: Any, instant: datetime, order: Any) -> None:
        """One order's package, written as ingest reads its customers, each of them recorded in the disclosure log
        as it goes (in batches, with the pieces of the package)."""
        package_id = uuid.uuid4()
        async with self._uow() as uow:
            await uow.extracts.start_package(order.id, package_id)
            await uow.commit()
        creditors = self._directory.extract_creditors(order.institution)
        writer = extracts.PackageWriter(self._registry_number, order.institution, own=creditors == [order.institution])
        seq, disclosed = 0, list[dict[str, Any]]()
        trace_id = current_trace_id()

        async def listed() -> AsyncIterator[list[str]]:
            async with self._uow() as uow:
                parts = await uow.extracts.parts(order.id)
            for blob in parts:
                yield self._keys.decrypt(blob).split("\n")

        async def keep(final: bool = False) -> None:
            """The package's pieces ready so far and the customers written, kept together."""
            nonlocal seq, disclosed
            chunks = list(writer.chunks(final))
            async with self._uow() as uow:
                for chunk in chunks:  # sealed at rest: a package holds identity numbers and every debt
                    await uow.extracts.add_chunk(order.id, seq, self._keys.seal(chunk))
                    seq += 1
                await uow.extracts.disclosed(disclosed)
                await uow.commit()
            disclosed = []

        counts = None
        async for item in reader.order(order.id, creditors, listed()):
            if item.DESCRIPTOR.name == "ExtractOrderRead":
                counts = item
                break
            writer.add(item.subject.value, item.debts)
            disclosed.append(
                {  # the id the database's (a million uuid4 calls cost seconds here)
                    "subject_index": self._keys.blind_index(item.subject.value),
                    "recipient": order.institution,
                    "purpose": Purpose.SCORE_MODEL.value,
                    "consent_id": None,
                    "application_reference": str(package_id),
                    "debt_count": len(item.debts),
                    "disclosed": b"",  # what was disclosed is the package itself
                    "trace_id": trace_id,
                    "disclose_time": self._clock(),
                    "read_time": instant,  # the round's one snapshot
                }
            )
            if len(disclosed) >= DISCLOSURE_BATCH:
                await keep()
        await keep(final=True)
        assert counts is not None, "ingest ends every order with its counts"
        async with self._uow() as uow:
            await uow.extracts.cut(
                order.id,
                {
                    "package_id": package_id,
                    "snapshot_time": instant,
                    "record_count": writer.records,
                    "sha256": writer.sha256,
                    "size": writer.size,
                    "delete_deadline": add_months(instant, extracts.DELETE_WITHIN_MONTHS),
                    "customer_count": counts.customer_count,
                    "not_customer_count": counts.not_customer_count,
                },
            )
            await uow.commit()

    async def package(self, institution: str, order_id: uuid.UUID) -> tuple[Any, AsyncIterator[bytes]]:
        """An order's manifest and its package's bytes, read a piece at a time (no transaction waits on the
        recipient)."""
        row = await self.order(institution, order_id)
        if row.state == "deleted":
            raise NotFound("EXTRACT_PACKAGE_DELETED", "the package is deleted")
        if row.state != "delivered":
            raise FailedPrecondition("EXTRACT_NOT_CUT", "the package is cut in the next round")

        async def chunks() -> AsyncIterator[bytes]:
            seq = 0
            while True:
                async with self._uow() as uow:
                    chunk = await uow.extracts.chunk(order_id, seq)
                if chunk is None:
                    return
                yield self._keys.unseal(chunk)
                seq += 1

        return self.manifest(row), chunks()

    async def confirm_deletion(self, institution: str, order_id: uuid.UUID) -> Any:
        """The recipient deleted its package: the registry deletes its copy; after the deadline (the registry's copy
        gone already) the confirmation is recorded, and the recipient is no longer overdue."""
        row = await self.order(institution, order_id)
        if row.state not in ("delivered", "deleted"):
            raise FailedPrecondition("EXTRACT_NOT_CUT", "this order has no package to delete")
        async with self._uow() as uow:
            done = await uow.extracts.deleted(order_id, self._clock(), confirmed=True)
            if done is None:
                done = await uow.extracts.confirmed_late(order_id)
            await uow.commit()
        return done

    async def overdue(self, before: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Any]:
        async with self._uow() as uow:
            return await uow.extracts.overdue(before, limit)

    async def housekeeping(self) -> None:
        """Run the round once a quarter has ended with orders waiting (on the first day of the next quarter, or at
        once after a stop); remind recipients as the deletion deadline comes near; delete the registry's copy of
        every package past its deadline (§10), the recipient then overdue until it confirms."""
        moment = self._clock()
        async with self._uow() as uow:
            due = await uow.extracts.due_before(extracts.quarter_of(moment.date()))
            remind = await uow.extracts.to_remind(moment + self._remind_before)
            overdue = await uow.extracts.past_deadline(moment)
        # Deletions first: a round that fails holds up no deletion the law requires.
        for order_id in overdue:
            async with self._uow() as uow:
                await uow.extracts.deleted(order_id, moment, confirmed=False)
                await uow.commit()
            log.warning("extract package of order %s deleted at its deadline, its deletion never confirmed", order_id)
        for row in remind:
            # In the institution's notice feed at notify, once (idempotent on the order), then recorded.
            reminder = notify_pb2.ExtractDeletionReminder(
                order_id=str(row.id), package_id=str(row.package_id), delete_deadline=to_proto(row.delete_deadline)
            )
            try:
                await self._registry.tell_institution(
                    f"extract-deletion:{row.id}", row.institution, reminder, self._call_timeout
                )
            except grpc.RpcError as error:  # notify down: reminded at the next round; the quarter's round runs
                log.warning("extract reminder for order %s not handed to notify: %s", row.id, error.code())
                continue
            async with self._uow() as uow:
                await uow.extracts.reminded(row.id, moment)
                await uow.commit()
            log.info(
                "extract package of order %s: institution %s reminded to delete it by %s and confirm",
                row.id,
                row.institution,
                row.delete_deadline.date(),
            )
        if due:
            try:
                await self.run_round()
            except FailedPrecondition:  # another replica runs it
                pass

    async def run_housekeeping(self, stopping: asyncio.Event, interval: float) -> None:
        await periodically(stopping, interval, self.housekeeping, "extract housekeeping")


class CorrectionNotices:
    """The last step of a correction (DOM-14, GDPR art. 19): when ingest resolves a request, everyone who received
    the wrong data is told (a correction notice in their feed at notify), and the person is told the outcome, with
    who was told. lookup does it because it keeps the disclosure log: who received what about whom, and when.

    It reads ingest's outcome feed from where it stopped, one replica at a time; a request is done when every
    notice is handed to notify (each idempotent on its source id), and only then is its position kept, so a crash
    midway tells again, never less."""

    def __init__(
        self,
        unit_of_work: Callable[[], DisclosureUnitOfWork],
        keys: SubjectKeys,
        registry: Registry,
        directory: InstitutionDirectory,
        exclusive: Callable[[], AbstractAsyncContextManager[bool]],
        timeout: float,
    ) -> None:
        self._uow, self._keys, self._registry, self._directory = unit_of_work, keys, registry, directory
        self._exclusive, self._timeout = exclusive, timeout

    async def _position(self) -> int:
        async with self._uow() as uow:
            return await uow.corrections.position()

    async def any_due(self) -> bool:
        return bool(await self._registry.correction_outcomes(await self._position(), self._timeout, limit=1))

    async def relay(self) -> int:
        """Tell what the next resolved requests call for; how many requests were handled."""
        async with self._exclusive() as held:
            if not held:
                return 0
            events = await self._registry.correction_outcomes(await self._position(), self._timeout)
            for event in events:
                await self._tell(event.request)
                async with self._uow() as uow:
                    await uow.corrections.advance(event.position)
                    await uow.commit()
            return len(events)

    async def _tell(self, request: Any) -> None:
        subject = request.debtor.value
        corrected = request.state == ingest_pb2.CORRECTION_STATE_CORRECTED
        told: dict[str, Any] = {}
        if corrected:
            # The register has held the fix since then; a disclosure that read it earlier may hold the wrong data.
            fixed = from_proto(request.fix_time if request.HasField("fix_time") else request.resolve_time)
            # The wrong data was registered at the earliest when the debt was, and since when its owner said.
            starts = [from_proto(request.wrong_since)] if request.HasField("wrong_since") else []
            if request.HasField("debt_register_time"):
                starts.append(from_proto(request.debt_register_time))
            async with self._uow() as uow:
                held = await uow.corrections.recipients(
                    self._keys.blind_index(subject), max(starts) if starts else None, fixed
                )
            for disclosure in held:
                notice = notify_pb2.CorrectionNotice(
                    disclosure_id=str(disclosure.id),
                    disclose_time=to_proto(disclosure.disclose_time),
                    application_reference=disclosure.application_reference,
                    subject=identity_pb2.NationalIdentityNumber(value=subject),
                    debt_type=request.debt_type,
                    correct_time=request.resolve_time,
                    correction_id=request.id,
                )
                await self._registry.tell_institution(
                    f"correction:{request.id}:{disclosure.id}", disclosure.recipient, notice, self._timeout
                )
                async with self._uow() as uow:
                    await uow.corrections.told(uuid.UUID(request.id), disclosure.id, disclosure.recipient, now())
                    await uow.commit()
                told[disclosure.recipient] = institution_to_proto(self._directory.get(disclosure.recipient))
        outcome = notify_pb2.CorrectionOutcome(
            correction_id=request.id,
            creditor=institution_to_proto(self._directory.get(request.creditor.value)),
            account_id=request.account_id,
            corrected=corrected,
            answer=request.answer,
            resolve_time=request.resolve_time,
            told=list(told.values()),
        )
        if request.owner.value != request.creditor.value:
            outcome.answered_by.CopyFrom(institution_to_proto(self._directory.get(request.owner.value)))
        await self._registry.tell_subject(f"correction:{request.id}", subject, outcome, self._timeout)
        log.info("correction %s: %d recipients told, and the person", request.id, len(told))

    async def run(self, stopping: asyncio.Event, interval: float) -> None:
        await drain_when_due(stopping, interval, self.any_due, self.relay, "correction relay")


class AuditCheckpoints:
    """The disclosure log's signed checkpoints (audit.py), appended to a file outside the database whenever the log
    has grown; and a person's proof that one of their disclosures is in the log."""

    def __init__(
        self,
        unit_of_work: Callable[[], DisclosureUnitOfWork],
        keys: SubjectKeys,
        signer: extracts.ManifestSigner,
        path: Path | None,
        exclusive: Callable[[], AbstractAsyncContextManager[bool]] | None = None,
    ) -> None:
        self._uow, self._keys, self._signer, self._path = unit_of_work, keys, signer, path
        self._exclusive = exclusive  # one replica signs at a time

    def published(self) -> list[audit.Checkpoint]:
        if self._path is None or not self._path.exists():
            return []
        return [audit.Checkpoint.from_json(line) for line in self._path.read_text().splitlines() if line]

    async def checkpoint(self) -> audit.Checkpoint | None:
        """Sign the log's current state and publish it, if it grew since the last checkpoint (one replica at a
        time, when they share the file)."""
        if self._path is None:
            return None
        if self._exclusive is None:
            return await self._checkpoint(self._path)
        async with self._exclusive() as held:
            return await self._checkpoint(self._path) if held else None

    async def _checkpoint(self, path: Path) -> audit.Checkpoint | None:
        async with self._uow() as uow:
            leaves = await uow.disclosures.audit_leaves()
        published = self.published()
        if published:
            last = published[-1]
            hashes = [leaf.hash for leaf in leaves]
            if len(leaves) < last.size or audit.root(hashes[: last.size]) != last.root:
                # Never sign over a log that no longer holds what was signed: that is the alarm, not a new state.
                log.error("the disclosure log does not hold what checkpoint %d signed: not signing", last.size)
                return None
            if last.size == len(leaves):
                return None
        signed = audit.sign(
            self._signer.key, self._signer.key_id, len(leaves), audit.root([leaf.hash for leaf in leaves]), now()
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a") as out:
            out.write(signed.to_json() + "\n")
        return signed

    async def record_access(self, staff: str, action: str) -> None:
        """A member of staff's access in the tamper-evident log (§7): who, what, when; no person's data."""
        entry_id = uuid.uuid4()
        async with self._uow() as uow:
            await uow.disclosures.append_audit(
                entry_id, audit.entry_of("staff_access", str(entry_id), staff, action, now())
            )
            await uow.commit()

    async def proof(self, subject: str, disclosure_id: uuid.UUID) -> tuple[audit.Leaf, list[bytes], audit.Checkpoint]:
        """The subject's disclosure's entry, its audit path, and the first published checkpoint that covers it."""
        async with self._uow() as uow:
            mine = await uow.disclosures.is_of_subject(disclosure_id, self._keys.blind_index(subject))
            # A score-model disclosure is in the log as its package's entry (its reference is the package's id).
            logged_as = await uow.disclosures.logged_as(disclosure_id) if mine else None
            position = await uow.disclosures.audit_position(logged_as) if logged_as else None
            if not mine or position is None:
                raise NotFound("DISCLOSURE_NOT_FOUND", "you have no disclosure with this id in the log")
            covering = next((c for c in self.published() if c.size > position), None)
            if covering is None:
                raise FailedPrecondition(
                    "NOT_YET_CHECKPOINTED", "the log's next checkpoint will cover this disclosure: ask again shortly"
                )
            leaves = await uow.disclosures.audit_leaves(covering.size)
        return leaves[position], audit.inclusion_path([leaf.hash for leaf in leaves], position), covering

    async def run(self, stopping: asyncio.Event, interval: float) -> None:
        await periodically(stopping, interval, self.checkpoint, "disclosure log checkpoint")
