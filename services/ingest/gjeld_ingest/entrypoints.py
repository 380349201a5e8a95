"""The thin gRPC layer of ingest: callers and requests in, receipts and debts out."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
from gjeld.ingest.v1 import ingest_service_pb2 as pb
from gjeld.ingest.v1 import ingest_service_pb2_grpc
from gjeld.type.v1 import identity_pb2
from gjeld_shared import fields, paging
from gjeld_shared.access import DELIVERING_INSTITUTIONS, OPERATORS, STATISTICS_READERS, SUBJECTS, Rule, Services
from gjeld_shared.callers import require_institution, require_subject
from gjeld_shared.errors import FieldViolation, InvalidArgument, Violations
from gjeld_shared.institutions import InstitutionDirectory, institution_to_proto
from gjeld_shared.timestamps import to_proto

from . import domain, extracts, statistics
from .convert import (
    STRICTNESS_FROM_PROTO,
    Reading,
    changes_part,
    correction_event_to_proto,
    correction_to_proto,
    debt_to_proto,
    delivery_to_proto,
    handover_to_proto,
    rejection_to_proto,
    snapshot_part,
    statistics_cell_to_proto,
)
from .corrections import Corrections
from .domain import (
    MAX_CORRECTION_TEXT,
    Corrected,
    CorrectionAnswer,
    DeliveryHeader,
    DeliveryKind,
    Forwarded,
    Part,
    Rejected,
)
from .service_layer import DebtStatistics, Ingest, Outcome, SnapshotFetches, paced

MAX_RECORDS = 10_000  # per message
MAX_REQUEST_ID = 64
MAX_HANDOVER_ACCOUNTS = 100_000
MAX_EXTRACT_CREDITORS = 100
MAX_LISTED_PER_MESSAGE = 10_000

Reader = Callable[[Sequence[Any], int, bytes, Reading], Part]


def _asked(request: pb.ReadExtractRequest) -> extracts.Asked:
    """One message of a round's read, checked (the caller is lookup, but a bad message is still named)."""
    violations = Violations()
    part = request.WhichOneof("part")
    if part == "order":
        order_id = fields.uuid_of("order.order_id", request.order.order_id, "an order id")
        creditors = tuple(c.value for c in request.order.creditors)
        if not creditors or len(creditors) > MAX_EXTRACT_CREDITORS:
            violations.add("order.creditors", f"must name 1 to {MAX_EXTRACT_CREDITORS} institutions")
        violations.raise_if_any()
        return extracts.OrderStart(order_id, creditors)
    if part == "customers":
        subjects = request.customers.subjects
        if len(subjects) > MAX_LISTED_PER_MESSAGE:
            violations.add("customers.subjects", f"must hold at most {MAX_LISTED_PER_MESSAGE:,}")
        for i, subject in enumerate(subjects):
            fields.identity_number(violations, f"customers.subjects[{i}].value", subject.value)
        violations.raise_if_any()
        return extracts.Listed(tuple(s.value for s in subjects))
    if part == "end":
        return extracts.OrderEnd()
    raise InvalidArgument([FieldViolation("part", "must be an order, customers or an end")])


def _header(kind: DeliveryKind, first: Any) -> DeliveryHeader:
    """What the first message says about the whole delivery; each bad field named."""
    violations = Violations()
    fields.text(violations, "request_id", first.request_id, maximum=MAX_REQUEST_ID, required=True)
    if first.request_id.startswith(domain.REGISTRY_REQUEST):
        # The registry's own fetches are delivered under these ids: one a bank chose could pass for a day's fetch.
        violations.add("request_id", f"must not begin with {domain.REGISTRY_REQUEST!r}: the registry's own")
    strictness = STRICTNESS_FROM_PROTO.get(first.strictness)
    if strictness is None:
        violations.add("strictness", "must be all or nothing, or partial")
    extract_time = None
    if kind is DeliveryKind.SNAPSHOT:
        if not first.HasField("extract_time"):
            violations.add("extract_time", "is required")
        else:
            extract_time = fields.timestamp(violations, "extract_time", first.extract_time)
            if extract_time is not None:
                for field, description in domain.check_extract_time(extract_time, datetime.now(UTC)):
                    violations.add(field, description)
    violations.raise_if_any()
    assert strictness is not None
    return DeliveryHeader(kind, first.request_id, strictness, extract_time)


