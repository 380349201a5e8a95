"""The thin gRPC layer of consent."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from gjeld.consent.v1 import consent_pb2, consent_service_pb2_grpc
from gjeld.consent.v1 import consent_service_pb2 as pb
from gjeld.type.v1 import identity_pb2
from gjeld_shared import identity_numbers, organization_numbers, paging
from gjeld_shared.callers import require_service, require_subject
from gjeld_shared.errors import FieldViolation, InvalidArgument, Violations
from gjeld_shared.timestamps import now, to_proto

from .domain import Consent, Scope
from .service_layer import Consents

SCOPE_FROM_PROTO = {
    consent_pb2.CONSENT_SCOPE_PROCESSING: Scope.PROCESSING,
    consent_pb2.CONSENT_SCOPE_PRESENTATION: Scope.PRESENTATION,
}
SCOPE_TO_PROTO = {v: k for k, v in SCOPE_FROM_PROTO.items()}
STATE_TO_PROTO = {
    "active": consent_pb2.CONSENT_STATE_ACTIVE,
    "withdrawn": consent_pb2.CONSENT_STATE_WITHDRAWN,
    "expired": consent_pb2.CONSENT_STATE_EXPIRED,
    "used_up": consent_pb2.CONSENT_STATE_USED_UP,
}


def consent_to_proto(consent: Consent, moment: datetime) -> consent_pb2.Consent:
    message = consent_pb2.Consent(
        id=str(consent.id),
        institution=identity_pb2.OrganizationNumber(value=consent.institution),
        scope=SCOPE_TO_PROTO[consent.scope],
        state=STATE_TO_PROTO[consent.state(moment).value],
        create_time=to_proto(consent.create_time),
        expire_time=to_proto(consent.expire_time),
        max_uses=consent.max_uses,
        uses=[
            consent_pb2.ConsentUse(use_time=to_proto(u.use_time), disclosure_id=u.disclosure_id) for u in consent.uses
        ],
    )
    if consent.withdraw_time is not None:
        message.withdraw_time.CopyFrom(to_proto(consent.withdraw_time))
    return message


def _scope(value: int, violations: Violations) -> Scope:
    scope = SCOPE_FROM_PROTO.get(value)
    if scope is None:
        violations.add("scope", "is required: processing or presentation")
    return scope or Scope.PROCESSING


def _institution(value: str, violations: Violations) -> str:
    with violations.catching("institution.value", organization_numbers.InvalidOrganizationNumber):
        return organization_numbers.validate(value)
    return ""


def _consent_id(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidArgument([FieldViolation(field, "is not a consent id")]) from None


class ConsentServicer(consent_service_pb2_grpc.ConsentServiceServicer):
    def __init__(self, consents: Consents) -> None:
        self._consents = consents

    async def GrantConsent(self, request: pb.GrantConsentRequest, context: Any) -> pb.GrantConsentResponse:
        subject = require_subject()
        violations = Violations()
        institution = _institution(request.institution.value, violations)
        scope = _scope(request.scope, violations)
        if not 0 < len(request.request_id) <= 64:
            violations.add("request_id", "is required, at most 64 characters")
        violations.raise_if_any()
        validity = request.validity.ToTimedelta() if request.HasField("validity") else None
        max_uses = request.max_uses if request.HasField("max_uses") else None
        consent = await self._consents.grant(
            subject.identity_number,
            institution,
            scope,
            validity,
            max_uses,
            request.request_id,
            request.SerializeToString(deterministic=True),
        )
        return pb.GrantConsentResponse(consent=consent_to_proto(consent, now()))

    async def ListConsents(self, request: pb.ListConsentsRequest, context: Any) -> pb.ListConsentsResponse:
        subject = require_subject()
        size = paging.page_size(request.page_size, default=20, maximum=100)
        before = paging.newest_first_after(request.page_token)
        found = await self._consents.list(subject.identity_number, before, size + 1)
        page, token = paging.newest_first_page(found, size, lambda r: (r.create_time, r.id))
        moment = now()
        return pb.ListConsentsResponse(consents=[consent_to_proto(c, moment) for c in page], next_page_token=token)

    async def WithdrawConsent(self, request: pb.WithdrawConsentRequest, context: Any) -> pb.WithdrawConsentResponse:
        subject = require_subject()
        consent = await self._consents.withdraw(subject.identity_number, _consent_id(request.consent_id, "consent_id"))
        return pb.WithdrawConsentResponse(consent=consent_to_proto(consent, now()))

    async def UseConsent(self, request: pb.UseConsentRequest, context: Any) -> pb.UseConsentResponse:
        require_service("lookup")
        violations = Violations()
        with violations.catching("subject.value", identity_numbers.InvalidIdentityNumber):
            identity_numbers.validate(request.subject.value)
        institution = _institution(request.institution.value, violations)
        scope = _scope(request.scope, violations)
        if not 0 < len(request.disclosure_id) <= 64:
            violations.add("disclosure_id", "is required, at most 64 characters")
        violations.raise_if_any()
        consent = await self._consents.use(request.subject.value, institution, scope, request.disclosure_id)
        return pb.UseConsentResponse(consent=consent_to_proto(consent, now()))
