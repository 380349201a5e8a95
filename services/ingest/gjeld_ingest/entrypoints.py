"""The thin gRPC layer of ingest: callers and requests in, receipts and debts out."""

from __future__ import annotations

from typing import Any

from gjeld.ingest.v1 import ingest_service_pb2 as pb
from gjeld.ingest.v1 import ingest_service_pb2_grpc
from gjeld_shared import identity_numbers, paging
from gjeld_shared.callers import SCOPE_REPORT, require_institution, require_service
from gjeld_shared.errors import FieldViolation, InvalidArgument, Violations
from gjeld_shared.institutions import InstitutionDirectory

from . import domain
from .convert import debt_from_proto, debt_to_proto, delivery_to_proto, key_from_proto
from .service_layer import Ingest

MAX_CHANGES = 10_000
MAX_REQUEST_ID = 64


class IngestServicer(ingest_service_pb2_grpc.IngestServiceServicer):
    def __init__(self, ingest: Ingest, directory: InstitutionDirectory) -> None:
        self._ingest = ingest
        self._directory = directory

    async def ReportDebtChanges(
        self, request: pb.ReportDebtChangesRequest, context: Any
    ) -> pb.ReportDebtChangesResponse:
        caller = require_institution(SCOPE_REPORT)
        violations = Violations()
        if not 0 < len(request.request_id) <= MAX_REQUEST_ID:
            violations.add("request_id", f"is required, at most {MAX_REQUEST_ID} characters")
        if not 0 < len(request.changes) <= MAX_CHANGES:
            violations.add("changes", f"must hold between 1 and {MAX_CHANGES} changes")
        registrations: list[domain.Debt] = []
        closures: list[domain.DebtKey] = []
        keys: list[domain.DebtKey] = []  # as sent, so that a duplicate is caught even where the change is bad
        positions: list[int] = []
        for i, change in enumerate(request.changes):
            kind = change.WhichOneof("change")
            if kind == "register":
                debt = debt_from_proto(change.register, f"changes[{i}].register", violations)
                if debt is not None:
                    registrations.append(debt)
            elif kind == "close":
                key = key_from_proto(change.close, f"changes[{i}].close", violations)
                if key is not None:
                    closures.append(key)
            else:
                violations.add(f"changes[{i}].change", "one of register or close is required")
                continue
            sent = getattr(change, kind)
            if sent.account_id and sent.debtor.value:
                keys.append(domain.DebtKey(sent.account_id, sent.debtor.value))
                positions.append(i)
        for repeat, first in domain.duplicates(keys).items():
            violations.add(
                f"changes[{positions[repeat]}]", f"names the same account and debtor as changes[{positions[first]}]"
            )
        violations.raise_if_any()
        delivery = await self._ingest.report_changes(
            caller.organization_number,
            request.request_id,
            request.SerializeToString(deterministic=True),
            registrations,
            closures,
        )
        return pb.ReportDebtChangesResponse(delivery=delivery_to_proto(delivery))

    async def ListDebts(self, request: pb.ListDebtsRequest, context: Any) -> pb.ListDebtsResponse:
        caller = require_institution(SCOPE_REPORT)
        size = paging.page_size(request.page_size, default=100, maximum=1000)
        position = paging.decode_token(request.page_token)
        after = None
        if position is not None:
            try:
                after = (str(position["account_id"]), bytes.fromhex(position["debtor"]))
            except (KeyError, ValueError, TypeError):
                raise InvalidArgument([FieldViolation("page_token", "is not a token this method gave out")]) from None
        page = await self._ingest.debts_of_creditor(caller.organization_number, after, size)
        token = (
            paging.encode_token({"account_id": page.last_key[0], "debtor": page.last_key[1].hex()})
            if page.last_key
            else ""
        )
        return pb.ListDebtsResponse(
            debts=[debt_to_proto(d, self._directory) for d in page.debts], next_page_token=token
        )

    async def ListSubjectDebts(self, request: pb.ListSubjectDebtsRequest, context: Any) -> pb.ListSubjectDebtsResponse:
        require_service("lookup")
        violations = Violations()
        with violations.catching("subject.value", identity_numbers.InvalidIdentityNumber):
            identity_numbers.validate(request.subject.value)
        violations.raise_if_any()
        debts = await self._ingest.debts_of_subject(request.subject.value)
        return pb.ListSubjectDebtsResponse(debts=[debt_to_proto(d, self._directory) for d in debts])
