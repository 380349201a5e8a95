"""The thin gRPC layer of consent."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import grpc
from gjeld.consent.v1 import consent_pb2, consent_service_pb2_grpc
from gjeld.consent.v1 import consent_service_pb2 as pb
from gjeld.type.v1 import identity_pb2
from gjeld_shared import fields, paging
from gjeld_shared.access import CONSENTING_INSTITUTIONS, SUBJECTS, Rule, Services
from gjeld_shared.callers import require_institution, require_subject
from gjeld_shared.errors import FieldViolation, InvalidArgument, Violations
from gjeld_shared.timestamps import now, to_proto

from .domain import Consent, EventType, IdentityTheftFlag, Origin, Scope, Use
from .service_layer import ConsentRequest, Consents

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
    "ended": consent_pb2.CONSENT_STATE_ENDED,
}
ORIGIN_TO_PROTO = {
    Origin.SUBJECT: consent_pb2.CONSENT_ORIGIN_SUBJECT,
    Origin.INSTITUTION: consent_pb2.CONSENT_ORIGIN_INSTITUTION,
}
EVENT_TO_PROTO = {
    EventType.CREATED: consent_pb2.CONSENT_EVENT_TYPE_CREATED,
    EventType.USED: consent_pb2.CONSENT_EVENT_TYPE_USED,
    EventType.WITHDRAWN: consent_pb2.CONSENT_EVENT_TYPE_WITHDRAWN,
    EventType.EXPIRED: consent_pb2.CONSENT_EVENT_TYPE_EXPIRED,
    EventType.ENDED: consent_pb2.CONSENT_EVENT_TYPE_ENDED,
    EventType.USE_RELEASED: consent_pb2.CONSENT_EVENT_TYPE_USE_RELEASED,
}
MAX_ID_LENGTH = 64


def use_to_proto(consent: Consent, use: Use) -> consent_pb2.ConsentUse:
    return consent_pb2.ConsentUse(
        use_time=to_proto(use.use_time),
        disclosure_id=use.disclosure_id,
        institution=identity_pb2.OrganizationNumber(value=consent.institution),
        scope=SCOPE_TO_PROTO[consent.scope],
        application_reference=use.application_reference,
    )


def consent_to_proto(consent: Consent, moment: datetime) -> consent_pb2.Consent:
    institution = identity_pb2.OrganizationNumber(value=consent.institution)
    message = consent_pb2.Consent(
        id=str(consent.id),
        institution=institution,
        scope=SCOPE_TO_PROTO[consent.scope],
        state=STATE_TO_PROTO[consent.state(moment).value],
        create_time=to_proto(consent.create_time),
        expire_time=to_proto(consent.expire_time),
        max_uses=consent.max_uses,
        uses=[use_to_proto(consent, u) for u in consent.uses],
        use_count=consent.use_count,
        origin=ORIGIN_TO_PROTO[consent.origin],
        institution_consent_id=consent.institution_consent_id or "",
    )
    if consent.withdraw_time is not None:
        message.withdraw_time.CopyFrom(to_proto(consent.withdraw_time))
    if consent.end_time is not None:
        message.end_time.CopyFrom(to_proto(consent.end_time))
    return message


def _scope(value: consent_pb2.ConsentScope.ValueType, violations: Violations) -> Scope:
    scope = SCOPE_FROM_PROTO.get(value)
    if scope is None:
        violations.add("scope", "is required: processing or presentation")
    return scope or Scope.PROCESSING


def _terms(request: Any, violations: Violations) -> tuple[Scope, Any, int | None]:
    scope = _scope(request.scope, violations)
    validity = fields.duration(violations, "validity", request.validity) if request.HasField("validity") else None
    max_uses = request.max_uses if request.HasField("max_uses") else None
    return scope, validity, max_uses


def _either_id(request: pb.GetConsentRequest | pb.EndConsentRequest) -> tuple[uuid.UUID | None, str | None]:
    which = request.WhichOneof("id")
    if which == "consent_id":
        return fields.uuid_of("consent_id", request.consent_id, "a consent id"), None
    if which == "institution_consent_id" and 0 < len(request.institution_consent_id) <= MAX_ID_LENGTH:
        return None, request.institution_consent_id
    raise InvalidArgument([FieldViolation("id", "consent_id or institution_consent_id (at most 64 characters)")])


def _block(since: datetime | None) -> consent_pb2.CreditBlock:
    block = consent_pb2.CreditBlock(blocked=since is not None)
    if since is not None:
        block.create_time.CopyFrom(to_proto(since))
    return block


def _flag(flag: IdentityTheftFlag | None) -> consent_pb2.IdentityTheftFlag:
    if flag is None:
        return consent_pb2.IdentityTheftFlag(flagged=False)
    return consent_pb2.IdentityTheftFlag(
        flagged=True, create_time=to_proto(flag.create_time), end_time=to_proto(flag.end_time)
    )


# Who may call each method, with which credential (access.py): persons with their token, institutions with a
# Maskinporten token, lookup alone with its workload certificate.
ACCESS: dict[str, Rule] = {
    "GrantConsent": SUBJECTS,
    "ListConsents": SUBJECTS,
    "ListConsentUses": SUBJECTS,
    "WithdrawConsent": SUBJECTS,
    "RegisterConsent": CONSENTING_INSTITUTIONS,
    "GetConsent": CONSENTING_INSTITUTIONS,
    "EndConsent": CONSENTING_INSTITUTIONS,
    "ListConsentEvents": CONSENTING_INSTITUTIONS,
    "PlaceCreditBlock": SUBJECTS,
    "LiftCreditBlock": SUBJECTS,
    "GetCreditBlock": SUBJECTS,
    "PlaceIdentityTheftFlag": SUBJECTS,
    "LiftIdentityTheftFlag": SUBJECTS,
    "GetIdentityTheftFlag": SUBJECTS,
    "UseConsent": Services("lookup"),
    "ReleaseConsentUse": Services("lookup"),
    "CheckCreditBlock": Services("lookup"),
}


class ConsentServicer(consent_service_pb2_grpc.ConsentServiceServicer):
    def __init__(self, consents: Consents, pages: paging.PageTokens) -> None:
        self._consents = consents
        self._pages = pages

    async def GrantConsent(
        self,
        request: pb.GrantConsentRequest,
        context: grpc.aio.ServicerContext[pb.GrantConsentRequest, pb.GrantConsentResponse],
    ) -> pb.GrantConsentResponse:
        subject = require_subject()
        violations = Violations()
        institution = fields.organization_number(violations, "institution.value", request.institution.value)
        scope, validity, max_uses = _terms(request, violations)
        fields.text(violations, "request_id", request.request_id, maximum=MAX_ID_LENGTH)
        violations.raise_if_any()
        consent = await self._consents.grant(
            subject.identity_number,
            ConsentRequest(institution, scope, validity, max_uses),
            request.request_id or uuid.uuid4().hex,  # without one, a grant is never a retry
            request.SerializeToString(deterministic=True),
        )
        return pb.GrantConsentResponse(consent=consent_to_proto(consent, now()))

    async def ListConsents(
        self,
        request: pb.ListConsentsRequest,
        context: grpc.aio.ServicerContext[pb.ListConsentsRequest, pb.ListConsentsResponse],
    ) -> pb.ListConsentsResponse:
        subject = require_subject()
        size = paging.page_size(request.page_size, default=20, maximum=100)
        before = self._pages.newest_first_after(request.page_token)
        found = await self._consents.list(subject.identity_number, before, size + 1)
        page, token = self._pages.newest_first_page(found, size, lambda r: (r.create_time, r.id))
        moment = now()
        return pb.ListConsentsResponse(consents=[consent_to_proto(c, moment) for c in page], next_page_token=token)

    async def ListConsentUses(
        self,
        request: pb.ListConsentUsesRequest,
        context: grpc.aio.ServicerContext[pb.ListConsentUsesRequest, pb.ListConsentUsesResponse],
    ) -> pb.ListConsentUsesResponse:
        subject = require_subject()
        consent_id = fields.uuid_of("consent_id", request.consent_id, "a consent id")
        size = paging.page_size(request.page_size, default=20, maximum=100)
        before = _use_position(self._pages.decode(request.page_token))
        consent, found = await self._consents.uses(subject.identity_number, consent_id, before, size + 1)
        page, token = found[:size], ""
        if len(found) > size:
            token = self._pages.encode({"time": page[-1].use_time.isoformat(), "disclosure": page[-1].disclosure_id})
        return pb.ListConsentUsesResponse(uses=[use_to_proto(consent, u) for u in page], next_page_token=token)

    async def WithdrawConsent(
        self,
        request: pb.WithdrawConsentRequest,
        context: grpc.aio.ServicerContext[pb.WithdrawConsentRequest, pb.WithdrawConsentResponse],
    ) -> pb.WithdrawConsentResponse:
        subject = require_subject()
        consent_id = fields.uuid_of("consent_id", request.consent_id, "a consent id")
        consent = await self._consents.withdraw(subject.identity_number, consent_id)
        return pb.WithdrawConsentResponse(consent=consent_to_proto(consent, now()))

    async def RegisterConsent(
        self,
        request: pb.RegisterConsentRequest,
        context: grpc.aio.ServicerContext[pb.RegisterConsentRequest, pb.RegisterConsentResponse],
    ) -> pb.RegisterConsentResponse:
        institution = require_institution()
        violations = Violations()
        fields.identity_number(violations, "subject.value", request.subject.value)
        fields.text(
            violations, "institution_consent_id", request.institution_consent_id, maximum=MAX_ID_LENGTH, required=True
        )
        scope, validity, max_uses = _terms(request, violations)
        violations.raise_if_any()
        consent, created = await self._consents.register(
            request.subject.value,
            ConsentRequest(institution.organization_number, scope, validity, max_uses),
            request.institution_consent_id,
            request.SerializeToString(deterministic=True),
        )
        return pb.RegisterConsentResponse(consent=consent_to_proto(consent, now()), created=created)

    async def GetConsent(
        self,
        request: pb.GetConsentRequest,
        context: grpc.aio.ServicerContext[pb.GetConsentRequest, pb.GetConsentResponse],
    ) -> pb.GetConsentResponse:
        institution = require_institution()
        consent = await self._consents.of_institution(institution.organization_number, *_either_id(request))
        return pb.GetConsentResponse(consent=consent_to_proto(consent, now()))

    async def EndConsent(
        self,
        request: pb.EndConsentRequest,
        context: grpc.aio.ServicerContext[pb.EndConsentRequest, pb.EndConsentResponse],
    ) -> pb.EndConsentResponse:
        institution = require_institution()
        consent = await self._consents.end(institution.organization_number, *_either_id(request))
        return pb.EndConsentResponse(consent=consent_to_proto(consent, now()))

    async def ListConsentEvents(
        self,
        request: pb.ListConsentEventsRequest,
        context: grpc.aio.ServicerContext[pb.ListConsentEventsRequest, pb.ListConsentEventsResponse],
    ) -> pb.ListConsentEventsResponse:
        institution = require_institution()
        after = paging.after_position(request.after_position)
        size = paging.page_size(request.page_size, default=100, maximum=1000)
        feed = await self._consents.feed(institution.organization_number, after, size)
        moment = now()
        events = []
        for event in feed.events:
            message = consent_pb2.ConsentEvent(
                position=event.position,
                type=EVENT_TO_PROTO[event.type],
                event_time=to_proto(event.event_time),
                disclosure_id=event.disclosure_id,
            )
            if event.consent_id in feed.consents:
                message.consent.CopyFrom(consent_to_proto(feed.consents[event.consent_id], moment))
            events.append(message)
        return pb.ListConsentEventsResponse(
            events=events, next_after_position=feed.next_after, first_kept_position=feed.first_kept
        )

    async def PlaceCreditBlock(
        self,
        request: pb.PlaceCreditBlockRequest,
        context: grpc.aio.ServicerContext[pb.PlaceCreditBlockRequest, pb.PlaceCreditBlockResponse],
    ) -> pb.PlaceCreditBlockResponse:
        subject = require_subject()
        return pb.PlaceCreditBlockResponse(
            credit_block=_block(await self._consents.place_block(subject.identity_number))
        )

    async def LiftCreditBlock(
        self,
        request: pb.LiftCreditBlockRequest,
        context: grpc.aio.ServicerContext[pb.LiftCreditBlockRequest, pb.LiftCreditBlockResponse],
    ) -> pb.LiftCreditBlockResponse:
        subject = require_subject()
        await self._consents.lift_block(subject.identity_number)
        return pb.LiftCreditBlockResponse(credit_block=_block(None))

    async def GetCreditBlock(
        self,
        request: pb.GetCreditBlockRequest,
        context: grpc.aio.ServicerContext[pb.GetCreditBlockRequest, pb.GetCreditBlockResponse],
    ) -> pb.GetCreditBlockResponse:
        subject = require_subject()
        return pb.GetCreditBlockResponse(
            credit_block=_block(await self._consents.blocked_since(subject.identity_number))
        )

    async def PlaceIdentityTheftFlag(
        self,
        request: pb.PlaceIdentityTheftFlagRequest,
        context: grpc.aio.ServicerContext[pb.PlaceIdentityTheftFlagRequest, pb.PlaceIdentityTheftFlagResponse],
    ) -> pb.PlaceIdentityTheftFlagResponse:
        subject = require_subject()
        violations = Violations()
        end = fields.timestamp(violations, "end_time", request.end_time) if request.HasField("end_time") else None
        violations.raise_if_any()
        flag = await self._consents.place_flag(subject.identity_number, end)
        return pb.PlaceIdentityTheftFlagResponse(identity_theft_flag=_flag(flag))

    async def LiftIdentityTheftFlag(
        self,
        request: pb.LiftIdentityTheftFlagRequest,
        context: grpc.aio.ServicerContext[pb.LiftIdentityTheftFlagRequest, pb.LiftIdentityTheftFlagResponse],
    ) -> pb.LiftIdentityTheftFlagResponse:
        subject = require_subject()
        await self._consents.lift_flag(subject.identity_number)
        return pb.LiftIdentityTheftFlagResponse(identity_theft_flag=_flag(None))

    async def GetIdentityTheftFlag(
        self,
        request: pb.GetIdentityTheftFlagRequest,
        context: grpc.aio.ServicerContext[pb.GetIdentityTheftFlagRequest, pb.GetIdentityTheftFlagResponse],
    ) -> pb.GetIdentityTheftFlagResponse:
        subject = require_subject()
        flag = await self._consents.flag(subject.identity_number)
        return pb.GetIdentityTheftFlagResponse(identity_theft_flag=_flag(flag))

    async def UseConsent(
        self,
        request: pb.UseConsentRequest,
        context: grpc.aio.ServicerContext[pb.UseConsentRequest, pb.UseConsentResponse],
    ) -> pb.UseConsentResponse:
        violations = Violations()
        fields.identity_number(violations, "subject.value", request.subject.value)
        institution = fields.organization_number(violations, "institution.value", request.institution.value)
        scope = _scope(request.scope, violations)
        if not 0 < len(request.disclosure_id) <= MAX_ID_LENGTH:
            violations.add("disclosure_id", "is required, at most 64 characters")
        if len(request.application_reference) > MAX_ID_LENGTH:
            violations.add("application_reference", "must be at most 64 characters")
        violations.raise_if_any()
        consent, standing = await self._consents.use(
            request.subject.value, institution, scope, request.disclosure_id, request.application_reference
        )
        if consent is None:
            return pb.UseConsentResponse(credit_blocked=True, identity_theft_flag=_flag(standing.flag))
        return pb.UseConsentResponse(consent=consent_to_proto(consent, now()), identity_theft_flag=_flag(standing.flag))

    async def ReleaseConsentUse(
        self,
        request: pb.ReleaseConsentUseRequest,
        context: grpc.aio.ServicerContext[pb.ReleaseConsentUseRequest, pb.ReleaseConsentUseResponse],
    ) -> pb.ReleaseConsentUseResponse:
        violations = Violations()
        fields.text(violations, "disclosure_id", request.disclosure_id, maximum=MAX_ID_LENGTH, required=True)
        violations.raise_if_any()
        return pb.ReleaseConsentUseResponse(released=await self._consents.release(request.disclosure_id))

    async def CheckCreditBlock(
        self,
        request: pb.CheckCreditBlockRequest,
        context: grpc.aio.ServicerContext[pb.CheckCreditBlockRequest, pb.CheckCreditBlockResponse],
    ) -> pb.CheckCreditBlockResponse:
        violations = Violations()
        fields.identity_number(violations, "subject.value", request.subject.value)
        violations.raise_if_any()
        standing = await self._consents.standing(request.subject.value)
        return pb.CheckCreditBlockResponse(
            credit_blocked=standing.blocked_since is not None, identity_theft_flag=_flag(standing.flag)
        )


def _use_position(position: dict[str, Any] | None) -> tuple[datetime, str] | None:
    """The last use of the previous page, from its token."""
    if position is None:
        return None
    try:
        return datetime.fromisoformat(position["time"]), str(position["disclosure"])
    except (KeyError, ValueError, TypeError):
        raise paging.not_ours() from None
