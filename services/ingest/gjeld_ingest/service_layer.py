"""ingest's use cases: take in a delivery (changes or a snapshot), read back, hand a portfolio
over, serve one subject's debts."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from gjeld_shared.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
)
from gjeld_shared.identity_numbers import KeyedDigest, SubjectKeys
from gjeld_shared.institutions import InstitutionDirectory
from gjeld_shared.server import periodically
from opentelemetry.trace import Tracer

from . import domain, statistics
from .adapters import CalledCreditors, IngestUnitOfWork, StatisticsStore, delivery_from_row, registered_debt
from .domain import (
    Delivery,
    DeliveryHeader,
    DeliveryKind,
    Handover,
    HandoverState,
    Part,
    RegisteredDebt,
    Rejection,
    Strictness,
)
from .residences import BULK, Residences
from .staging import DeliveryLog, DeliveryUnitOfWork, Staging, staged_closure, staged_debt

log = logging.getLogger(__name__)
T = TypeVar("T")

# Violations reported in an error, and rejections in a receipt: the rest through ListDeliveryRejections.
REPORTED = 100
# Staged records are copied to PostgreSQL in parts of about this many (flat memory, few round trips).
COPY_SIZE = 10_000


@dataclass(frozen=True)
class Outcome:
    delivery: Delivery
    rejections: list[Rejection]  # the first REPORTED


@dataclass(frozen=True)
class DebtPage:
    debts: list[RegisteredDebt]
    last_key: tuple[str, bytes] | None


class _RequestIdTaken(Exception):
    """Another delivery with the same request id was applied while this one was staged."""


class _Protector:
    """Blind index and encryption of debtors, each computed once per delivery while memory allows.

    A person has about two debts at one institution, usually delivered together."""

    def __init__(self, keys: SubjectKeys, capacity: int = 10_000) -> None:
        self._keys, self._capacity = keys, capacity
        self._known: dict[str, tuple[bytes, bytes]] = {}

    def __call__(self, debtor: str) -> tuple[bytes, bytes]:
        known = self._known.get(debtor)
        if known is None:
            if len(self._known) >= self._capacity:
                self._known.clear()
            known = self._known[debtor] = (self._keys.blind_index(debtor), self._keys.encrypt(debtor))
        return known


class _Tally:
    """Counts a delivery's records and keeps what it must report about the bad ones."""

    def __init__(self, header: DeliveryHeader) -> None:
        self.header = header
        self.records = 0
        self.closures = 0
        self.rejected = 0
        self.staged_registrations = 0  # registrations copied into the staging table
        self.dropped_registrations = 0  # of them, left out as a whole-delivery rule found them bad (rejected)
        self.reported: list[Rejection] = []
        self.unsaved: list[Rejection] = []  # partial acceptance: rejections not yet written

    @property
    def strict(self) -> bool:
        return self.header.strictness is Strictness.ALL_OR_NOTHING

    def reject(self, rejections: Sequence[Rejection]) -> None:
        self.rejected += len(rejections)
        room = REPORTED - len(self.reported)
        if room > 0:
            self.reported.extend(rejections[:room])
        if not self.strict:
            self.unsaved.extend(rejections)

    def refusal(self) -> InvalidArgument:
        violations = [FieldViolation(f, d) for r in self.reported for f, d in r.violations][:REPORTED]
        return InvalidArgument(violations)


def _record(kind: DeliveryKind, position: int) -> str:
    return f"{'debts' if kind is DeliveryKind.SNAPSHOT else 'changes'}[{position}]"


