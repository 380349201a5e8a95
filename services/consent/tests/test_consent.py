"""consent through real gRPC on a real database (DOM-10)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import grpc
import pytest
from gjeld.consent.v1 import consent_pb2, consent_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_shared import errors
from gjeld_tools.testing import CO_BORROWER, DENIED, LENDER, PERSON, Registry, grant, reason
from google.protobuf import duration_pb2


@pytest.fixture
async def registry(services: Callable[..., Awaitable[Registry]]) -> Registry:
    """consent alone: it calls no other service."""
    return await services("consent")


def use(subject: str = PERSON, disclosure_id: str | None = None) -> consent_service_pb2.UseConsentRequest:
    return consent_service_pb2.UseConsentRequest(
        subject=identity_pb2.NationalIdentityNumber(value=subject),
        institution=identity_pb2.OrganizationNumber(value=LENDER),
        scope=consent_pb2.CONSENT_SCOPE_PROCESSING,
        disclosure_id=disclosure_id or str(uuid.uuid4()),
    )


async def test_by_default_a_consent_allows_one_use_within_ten_minutes(registry: Registry) -> None:
    consent = await grant(registry, days=None)
    assert consent.max_uses == 1
    assert 599 <= consent.expire_time.seconds - consent.create_time.seconds <= 600
    as_lookup = registry.as_service("lookup")
    first = await registry.consent().UseConsent(use(), metadata=as_lookup)
    assert first.consent.id == consent.id and first.consent.use_count == 1
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.consent().UseConsent(use(), metadata=as_lookup)
    assert reason(refused.value) == "CONSENT_USED_UP"


async def test_a_retried_use_records_no_second_use(registry: Registry) -> None:
    await grant(registry, days=None)
    request = use(disclosure_id="the-same-lookup")
    await registry.consent().UseConsent(request, metadata=registry.as_service("lookup"))
    again = await registry.consent().UseConsent(request, metadata=registry.as_service("lookup"))
    assert again.consent.use_count == 1


async def test_processing_lasts_at_most_28_days(registry: Registry) -> None:
    request = consent_service_pb2.GrantConsentRequest(
        institution=identity_pb2.OrganizationNumber(value=LENDER),
        scope=consent_pb2.CONSENT_SCOPE_PROCESSING,
        validity=duration_pb2.Duration(seconds=29 * 86400),
        request_id="r1",
    )
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.consent().GrantConsent(request, metadata=registry.as_subject(PERSON))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in errors.decode(refused.value).field_violations] == ["validity"]


async def test_grant_names_every_missing_field(registry: Registry) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.consent().GrantConsent(
            consent_service_pb2.GrantConsentRequest(), metadata=registry.as_subject(PERSON)
        )
    assert {v.field for v in errors.decode(refused.value).field_violations} == {"institution.value", "scope"}
    # The request id is optional (AIP-155), but one too long is named.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.consent().GrantConsent(
            consent_service_pb2.GrantConsentRequest(request_id="x" * 65), metadata=registry.as_subject(PERSON)
        )
    assert "request_id" in {v.field for v in errors.decode(refused.value).field_violations}


async def test_a_retried_grant_returns_the_same_consent(registry: Registry) -> None:
    request = consent_service_pb2.GrantConsentRequest(
        institution=identity_pb2.OrganizationNumber(value=LENDER),
        scope=consent_pb2.CONSENT_SCOPE_PROCESSING,
        request_id="grant-once",
    )
    first = await registry.consent().GrantConsent(request, metadata=registry.as_subject(PERSON))
    again = await registry.consent().GrantConsent(request, metadata=registry.as_subject(PERSON))
    assert again.consent.id == first.consent.id
    request.scope = consent_pb2.CONSENT_SCOPE_PRESENTATION
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await registry.consent().GrantConsent(request, metadata=registry.as_subject(PERSON))
    assert reused.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_the_subject_lists_and_withdraws_only_their_own(registry: Registry) -> None:
    mine = await grant(registry)
    await grant(registry, subject=CO_BORROWER)
    listed = await registry.consent().ListConsents(
        consent_service_pb2.ListConsentsRequest(), metadata=registry.as_subject(PERSON)
    )
    assert [c.id for c in listed.consents] == [mine.id]
    with pytest.raises(grpc.aio.AioRpcError) as not_theirs:
        await registry.consent().WithdrawConsent(
            consent_service_pb2.WithdrawConsentRequest(consent_id=mine.id), metadata=registry.as_subject(CO_BORROWER)
        )
    assert not_theirs.value.code() == grpc.StatusCode.NOT_FOUND
    withdrawn = await registry.consent().WithdrawConsent(
        consent_service_pb2.WithdrawConsentRequest(consent_id=mine.id), metadata=registry.as_subject(PERSON)
    )
    assert withdrawn.consent.state == consent_pb2.CONSENT_STATE_WITHDRAWN
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.consent().UseConsent(use(), metadata=registry.as_service("lookup"))
    assert reason(refused.value) == "CONSENT_WITHDRAWN"


async def test_pages_of_consents(registry: Registry) -> None:
    granted = [await grant(registry) for _ in range(3)]
    seen, token = [], ""
    while True:
        page = await registry.consent().ListConsents(
            consent_service_pb2.ListConsentsRequest(page_size=2, page_token=token), metadata=registry.as_subject(PERSON)
        )
        seen += [c.id for c in page.consents]
        token = page.next_page_token
        if not token:
            break
    assert seen == [c.id for c in reversed(granted)]


async def test_only_lookup_may_use_a_consent(registry: Registry) -> None:
    await grant(registry)
    for caller in (registry.as_institution(LENDER), registry.as_subject(PERSON)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await registry.consent().UseConsent(use(), metadata=caller)
        assert refused.value.code() in DENIED


async def test_a_disclosure_id_used_with_another_consent_is_already_exists(registry: Registry) -> None:
    # A disclosure id names one lookup; used again for another subject's consent it is refused, not INTERNAL.
    await grant(registry, days=28)
    await grant(registry, subject=CO_BORROWER, days=28)
    as_lookup = registry.as_service("lookup")
    await registry.consent().UseConsent(use(disclosure_id="d-1"), metadata=as_lookup)
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await registry.consent().UseConsent(use(subject=CO_BORROWER, disclosure_id="d-1"), metadata=as_lookup)
    assert reused.value.code() == grpc.StatusCode.ALREADY_EXISTS and reason(reused.value) == "DISCLOSURE_ID_REUSED"


async def test_a_much_used_consent_counts_every_use_and_lists_them_page_by_page(registry: Registry) -> None:
    # A consent used for years must not grow its messages: it comes with its count and latest uses, and the rest
    # are paged. Breaking it (loading every use with the consent) fails here.
    consent = await grant(registry, days=28, max_uses=None)
    as_lookup = registry.as_service("lookup")
    for n in range(25):
        await registry.consent().UseConsent(use(disclosure_id=f"d-{n:02}"), metadata=as_lookup)
    person = registry.as_subject(PERSON)
    [listed] = (
        await registry.consent().ListConsents(consent_service_pb2.ListConsentsRequest(), metadata=person)
    ).consents
    assert listed.use_count == 25 and [u.disclosure_id for u in listed.uses] == [f"d-{n:02}" for n in range(15, 25)]
    seen, token = [], ""
    while True:
        page = await registry.consent().ListConsentUses(
            consent_service_pb2.ListConsentUsesRequest(consent_id=consent.id, page_size=10, page_token=token),
            metadata=person,
        )
        seen += [u.disclosure_id for u in page.uses]
        assert all(u.institution.value == LENDER for u in page.uses)
        token = page.next_page_token
        if not token:
            break
    assert seen == [f"d-{n:02}" for n in reversed(range(25))]
    with pytest.raises(grpc.aio.AioRpcError) as not_theirs:
        await registry.consent().ListConsentUses(
            consent_service_pb2.ListConsentUsesRequest(consent_id=consent.id), metadata=registry.as_subject(CO_BORROWER)
        )
    assert not_theirs.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_repeated_disclosure_id_is_no_way_round_a_withdrawn_consent(registry: Registry) -> None:
    # lookup retries a lookup under the same disclosure id; the subject has withdrawn the consent meanwhile, or the
    # retry asks for another application. Breaking it (answering every repeat from its earlier use) fails here.
    consent = await grant(registry, days=28, max_uses=None)
    as_lookup = registry.as_service("lookup")
    first = use(disclosure_id="d-repeat")
    first.application_reference = "APP-1"
    await registry.consent().UseConsent(first, metadata=as_lookup)
    other = use(disclosure_id="d-repeat")
    other.application_reference = "APP-2"
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await registry.consent().UseConsent(other, metadata=as_lookup)
    assert reason(reused.value) == "DISCLOSURE_ID_REUSED"
    assert (await registry.consent().UseConsent(first, metadata=as_lookup)).consent.use_count == 1
    await registry.consent().WithdrawConsent(
        consent_service_pb2.WithdrawConsentRequest(consent_id=consent.id), metadata=registry.as_subject(PERSON)
    )
    with pytest.raises(grpc.aio.AioRpcError) as withdrawn:
        await registry.consent().UseConsent(first, metadata=as_lookup)
    assert reason(withdrawn.value) == "CONSENT_WITHDRAWN"