async def _parts(
    header: DeliveryHeader, first: Any, rest: AsyncIterator[Any] | None, records: str, read: Reader
) -> AsyncIterator[Part]:
    """Each message of a delivery, read; positions count on across messages."""
    offset, message, reading = 0, first, Reading(datetime.now(UTC))
    while message is not None:
        batch = getattr(message, records)
        if len(batch) > MAX_RECORDS:
            raise InvalidArgument([FieldViolation(records, f"must hold at most {MAX_RECORDS} per message")])
        if message.request_id not in ("", header.request_id):
            raise InvalidArgument([FieldViolation("request_id", "must be the same in every message of a delivery")])
        reading.now = datetime.now(UTC)
        yield read(batch, offset, message.SerializeToString(deterministic=True), reading)
        offset += len(batch)
        message = await anext(rest, None) if rest is not None else None


# Who may call each method, with which credential (access.py): institutions deliver and read back with their
# enterprise certificate (as the live registry requires), operators fetch with their token, and only lookup may read
# a person's debts, with its workload certificate.
ACCESS: dict[str, Rule] = {
    "ReportDebtChanges": DELIVERING_INSTITUTIONS,
    "StreamDebtChanges": DELIVERING_INSTITUTIONS,
    "DeliverSnapshot": DELIVERING_INSTITUTIONS,
    "GetDelivery": DELIVERING_INSTITUTIONS,
    "ListDeliveries": DELIVERING_INSTITUTIONS,
    "ListDeliveryRejections": DELIVERING_INSTITUTIONS,
    "ListDebts": DELIVERING_INSTITUTIONS,
    "ProposeHandover": DELIVERING_INSTITUTIONS,
    "AcceptHandover": DELIVERING_INSTITUTIONS,
    "ListSubjectDebts": Services("lookup"),
    "ReadExtract": Services("lookup"),
    "FetchSnapshot": OPERATORS,
    # Corrections (DOM-14): the person asks; the institution that owns a request reads its feed and answers with its
    # enterprise certificate; operators see what is overdue; lookup reads the outcomes to tell every recipient.
    "RequestCorrection": SUBJECTS,
    "ListOwnCorrectionRequests": SUBJECTS,
    "ListCorrectionEvents": DELIVERING_INSTITUTIONS,
    "AnswerCorrectionRequest": DELIVERING_INSTITUTIONS,
    "ListOverdueCorrectionRequests": OPERATORS,
    "ListStaleInstitutions": OPERATORS,
    "ReadCorrectionOutcomes": Services("lookup"),
    "ListDebtStatistics": STATISTICS_READERS,
}


def _answer(request: pb.AnswerCorrectionRequestRequest) -> CorrectionAnswer:
    """The institution's answer, each bad field named."""
    violations = Violations()
    kind = request.WhichOneof("answer")
    if kind == "corrected":
        made = request.corrected
        delivery_id = fields.uuid_of("corrected.delivery_id", made.delivery_id) if made.delivery_id else None
        since = (
            fields.timestamp(violations, "corrected.wrong_since", made.wrong_since)
            if made.HasField("wrong_since")
            else None
        )
        if since is not None and since > datetime.now(UTC):
            violations.add("corrected.wrong_since", "must not be in the future")
        fields.prose(violations, "corrected.description", made.description, maximum=MAX_CORRECTION_TEXT)
        violations.raise_if_any()
        return Corrected(delivery_id, since, made.description)
    if kind == "rejected":
        fields.prose(violations, "rejected.reason", request.rejected.reason, maximum=MAX_CORRECTION_TEXT, required=True)
        violations.raise_if_any()
        return Rejected(request.rejected.reason)
    if kind == "forwarded":
        institution = fields.organization_number(
            violations, "forwarded.institution.value", request.forwarded.institution.value
        )
        violations.raise_if_any()
        return Forwarded(institution)
    raise InvalidArgument([FieldViolation("answer", "must be corrected, rejected or forwarded")])