class Ingest:
    def __init__(
        self,
        unit_of_work: Callable[[], IngestUnitOfWork],
        delivery: Callable[[], DeliveryUnitOfWork],
        keys: SubjectKeys,
        tracer: Tracer,
        tombstone_life: timedelta = timedelta(days=7),
        deliveries_at_once: int = 4,
    ) -> None:
        self._tombstone_life = tombstone_life
        self._deliveries_at_once = deliveries_at_once
        self._delivering = asyncio.Semaphore(deliveries_at_once)
        self._uow, self._delivery = unit_of_work, delivery
        self._keys = keys
        self._tracer = tracer

    async def deliver(self, creditor: str, header: DeliveryHeader, parts: AsyncIterator[Part]) -> Outcome:
        """Take in one delivery of any size and apply it all at once, once per request id (AIP-155).

        All or nothing: the first bad record refuses the delivery (reading on only to report up to
        REPORTED violations). Partial: bad records are left out and reported. A snapshot replaces the
        institution's data (DOM-8), rejected records counting as absent."""
        self.room_for_a_delivery()
        async with self._delivering:
            return await self._deliver(creditor, header, parts)

    def room_for_a_delivery(self) -> None:
        """RESOURCE_EXHAUSTED DELIVERIES_BUSY when this replica takes all the deliveries it may at once."""
        if self._delivering.locked():
            raise ResourceExhausted(
                "DELIVERIES_BUSY",
                f"this registry replica takes {self._deliveries_at_once} deliveries at once: send it again shortly",
            )

    async def _deliver(self, creditor: str, header: DeliveryHeader, parts: AsyncIterator[Part]) -> Outcome:
        digest = self._keys.digester()
        digest.update(header.fingerprint())
        receive_time = datetime.now(UTC)
        try:
            async with self._delivery() as uow:
                earlier = await uow.log.find(creditor, header.request_id)
                if earlier is not None:
                    async for part in parts:
                        digest.update(part.content)
                    return await self._retried(creditor, delivery_from_row(earlier), digest.digest())
                outcome = await self._apply(uow, creditor, header, parts, digest, receive_time)
                await uow.commit()
                return outcome
        except _RequestIdTaken:
            async with self._delivery() as uow:
                taken = await uow.log.find(creditor, header.request_id)
            assert taken is not None
            return await self._retried(creditor, delivery_from_row(taken), digest.digest())

    async def _apply(
        self,
        uow: DeliveryUnitOfWork,
        creditor: str,
        header: DeliveryHeader,
        parts: AsyncIterator[Part],
        digest: KeyedDigest,
        receive_time: datetime,
    ) -> Outcome:
        delivery_id = uuid.uuid4()
        staging, log, tally = uow.staging, uow.log, _Tally(header)
        protect = _Protector(self._keys)
        pending: list[tuple[Any, ...]] = []
        with self._tracer.start_as_current_span("ingest.stage") as span:
            try:
                async for part in parts:
                    digest.update(part.content)
                    tally.records += part.record_count
                    tally.closures += len(part.closures)
                    tally.reject(part.rejections)
                    if tally.strict and tally.rejected:
                        if len(tally.reported) >= REPORTED:
                            break
                        continue
                    tally.staged_registrations += len(part.registrations)
                    for position, debt in part.registrations:
                        pending.append(staged_debt(position, debt, *protect(debt.debtor)))
                    for position, key in part.closures:
                        pending.append(staged_closure(position, key, protect(key.debtor)[0], receive_time))
                    if len(pending) >= COPY_SIZE:
                        await staging.add(pending)
                        pending = []
                    if len(tally.unsaved) >= COPY_SIZE:
                        await staging.flush()
                        await self._save_rejections(log, delivery_id, tally)
                await staging.add(pending)
                await staging.flush()
            except BaseException:
                await staging.abandon()  # a broken stream: the transaction rolls back, nothing changed
                raise
            span.set_attribute("gjeld.delivery.records", tally.records)
        if tally.strict and tally.rejected:
            raise tally.refusal()
        if tally.records == 0 and header.kind is DeliveryKind.CHANGES:
            raise InvalidArgument([FieldViolation("changes", "must hold at least one change")])
        with self._tracer.start_as_current_span("ingest.check"):
            await staging.analyze()
            await self._check_whole(staging, creditor, tally)
        await self._save_rejections(log, delivery_id, tally)
        with self._tracer.start_as_current_span("ingest.merge"):
            merged = await staging.merge(creditor, header.kind, header.extract_time, self._tombstone_life)
        # Registrations staged and not dropped, but not registered, were older than what is held; so were the closes
        # the merge found older.
        outdated = tally.staged_registrations - tally.dropped_registrations - merged.registered + merged.outdated_closes
        row = await log.claim(
            delivery_id,
            creditor,
            header.request_id,
            digest.digest(),
            header.kind,
            header.strictness,
            receive_time,
            (
                merged.registered,
                merged.closed,
                merged.unknown_closes,
                tally.records,
                tally.rejected,
                merged.absent,
                outdated,
            ),
            header.extract_time,
        )
        if row is None:
            raise _RequestIdTaken()
        await log.fixes_landed(creditor, delivery_id, receive_time, header.kind is DeliveryKind.SNAPSHOT)
        return Outcome(delivery_from_row(row), sorted(tally.reported, key=lambda r: r.index))

    async def _retried(self, creditor: str, earlier: Delivery, digest: bytes) -> Outcome:
        """A retry gets the first receipt; the same request id with other content is refused."""
        if not hmac.compare_digest(earlier.content_digest, digest):
            raise AlreadyExists(
                "REQUEST_ID_REUSED",
                "this request id was used before for a delivery with other content",
                {"request_id": earlier.request_id},
            )
        return Outcome(earlier, await self.rejections(creditor, earlier.id, -1, REPORTED))

    async def _check_whole(self, staging: Staging, creditor: str, tally: _Tally) -> None:
        """Rules only the whole delivery can tell: the same debt twice, a debt handed over to another institution."""
        limit = REPORTED if tally.strict else 2**62
        found: list[Rejection] = []
        for positions in await staging.duplicates(limit):
            first = _record(tally.header.kind, positions[0])
            found.extend(
                Rejection(p, ((_record(tally.header.kind, p), f"names the same account and debtor as {first}"),))
                for p in positions[1:]
            )
            if not tally.strict:  # neither record can be trusted over the other
                found.append(
                    Rejection(positions[0], ((first, "its account and debtor appear again later in the delivery"),))
                )
        for p in await staging.handed_over(creditor, limit):
            found.append(
                Rejection(
                    p,
                    (
                        (
                            _record(tally.header.kind, p),
                            "this debt was handed over to another institution, which now reports it",
                        ),
                    ),
                )
            )
        if not found:
            return
        found.sort(key=lambda r: r.index)
        tally.reject(found)
        if tally.strict:
            raise tally.refusal()
        tally.dropped_registrations, _ = await staging.drop([r.index for r in found])

    async def _save_rejections(self, log: DeliveryLog, delivery_id: uuid.UUID, tally: _Tally) -> None:
        await log.reject(
            delivery_id,
            [(r.index, [{"field": f, "description": d} for f, d in r.violations]) for r in tally.unsaved],
        )
        tally.unsaved = []

    async def delivered(self, creditor: str, request_id: str) -> bool:
        """Whether a delivery of `creditor` with this request id has been applied."""
        async with self._uow() as uow:
            return await uow.deliveries.of_request(creditor, request_id) is not None

    async def delivery(self, creditor: str, delivery_id: uuid.UUID) -> Delivery:
        async with self._uow() as uow:
            found = await uow.deliveries.get(creditor, delivery_id)
        if found is None:
            raise NotFound("DELIVERY_NOT_FOUND", "no delivery of yours has this id", {"id": str(delivery_id)})
        return found

    async def deliveries(self, creditor: str, after: tuple[datetime, uuid.UUID] | None, limit: int) -> list[Delivery]:
        async with self._uow() as uow:
            return await uow.deliveries.newest_first(creditor, after, limit)

    async def rejections(self, creditor: str, delivery_id: uuid.UUID, after: int, limit: int) -> list[Rejection]:
        await self.delivery(creditor, delivery_id)  # only the institution's own deliveries
        async with self._uow() as uow:
            return await uow.deliveries.rejections(delivery_id, after, limit)

    async def propose_handover(
        self, giver: str, receiver: str, account_ids: Sequence[str], request_id: str = ""
    ) -> Handover:
        """A proposal; with a request id, a retry of the same proposal returns the first one (AIP-155)."""
        digest = hashlib.sha256("\x00".join([receiver, *account_ids]).encode()).digest() if request_id else None
        async with self._uow() as uow:
            handover, first = await uow.handovers.propose(giver, receiver, account_ids, request_id or None, digest)
            await uow.commit()
        if first != digest:
            raise AlreadyExists(
                "REQUEST_ID_REUSED", "this request id was used before for another handover", {"request_id": request_id}
            )
        return handover

    async def accept_handover(self, receiver: str, handover_id: uuid.UUID) -> Handover:
        """Move the debts at once: a lookup sees each at the giver or at the receiver, never both or neither."""
        async with self._uow() as uow:
            handovers = uow.handovers
            handover = await handovers.get_for_update(handover_id)
            if handover is None or receiver not in (handover.receiver, handover.giver):
                raise NotFound("HANDOVER_NOT_FOUND", "no handover to you has this id", {"id": str(handover_id)})
            if handover.receiver != receiver:
                raise PermissionDenied("NOT_THE_RECEIVER", "only the receiving institution may accept a handover")
            if handover.state is HandoverState.COMPLETED:
                return handover  # accepting again changes nothing
            await handovers.lock(handover)  # no delivery of either institution merges meanwhile
            conflicts = await handovers.conflicts(handover)
            if conflicts:
                raise FailedPrecondition(
                    "HANDOVER_CONFLICT",
                    "you already hold debts with the same account and debtor as debts to be handed over",
                    {"conflict_count": str(conflicts)},
                )
            completed = await handovers.complete(handover)
            await uow.commit()
            return completed

    async def debts_of_creditor(self, creditor: str, after: tuple[str, bytes] | None, limit: int) -> DebtPage:
        async with self._uow() as uow:
            rows = await uow.debts.of_creditor(creditor, after, limit + 1)
        page = rows[:limit]
        debts = [registered_debt(row, self._keys.decrypt(row.debtor_encrypted), row.disputed) for row in page]
        last = (page[-1].account_id, page[-1].debtor_index) if len(rows) > limit else None
        return DebtPage(debts, last)

    async def behind_on_snapshots(self, limit: timedelta) -> list[Any]:
        """The institutions whose data no snapshot has confirmed within `limit` (DOM-8), for operators."""
        async with self._uow() as uow:
            return await uow.debts.behind_on_snapshots(datetime.now(UTC) - limit)

    async def debts_of_subject(self, subject: str) -> list[RegisteredDebt]:
        async with self._uow().reading() as uow:  # one statement, on every lookup's path
            return await uow.debts.of_subject(self._keys.blind_index(subject))


