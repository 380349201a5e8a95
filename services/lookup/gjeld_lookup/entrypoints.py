"""The thin gRPC layer of lookup."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc
from gjeld.lookup.v1 import lookup_pb2, lookup_service_pb2_grpc
from gjeld.lookup.v1 import lookup_service_pb2 as pb
from gjeld_shared import fields, paging
from gjeld_shared.access import EXTRACTING_INSTITUTIONS, LOOKING_UP_INSTITUTIONS, OPERATORS, SUBJECTS, Rule
from gjeld_shared.callers import require_institution, require_operator, require_subject
from gjeld_shared.clients import deadline
from gjeld_shared.errors import FieldViolation, InvalidArgument, Violations
from gjeld_shared.institutions import InstitutionDirectory
from gjeld_shared.timestamps import now, to_proto

from . import convert, extracts
from .domain import Purpose
from .service_layer import Admission, AuditCheckpoints, Extracts, Lookups

PURPOSE_FROM_PROTO = {
    lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT: Purpose.CREDIT_ASSESSMENT,
    lookup_pb2.DISCLOSURE_PURPOSE_PRESENTATION: Purpose.PRESENTATION,
    lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_BUREAU: Purpose.CREDIT_BUREAU,
}
MAX_WAIT_RANGE = (1.0, 60.0)  # seconds, as in the Norwegian registry


def _max_wait(request: Any, default: float, violations: Violations) -> float:
    if not request.HasField("max_wait"):
        return default
    given = fields.duration(violations, "max_wait", request.max_wait)
    wait = given.total_seconds() if given is not None else default
    if given is not None and not MAX_WAIT_RANGE[0] <= wait <= MAX_WAIT_RANGE[1]:
        violations.add("max_wait", "must be from 1 to 60 seconds")
    return wait


# Who may call each method, with which credential (access.py): lenders with their enterprise certificate and a
# Maskinporten token of the same organisation, persons with their token.
ACCESS: dict[str, Rule] = {
    "LookUpDebt": LOOKING_UP_INSTITUTIONS,
    "GetOwnDebt": SUBJECTS,
    "ListOwnDisclosures": SUBJECTS,
    "GetDisclosureProof": SUBJECTS,
    "ListFailedCopyLetters": OPERATORS,
    "RetryFailedCopyLetter": OPERATORS,
    "SubmitCustomerList": EXTRACTING_INSTITUTIONS,
    "GetExtractOrder": EXTRACTING_INSTITUTIONS,
    "DownloadExtractPackage": EXTRACTING_INSTITUTIONS,
    "ConfirmExtractDeletion": EXTRACTING_INSTITUTIONS,
    "RunExtractRound": OPERATORS,
    "ListOverdueExtracts": OPERATORS,
}
MAX_LISTED_PER_MESSAGE = 10_000
MAX_LIST_FILE_PART = 1 << 20
MAX_LISTED = 5_000_000  # lines in one list: more than any institution has customers
MAX_REQUEST_ID = 64


class LookupServicer(lookup_service_pb2_grpc.LookupServiceServicer):
    def __init__(
        self,
        lookups: Lookups,
        directory: InstitutionDirectory,
        default_wait: float,
        pages: paging.PageTokens,
        extracts: Extracts,
        checkpoints: AuditCheckpoints,
        admission: Admission | None = None,
    ) -> None:
        self._admission = admission or Admission(16)
        self._checkpoints = checkpoints
        self._extracts = extracts
        self._lookups = lookups
        self._directory = directory
        self._pages = pages
        self._default_wait = default_wait

    def _timeout(self, context: grpc.aio.ServicerContext[Any, Any], wait: float) -> float:
        """The time left for the whole lookup: the caller's deadline, at most the wait plus one ordinary call."""
        return deadline(context, wait + self._lookups.call_timeout)

    async def LookUpDebt(
        self,
        request: pb.LookUpDebtRequest,
        context: grpc.aio.ServicerContext[pb.LookUpDebtRequest, pb.LookUpDebtResponse],
    ) -> pb.LookUpDebtResponse:
        institution = require_institution()
        violations = Violations()
        fields.identity_number(violations, "subject.value", request.subject.value)
        purpose = PURPOSE_FROM_PROTO.get(request.purpose)
        if purpose is None:
            violations.add("purpose", "must be credit assessment, presentation or credit bureau")
        fields.text(violations, "application_reference", request.application_reference, maximum=64)
        fields.text(violations, "request_id", request.request_id, maximum=64)
        wait = _max_wait(request, self._default_wait, violations)
        violations.raise_if_any()
        assert purpose is not None
        async with self._admission.slot():  # overload is refused at once, never queued
            disclosed = await self._lookups.look_up(
                institution.organization_number,
                purpose,
                request.subject.value,
                request.application_reference,
                wait,
                self._timeout(context, wait),
                request.request_id,
            )
        answer = convert.lender_answer_to_proto(
            disclosed.debts,
            disclosed.totals,
            disclosed.creditors,
            disclosed.disclosure.credit_blocked,
            disclosed.answered,
            disclosed.missing,
            disclosed.withheld_stale,
            disclosed.identity_theft_flag,
        )
        answer.disclosure.CopyFrom(convert.disclosure_to_proto(disclosed.disclosure, self._directory))
        return answer

    async def GetOwnDebt(
        self,
        request: pb.GetOwnDebtRequest,
        context: grpc.aio.ServicerContext[pb.GetOwnDebtRequest, pb.GetOwnDebtResponse],
    ) -> pb.GetOwnDebtResponse:
        subject = require_subject()
        violations = Violations()
        wait = _max_wait(request, self._default_wait, violations)
        violations.raise_if_any()
        own = await self._lookups.own_debt(subject.identity_number, wait, self._timeout(context, wait))
        return pb.GetOwnDebtResponse(
            debts=[convert.own_debt_to_proto(d, self._directory) for d in own.debts],
            totals=[convert.total_to_proto(t) for t in own.totals],
            creditors=[convert.own_creditor_status_to_proto(c, self._directory) for c in own.creditors],
            creditors_answered=own.answered,
            creditors_missing=own.missing,
        )

    async def GetDisclosureProof(
        self,
        request: pb.GetDisclosureProofRequest,
        context: grpc.aio.ServicerContext[pb.GetDisclosureProofRequest, pb.GetDisclosureProofResponse],
    ) -> pb.GetDisclosureProofResponse:
        subject = require_subject()
        disclosure_id = fields.uuid_of("disclosure_id", request.disclosure_id, "a disclosure id")
        leaf, path, checkpoint = await self._checkpoints.proof(subject.identity_number, disclosure_id)
        return pb.GetDisclosureProofResponse(
            leaf_index=leaf.position,
            entry=leaf.entry,
            audit_path=path,
            checkpoint=pb.LogCheckpoint(
                tree_size=checkpoint.size,
                root_hash=checkpoint.root,
                time=checkpoint.time,
                key_id=checkpoint.key_id,
                signature=checkpoint.signature,
            ),
        )

    async def ListOwnDisclosures(
        self,
        request: pb.ListOwnDisclosuresRequest,
        context: grpc.aio.ServicerContext[pb.ListOwnDisclosuresRequest, pb.ListOwnDisclosuresResponse],
    ) -> pb.ListOwnDisclosuresResponse:
        subject = require_subject()
        size = paging.page_size(request.page_size, default=20, maximum=100)
        before = self._pages.newest_first_after(request.page_token)
        found = await self._lookups.disclosures_of(subject.identity_number, before, size + 1)
        page, token = self._pages.newest_first_page(found, size, lambda d: (d.disclose_time, d.id))
        return pb.ListOwnDisclosuresResponse(
            disclosures=[convert.disclosure_to_proto(d, self._directory) for d in page], next_page_token=token
        )

    async def ListFailedCopyLetters(
        self,
        request: pb.ListFailedCopyLettersRequest,
        context: grpc.aio.ServicerContext[pb.ListFailedCopyLettersRequest, pb.ListFailedCopyLettersResponse],
    ) -> pb.ListFailedCopyLettersResponse:
        await self._checkpoints.record_access(require_operator().name, "ListFailedCopyLetters")  # §7: logged
        size = paging.page_size(request.page_size, default=20, maximum=100)
        before = self._pages.newest_first_after(request.page_token)
        found = await self._lookups.set_aside_letters(before, size + 1)
        page, token = self._pages.newest_first_page(found, size, lambda f: (f.fail_time or now(), f.disclosure_id))
        return pb.ListFailedCopyLettersResponse(
            copy_letters=[convert.set_aside_letter_to_proto(f) for f in page], next_page_token=token
        )

    async def RetryFailedCopyLetter(
        self,
        request: pb.RetryFailedCopyLetterRequest,
        context: grpc.aio.ServicerContext[pb.RetryFailedCopyLetterRequest, pb.RetryFailedCopyLetterResponse],
    ) -> pb.RetryFailedCopyLetterResponse:
        await self._checkpoints.record_access(require_operator().name, "RetryFailedCopyLetter")  # §7: logged
        disclosure_id = fields.uuid_of("disclosure_id", request.disclosure_id, "a disclosure id")
        letter = await self._lookups.put_back_letter(disclosure_id)
        return pb.RetryFailedCopyLetterResponse(copy_letter=convert.set_aside_letter_to_proto(letter))

    async def SubmitCustomerList(
        self,
        request_iterator: AsyncIterator[pb.SubmitCustomerListRequest],
        context: grpc.aio.ServicerContext[pb.SubmitCustomerListRequest, pb.SubmitCustomerListResponse],
    ) -> pb.SubmitCustomerListResponse:
        institution = require_institution().organization_number
        requests = aiter(request_iterator)
        first = await anext(requests, None)
        if first is None or first.WhichOneof("part") != "header":
            raise InvalidArgument([FieldViolation("header", "the first message must be the header")])
        header = first.header
        violations = Violations()
        if len(header.request_id) > MAX_REQUEST_ID:
            violations.add("header.request_id", f"must be at most {MAX_REQUEST_ID} characters")
        violations.raise_if_any()
        report, failure = extracts.ListReport(), ""
        file = extracts.ListFileReader(report)
        try:
            async for message in requests:
                part = message.WhichOneof("part")
                if part == "numbers":
                    if len(message.numbers.identity_numbers) > MAX_LISTED_PER_MESSAGE:
                        violations.add("numbers.identity_numbers", f"must hold at most {MAX_LISTED_PER_MESSAGE:,}")
                    for number in message.numbers.identity_numbers:
                        report.add(number[:32])
                elif part == "list_file":
                    if len(message.list_file) > MAX_LIST_FILE_PART:
                        violations.add("list_file", "must be at most 1 MiB in one message")
                    else:
                        file.feed(message.list_file)
                else:
                    violations.add("header", "only the first message is the header")
                if report.listed > MAX_LISTED:
                    violations.add("numbers", f"a list holds at most {MAX_LISTED:,} lines")
                violations.raise_if_any()
            file.finish()
        except extracts.UnreadableList as unreadable:
            failure = str(unreadable)
        if not failure and not report.numbers:  # an empty list would use up one of the year's four rounds
            raise InvalidArgument([FieldViolation("numbers", "the list holds no valid identity number")])
        row = await self._extracts.submit(institution, header.quarter, header.request_id, report, failure)
        return pb.SubmitCustomerListResponse(order=convert.extract_order_to_proto(row, self._extracts.manifest(row)))

    async def GetExtractOrder(
        self,
        request: pb.GetExtractOrderRequest,
        context: grpc.aio.ServicerContext[pb.GetExtractOrderRequest, pb.GetExtractOrderResponse],
    ) -> pb.GetExtractOrderResponse:
        institution = require_institution().organization_number
        row = await self._extracts.order(institution, fields.uuid_of("order_id", request.order_id, "an order id"))
        return pb.GetExtractOrderResponse(order=convert.extract_order_to_proto(row, self._extracts.manifest(row)))

    async def DownloadExtractPackage(
        self,
        request: pb.DownloadExtractPackageRequest,
        context: grpc.aio.ServicerContext[pb.DownloadExtractPackageRequest, pb.DownloadExtractPackageResponse],
    ) -> AsyncIterator[pb.DownloadExtractPackageResponse]:
        institution = require_institution().organization_number
        order_id = fields.uuid_of("order_id", request.order_id, "an order id")
        manifest, chunks = await self._extracts.package(institution, order_id)
        yield pb.DownloadExtractPackageResponse(manifest=manifest)
        async for chunk in chunks:
            yield pb.DownloadExtractPackageResponse(chunk=chunk)

    async def ConfirmExtractDeletion(
        self,
        request: pb.ConfirmExtractDeletionRequest,
        context: grpc.aio.ServicerContext[pb.ConfirmExtractDeletionRequest, pb.ConfirmExtractDeletionResponse],
    ) -> pb.ConfirmExtractDeletionResponse:
        institution = require_institution().organization_number
        order_id = fields.uuid_of("order_id", request.order_id, "an order id")
        row = await self._extracts.confirm_deletion(institution, order_id)
        return pb.ConfirmExtractDeletionResponse(order=convert.extract_order_to_proto(row, None))

    async def RunExtractRound(
        self,
        request: pb.RunExtractRoundRequest,
        context: grpc.aio.ServicerContext[pb.RunExtractRoundRequest, pb.RunExtractRoundResponse],
    ) -> pb.RunExtractRoundResponse:
        await self._checkpoints.record_access(require_operator().name, "RunExtractRound")  # §7: logged
        round_id, instant, orders = await self._extracts.run_round()
        reply = pb.RunExtractRoundResponse(
            round_id=str(round_id) if round_id else "",
            orders=[convert.extract_order_to_proto(row, self._extracts.manifest(row)) for row in orders],
        )
        if instant is not None:
            reply.snapshot_time.CopyFrom(to_proto(instant))
        return reply

    async def ListOverdueExtracts(
        self,
        request: pb.ListOverdueExtractsRequest,
        context: grpc.aio.ServicerContext[pb.ListOverdueExtractsRequest, pb.ListOverdueExtractsResponse],
    ) -> pb.ListOverdueExtractsResponse:
        await self._checkpoints.record_access(require_operator().name, "ListOverdueExtracts")  # §7: logged
        size = paging.page_size(request.page_size, default=20, maximum=100)
        before = self._pages.newest_first_after(request.page_token)
        found = await self._extracts.overdue(before, size + 1)
        page, token = self._pages.newest_first_page(found, size, lambda row: (row.delete_deadline, row.id))
        return pb.ListOverdueExtractsResponse(
            orders=[convert.extract_order_to_proto(row, None) for row in page], next_page_token=token
        )
