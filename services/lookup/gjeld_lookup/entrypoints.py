"""The thin gRPC layer of lookup."""

from __future__ import annotations

from typing import Any

from gjeld.lookup.v1 import lookup_pb2, lookup_service_pb2_grpc
from gjeld.lookup.v1 import lookup_service_pb2 as pb
from gjeld_shared import identity_numbers, paging
from gjeld_shared.callers import SCOPE_LOOKUP, require_institution, require_subject
from gjeld_shared.clients import deadline
from gjeld_shared.errors import Violations

from .service_layer import Lookups


class LookupServicer(lookup_service_pb2_grpc.LookupServiceServicer):
    def __init__(self, lookups: Lookups) -> None:
        self._lookups = lookups

    async def LookUpDebt(self, request: pb.LookUpDebtRequest, context: Any) -> pb.LookUpDebtResponse:
        lender = require_institution(SCOPE_LOOKUP)
        violations = Violations()
        with violations.catching("subject.value", identity_numbers.InvalidIdentityNumber):
            identity_numbers.validate(request.subject.value)
        if request.purpose != lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT:
            violations.add("purpose", "must be DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT")
        if len(request.application_reference) > 64:
            violations.add("application_reference", "must be at most 64 characters")
        violations.raise_if_any()
        disclosed = await self._lookups.look_up(
            lender.organization_number,
            request.subject.value,
            request.application_reference,
            deadline(context, self._lookups.call_timeout),
        )
        return pb.LookUpDebtResponse(disclosure=disclosed.disclosure, debts=disclosed.debts, totals=disclosed.totals)

    async def GetOwnDebt(self, request: pb.GetOwnDebtRequest, context: Any) -> pb.GetOwnDebtResponse:
        subject = require_subject()
        debts, totals = await self._lookups.own_debt(
            subject.identity_number, deadline(context, self._lookups.call_timeout)
        )
        return pb.GetOwnDebtResponse(debts=debts, totals=totals)

    async def ListOwnDisclosures(
        self, request: pb.ListOwnDisclosuresRequest, context: Any
    ) -> pb.ListOwnDisclosuresResponse:
        subject = require_subject()
        size = paging.page_size(request.page_size, default=20, maximum=100)
        before = paging.newest_first_after(request.page_token)
        rows = await self._lookups.disclosures_of(subject.identity_number, before, size + 1)
        page, token = paging.newest_first_page(rows, size, lambda r: (r.disclose_time, r.id))
        return pb.ListOwnDisclosuresResponse(
            disclosures=[self._lookups.disclosure_to_proto(r._mapping) for r in page], next_page_token=token
        )