async def paced(messages: AsyncIterator[T], pause: float) -> AsyncIterator[T]:
    """A delivery's messages as they come, each within `pause` seconds of the one before: a sender that goes quiet
    must not hold the delivery's transaction open, so its delivery is given up, all of it, to be sent again."""
    while True:
        try:
            async with asyncio.timeout(pause):
                message = await anext(messages)
        except StopAsyncIteration:
            return
        except TimeoutError:
            raise Aborted(
                "DELIVERY_STALLED",
                f"no message of the delivery came for {pause:g} seconds: nothing of it was kept; send it again, with"
                " the same request id",
                {"pause_seconds": f"{pause:g}"},
            ) from None
        yield message


class SnapshotFetches:
    """Snapshots fetched from the institutions that prefer to be called (gjeld.creditor.v1 ExportDebts), each applied
    as a snapshot delivery, all or nothing (DOM-8): when an operator asks, and once a day for every institution the
    operator configured so, however many replicas run. A failed export changes nothing."""

    CONCURRENT = 4  # daily fetches at once

    def __init__(
        self,
        ingest: Ingest,
        directory: InstitutionDirectory,
        creditors: CalledCreditors,
        exclusive: Callable[[str], AbstractAsyncContextManager[bool]],
        pause: float = 30.0,
    ) -> None:
        self._ingest, self._directory, self._creditors = ingest, directory, creditors
        self._exclusive = exclusive  # one replica at a time does the work of a name
        self._pause = pause  # the longest an export may pause between two messages

    async def fetch(self, organization_number: str, request_id: str = "") -> Outcome:
        institution = self._directory.get(organization_number)
        if not institution.creditor_endpoint:
            raise FailedPrecondition(
                "NOT_A_CALLED_INSTITUTION",
                "the operator has configured no creditor endpoint for this institution",
                {"institution": organization_number},
            )
        self._ingest.room_for_a_delivery()  # before the institution starts its export for nothing
        export = await self._creditors.export(institution)
        if domain.check_extract_time(export.extract_time, datetime.now(UTC)):
            raise Unavailable("SNAPSHOT_INVALID", "the institution's export is dated in the future")
        header = DeliveryHeader(
            DeliveryKind.SNAPSHOT,
            request_id or f"{domain.REGISTRY_REQUEST}fetch-{uuid.uuid4().hex}",
            Strictness.ALL_OR_NOTHING,
            export.extract_time,
        )
        return await self._ingest.deliver(organization_number, header, paced(export.parts, self._pause))

    async def fetch_daily(self, organization_number: str, day: date) -> bool:
        """The institution's snapshot of `day`, unless another replica is fetching it now (False: ask again later)
        or has fetched it (True, without asking the bank again). The day's delivery has a request id of its own,
        `registry:daily-<day>` (a prefix no institution may use), and the advisory lock named after the institution
        keeps two replicas from asking at once."""
        async with self._exclusive(f"gjeld:daily-fetch:{organization_number}") as held:
            if not held:
                return False
            request_id = f"{domain.REGISTRY_REQUEST}daily-{day.isoformat()}"
            if not await self._ingest.delivered(organization_number, request_id):
                await self.fetch(organization_number, request_id)
            return True

    async def run_daily(self, stopping: asyncio.Event, at: time, interval: float = 60.0) -> None:
        """Once a day after `at` (UTC), fetch the snapshot of every institution configured to be called, once
        whichever replica does it. A fetch that fails is tried again at the next round until it succeeds that day."""
        done: dict[str, date] = {}
        at_once = asyncio.Semaphore(self.CONCURRENT)

        async def fetch_one(number: str, day: date) -> None:
            async with at_once:
                try:
                    if await self.fetch_daily(number, day):
                        done[number] = day
                except Exception:
                    log.exception("daily snapshot fetch from %s failed", number)

        while not stopping.is_set():
            moment = datetime.now(UTC)
            if moment.time() >= at:
                # Several banks at once, a few at a time: one that hangs (until its deadline) holds up no other.
                due = [
                    i.organization_number
                    for i in self._directory.called_for_snapshots()
                    if done.get(i.organization_number) != moment.date()
                ]
                await asyncio.gather(*(fetch_one(number, moment.date()) for number in due))
            try:
                await asyncio.wait_for(stopping.wait(), interval)
            except TimeoutError:
                pass