class IngestServicer(ingest_service_pb2_grpc.IngestServiceServicer):
    def __init__(
        self,
        ingest: Ingest,
        fetches: SnapshotFetches,
        directory: InstitutionDirectory,
        pages: paging.PageTokens,
        extract_reads: extracts.ExtractReads,
        corrections: Corrections,
        statistics: DebtStatistics,
        pause: float = 30.0,
        snapshot_limit: timedelta = timedelta(hours=36),
    ) -> None:
        self._statistics = statistics
        self._snapshot_limit = snapshot_limit
        self._corrections = corrections
        # The longest a streamed delivery (or a round's reader) may pause between two messages.
        self._pause = pause
        self._extract_reads = extract_reads
        self._ingest = ingest
        self._fetches = fetches
        self._pages = pages
        self._directory = directory

    async def FetchSnapshot(
        self,
        request: pb.FetchSnapshotRequest,
        context: grpc.aio.ServicerContext[pb.FetchSnapshotRequest, pb.FetchSnapshotResponse],
    ) -> pb.FetchSnapshotResponse:
        violations = Violations()
        fields.organization_number(violations, "institution.value", request.institution.value)
        violations.raise_if_any()
        outcome = await self._fetches.fetch(request.institution.value)
        return pb.FetchSnapshotResponse(
            delivery=delivery_to_proto(outcome.delivery), rejections=map(rejection_to_proto, outcome.rejections)
        )

    async def _deliver(
        self, kind: DeliveryKind, first: Any, rest: AsyncIterator[Any] | None, records: str, read: Reader
    ) -> Outcome:
        caller = require_institution()
        if first is None:
            raise InvalidArgument([FieldViolation("request_id", "is required: the delivery was empty")])
        header = _header(kind, first)
        return await self._ingest.deliver(
            caller.organization_number,
            header,
            _parts(header, first, paced(rest, self._pause) if rest is not None else None, records, read),
        )

    async def ReportDebtChanges(
        self,
        request: pb.ReportDebtChangesRequest,
        context: grpc.aio.ServicerContext[pb.ReportDebtChangesRequest, pb.ReportDebtChangesResponse],
    ) -> pb.ReportDebtChangesResponse:
        outcome = await self._deliver(DeliveryKind.CHANGES, request, None, "changes", changes_part)
        return pb.ReportDebtChangesResponse(
            delivery=delivery_to_proto(outcome.delivery), rejections=map(rejection_to_proto, outcome.rejections)
        )

    async def StreamDebtChanges(
        self,
        request_iterator: AsyncIterator[pb.StreamDebtChangesRequest],
        context: grpc.aio.ServicerContext[pb.StreamDebtChangesRequest, pb.StreamDebtChangesResponse],
    ) -> pb.StreamDebtChangesResponse:
        messages = aiter(request_iterator)
        first = await anext(messages, None)
        outcome = await self._deliver(DeliveryKind.CHANGES, first, messages, "changes", changes_part)
        return pb.StreamDebtChangesResponse(
            delivery=delivery_to_proto(outcome.delivery), rejections=map(rejection_to_proto, outcome.rejections)
        )

    async def DeliverSnapshot(
        self,
        request_iterator: AsyncIterator[pb.DeliverSnapshotRequest],
        context: grpc.aio.ServicerContext[pb.DeliverSnapshotRequest, pb.DeliverSnapshotResponse],
    ) -> pb.DeliverSnapshotResponse:
        messages = aiter(request_iterator)
        first = await anext(messages, None)
        outcome = await self._deliver(DeliveryKind.SNAPSHOT, first, messages, "debts", snapshot_part)
        return pb.DeliverSnapshotResponse(
            delivery=delivery_to_proto(outcome.delivery), rejections=map(rejection_to_proto, outcome.rejections)
        )

    async def GetDelivery(
        self,
        request: pb.GetDeliveryRequest,
        context: grpc.aio.ServicerContext[pb.GetDeliveryRequest, pb.GetDeliveryResponse],
    ) -> pb.GetDeliveryResponse:
        caller = require_institution()
        delivery = await self._ingest.delivery(caller.organization_number, fields.uuid_of("id", request.id))
        return pb.GetDeliveryResponse(delivery=delivery_to_proto(delivery))

    async def ListDeliveries(
        self,
        request: pb.ListDeliveriesRequest,
        context: grpc.aio.ServicerContext[pb.ListDeliveriesRequest, pb.ListDeliveriesResponse],
    ) -> pb.ListDeliveriesResponse:
        caller = require_institution()
        size = paging.page_size(request.page_size, default=100, maximum=1000)
        after = self._pages.newest_first_after(request.page_token)
        rows = await self._ingest.deliveries(caller.organization_number, after, size + 1)
        page, token = self._pages.newest_first_page(rows, size, lambda d: (d.receive_time, d.id))
        return pb.ListDeliveriesResponse(deliveries=map(delivery_to_proto, page), next_page_token=token)

    async def ListDeliveryRejections(
        self,
        request: pb.ListDeliveryRejectionsRequest,
        context: grpc.aio.ServicerContext[pb.ListDeliveryRejectionsRequest, pb.ListDeliveryRejectionsResponse],
    ) -> pb.ListDeliveryRejectionsResponse:
        caller = require_institution()
        delivery_id = fields.uuid_of("delivery_id", request.delivery_id)
        size = paging.page_size(request.page_size, default=100, maximum=1000)
        position = self._pages.decode(request.page_token)
        after = -1
        if position is not None:
            try:
                after = int(position["index"])
            except (KeyError, ValueError, TypeError):
                raise paging.not_ours() from None
        rows = await self._ingest.rejections(caller.organization_number, delivery_id, after, size + 1)
        page = rows[:size]
        token = self._pages.encode({"index": page[-1].index}) if len(rows) > size else ""
        return pb.ListDeliveryRejectionsResponse(rejections=map(rejection_to_proto, page), next_page_token=token)

    async def ProposeHandover(
        self,
        request: pb.ProposeHandoverRequest,
        context: grpc.aio.ServicerContext[pb.ProposeHandoverRequest, pb.ProposeHandoverResponse],
    ) -> pb.ProposeHandoverResponse:
        caller = require_institution()
        violations = Violations()
        fields.organization_number(violations, "receiver.value", request.receiver.value)
        if request.receiver.value == caller.organization_number:
            violations.add("receiver.value", "must be another institution")
        if len(request.account_ids) > MAX_HANDOVER_ACCOUNTS:
            violations.add("account_ids", f"must hold at most {MAX_HANDOVER_ACCOUNTS}; hand over the portfolio")
        for i, account_id in enumerate(request.account_ids):
            for _, description in domain.check_account_id(account_id):
                violations.add(f"account_ids[{i}]", description)
        fields.text(violations, "request_id", request.request_id, maximum=64)
        violations.raise_if_any()
        handover = await self._ingest.propose_handover(
            caller.organization_number,
            request.receiver.value,
            list(dict.fromkeys(request.account_ids)),
            request.request_id,
        )
        return pb.ProposeHandoverResponse(handover=handover_to_proto(handover))

    async def AcceptHandover(
        self,
        request: pb.AcceptHandoverRequest,
        context: grpc.aio.ServicerContext[pb.AcceptHandoverRequest, pb.AcceptHandoverResponse],
    ) -> pb.AcceptHandoverResponse:
        caller = require_institution()
        handover = await self._ingest.accept_handover(caller.organization_number, fields.uuid_of("id", request.id))
        return pb.AcceptHandoverResponse(handover=handover_to_proto(handover))

    async def ListDebts(
        self, request: pb.ListDebtsRequest, context: grpc.aio.ServicerContext[pb.ListDebtsRequest, pb.ListDebtsResponse]
    ) -> pb.ListDebtsResponse:
        caller = require_institution()
        size = paging.page_size(request.page_size, default=100, maximum=1000)
        position = self._pages.decode(request.page_token)
        after = None
        if position is not None:
            try:
                after = (str(position["account_id"]), bytes.fromhex(position["debtor"]))
            except (KeyError, ValueError, TypeError):
                raise paging.not_ours() from None
        page = await self._ingest.debts_of_creditor(caller.organization_number, after, size)
        token = (
            self._pages.encode({"account_id": page.last_key[0], "debtor": page.last_key[1].hex()})
            if page.last_key
            else ""
        )
        return pb.ListDebtsResponse(
            debts=[debt_to_proto(d, self._directory) for d in page.debts], next_page_token=token
        )

    async def ReadExtract(
        self,
        request_iterator: AsyncIterator[pb.ReadExtractRequest],
        context: grpc.aio.ServicerContext[pb.ReadExtractRequest, pb.ReadExtractResponse],
    ) -> AsyncIterator[pb.ReadExtractResponse]:
        async def asked() -> AsyncIterator[extracts.Asked]:
            async for request in paced(request_iterator, self._pause):
                yield _asked(request)

        async for answer in self._extract_reads.read(asked()):
            if isinstance(answer, datetime):
                yield pb.ReadExtractResponse(snapshot_time=to_proto(answer))
            elif isinstance(answer, extracts.Customers):
                customers = [
                    pb.ExtractCustomer(
                        subject=identity_pb2.NationalIdentityNumber(value=subject),
                        debts=[debt_to_proto(d, None) for d in held],  # creditors by number: lookup names none
                    )
                    for subject, held in answer.customers
                ]
                yield pb.ReadExtractResponse(customers=pb.ExtractCustomers(customers=customers))
            else:
                read = pb.ExtractOrderRead(
                    order_id=str(answer.order_id),
                    customer_count=answer.customer_count,
                    not_customer_count=answer.not_customer_count,
                )
                yield pb.ReadExtractResponse(read=read)

    async def ListSubjectDebts(
        self,
        request: pb.ListSubjectDebtsRequest,
        context: grpc.aio.ServicerContext[pb.ListSubjectDebtsRequest, pb.ListSubjectDebtsResponse],
    ) -> pb.ListSubjectDebtsResponse:
        violations = Violations()
        fields.identity_number(violations, "subject.value", request.subject.value)
        violations.raise_if_any()
        debts = await self._ingest.debts_of_subject(request.subject.value)
        return pb.ListSubjectDebtsResponse(debts=[debt_to_proto(d, self._directory) for d in debts])

    async def RequestCorrection(
        self,
        request: pb.RequestCorrectionRequest,
        context: grpc.aio.ServicerContext[pb.RequestCorrectionRequest, pb.RequestCorrectionResponse],
    ) -> pb.RequestCorrectionResponse:
        subject = require_subject()
        violations = Violations()
        creditor = fields.organization_number(violations, "creditor.value", request.creditor.value)
        fields.text(violations, "account_id", request.account_id, maximum=domain.MAX_ACCOUNT_ID_LENGTH, required=True)
        fields.prose(violations, "reason", request.reason, maximum=MAX_CORRECTION_TEXT, required=True)
        fields.text(violations, "request_id", request.request_id, maximum=MAX_REQUEST_ID)
        violations.raise_if_any()
        made = await self._corrections.request(
            subject.identity_number, creditor, request.account_id, request.reason, request.request_id
        )
        return pb.RequestCorrectionResponse(correction_request=correction_to_proto(made, self._directory))

    async def ListOwnCorrectionRequests(
        self,
        request: pb.ListOwnCorrectionRequestsRequest,
        context: grpc.aio.ServicerContext[pb.ListOwnCorrectionRequestsRequest, pb.ListOwnCorrectionRequestsResponse],
    ) -> pb.ListOwnCorrectionRequestsResponse:
        subject = require_subject()
        size = paging.page_size(request.page_size, default=20, maximum=100)
        before = self._pages.newest_first_after(request.page_token)
        rows = await self._corrections.of_subject(subject.identity_number, before, size + 1)
        page, token = self._pages.newest_first_page(rows, size, lambda r: (r.create_time, r.id))
        return pb.ListOwnCorrectionRequestsResponse(
            correction_requests=[correction_to_proto(r, self._directory) for r in page], next_page_token=token
        )

    async def ListCorrectionEvents(
        self,
        request: pb.ListCorrectionEventsRequest,
        context: grpc.aio.ServicerContext[pb.ListCorrectionEventsRequest, pb.ListCorrectionEventsResponse],
    ) -> pb.ListCorrectionEventsResponse:
        caller = require_institution()
        after = paging.after_position(request.after_position)
        size = paging.page_size(request.page_size, default=100, maximum=1000)
        feed = await self._corrections.feed(caller.organization_number, after, size)
        return pb.ListCorrectionEventsResponse(
            events=map(correction_event_to_proto, feed),
            next_after_position=paging.read_on([e.position for e in feed], after),
        )

    async def AnswerCorrectionRequest(
        self,
        request: pb.AnswerCorrectionRequestRequest,
        context: grpc.aio.ServicerContext[pb.AnswerCorrectionRequestRequest, pb.AnswerCorrectionRequestResponse],
    ) -> pb.AnswerCorrectionRequestResponse:
        caller = require_institution()
        correction_id = fields.uuid_of("id", request.id)
        answered = await self._corrections.answer(caller.organization_number, correction_id, _answer(request))
        return pb.AnswerCorrectionRequestResponse(correction_request=correction_to_proto(answered))

    async def ListOverdueCorrectionRequests(
        self,
        request: pb.ListOverdueCorrectionRequestsRequest,
        context: grpc.aio.ServicerContext[
            pb.ListOverdueCorrectionRequestsRequest, pb.ListOverdueCorrectionRequestsResponse
        ],
    ) -> pb.ListOverdueCorrectionRequestsResponse:
        size = paging.page_size(request.page_size, default=100, maximum=1000)
        after = self._pages.newest_first_after(request.page_token)  # (due time, id) of the last row seen
        rows = await self._corrections.overdue(after, size + 1)
        page, token = self._pages.newest_first_page(rows, size, lambda r: (r.due_time, r.id))
        return pb.ListOverdueCorrectionRequestsResponse(
            correction_requests=map(correction_to_proto, page), next_page_token=token
        )

    async def ReadCorrectionOutcomes(
        self,
        request: pb.ReadCorrectionOutcomesRequest,
        context: grpc.aio.ServicerContext[pb.ReadCorrectionOutcomesRequest, pb.ReadCorrectionOutcomesResponse],
    ) -> pb.ReadCorrectionOutcomesResponse:
        after = paging.after_position(request.after_position)
        size = paging.page_size(request.page_size, default=100, maximum=1000)
        feed = await self._corrections.feed(domain.OUTCOMES_FEED, after, size)
        return pb.ReadCorrectionOutcomesResponse(
            events=map(correction_event_to_proto, feed),
            next_after_position=paging.read_on([e.position for e in feed], after),
        )

    async def ListStaleInstitutions(
        self,
        request: pb.ListStaleInstitutionsRequest,
        context: grpc.aio.ServicerContext[pb.ListStaleInstitutionsRequest, pb.ListStaleInstitutionsResponse],
    ) -> pb.ListStaleInstitutionsResponse:
        reply = pb.ListStaleInstitutionsResponse()
        reply.snapshot_limit.FromTimedelta(self._snapshot_limit)
        for row in await self._ingest.behind_on_snapshots(self._snapshot_limit):
            behind = reply.institutions.add(debt_count=row.debt_count)
            behind.institution.CopyFrom(institution_to_proto(self._directory.get(row.creditor)))
            if row.last_snapshot is not None:
                behind.last_snapshot_time.CopyFrom(to_proto(row.last_snapshot))
        return reply

    async def ListDebtStatistics(
        self,
        request: pb.ListDebtStatisticsRequest,
        context: grpc.aio.ServicerContext[pb.ListDebtStatisticsRequest, pb.ListDebtStatisticsResponse],
    ) -> pb.ListDebtStatisticsResponse:
        table = STATISTICS_TABLES.get(request.table)
        violations = Violations()
        if table is None:
            violations.add("table", "is not a table the registry publishes")
        last_asked = fields.day(violations, "last_day", request.last_day)
        first_asked = fields.day(violations, "first_day", request.first_day)
        violations.raise_if_any()
        assert table is not None
        last = last_asked or datetime.now(UTC).date()
        first = first_asked or last - timedelta(days=STATISTICS_DAYS)
        if not timedelta(0) <= last - first <= timedelta(days=MOST_STATISTICS_DAYS):  # last_day alone is always in
            if last_asked:
                violations.add("last_day", f"must be from first_day to at most {MOST_STATISTICS_DAYS:,} days after it")
            else:
                violations.add("first_day", f"must be today or earlier, at most {MOST_STATISTICS_DAYS:,} days before")
            violations.raise_if_any()
        reply = pb.ListDebtStatisticsResponse(k=self._statistics.k)
        for row in await self._statistics.published(table, first, last):
            if not reply.days or reply.days[-1].day != row.day.isoformat():
                reply.days.add(day=row.day.isoformat(), count_time=to_proto(row.count_time))
            reply.days[-1].cells.append(statistics_cell_to_proto(row))
        return reply


# The published tables, by their contract's names; the stretch of days asked by default, and at most.
STATISTICS_TABLES = {
    pb.STATISTICS_TABLE_UNSPECIFIED: statistics.NATIONAL,
    pb.STATISTICS_TABLE_NATIONAL: statistics.NATIONAL,
    pb.STATISTICS_TABLE_AGE_AND_SEX: statistics.AGE_AND_SEX,
    pb.STATISTICS_TABLE_COUNTY: statistics.COUNTY,
}
STATISTICS_DAYS = 400
MOST_STATISTICS_DAYS = 3660