class DebtStatistics:
    """The day's debt statistics (gjeld_ingest.statistics): counted once a day by one replica, kept, published. By
    county only where the population register is set (`residences`; None: no county table)."""

    # After a count failed (the population register down), no replica tries the day again for this long: each try
    # asks the register about every debtor again.
    RETRY_AFTER = timedelta(minutes=15)

    def __init__(
        self,
        store: StatisticsStore,
        keys: SubjectKeys,
        residences: Residences | None,
        exclusive: Callable[[str], AbstractAsyncContextManager[bool]],
        k: int,
    ) -> None:
        self._store, self._keys, self._residences, self._exclusive, self.k = store, keys, residences, exclusive, k

    async def count(self, day: date) -> dict[str, dict[str, statistics.Figures | None]]:
        """Count the register as it stands now for `day`, and keep what may be published of it. When the population
        register cannot be read, nothing is kept: the day is counted again at a later look."""
        counted = statistics.Count(day, by_county=self._residences is not None)
        async with self._store.count() as register:
            async for batch in register.batches(BULK):
                numbers = [self._keys.decrypt(encrypted) for encrypted, _ in batch]
                living = await self._residences.municipalities(numbers) if self._residences else {}
                for number, (_, figures) in zip(numbers, batch, strict=True):
                    counted.add(statistics.Debtor(number, figures, living.get(number)))
        tables = statistics.published(counted, self.k)
        await self._store.keep(day, register.moment, tables)
        return tables

    async def count_daily(self, day: date) -> bool:
        """The day's count, once whichever replica does it: False while another replica counts, or while the day's
        last failed count is less than RETRY_AFTER old (noted where every replica sees it)."""
        async with self._exclusive(f"gjeld:statistics:{day.isoformat()}") as held:
            if not held:
                return False
            if await self._store.counted(day):
                return True
            failed = await self._store.failed(day)
            if failed is not None and datetime.now(UTC) < failed + self.RETRY_AFTER:
                return False
            try:
                await self.count(day)
            except Exception:
                await self._store.fail(day, datetime.now(UTC))
                raise
            return True

    async def run_daily(self, stopping: asyncio.Event, at: time, interval: float = 60.0) -> None:
        """Once a day after `at` (UTC), the day's count (looked for every `interval`, until it is done)."""

        async def when_due() -> None:
            moment = datetime.now(UTC)
            if moment.time() >= at:
                await self.count_daily(moment.date())

        await periodically(stopping, interval, when_due, "the day's debt statistics")

    async def published(self, table: str, first: date, last: date) -> list[Any]:
        return await self._store.published(table, first, last)
