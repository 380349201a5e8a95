"""Consents an institution registers (the integrated flow), checks and ends; the institutions' consent event feed;
credit blocks (DOM-10, DOM-12)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable

import grpc
import pytest
from gjeld.consent.v1 import consent_pb2, consent_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_shared import errors
from gjeld_tools.testing import CO_BORROWER, LENDER, PERSON, Registry, eventually, grant, reason
from google.protobuf import duration_pb2


@pytest.fixture
async def registry(services: Callable[..., Awaitable[Registry]]) -> Registry:
    """consent alone: it calls no other service."""
    return await services("consent")


OTHER_LENDER = "922333444"


def register(
    own_id: str,
    subject: str = PERSON,
    scope: int = consent_pb2.CONSENT_SCOPE_PROCESSING,
    seconds: int | None = 7 * 86400,
) -> consent_service_pb2.RegisterConsentRequest:
    request = consent_service_pb2.RegisterConsentRequest(
        subject=identity_pb2.NationalIdentityNumber(value=subject), institution_consent_id=own_id, scope=scope
    )
    if seconds is not None:
        request.validity.CopyFrom(duration_pb2.Duration(seconds=seconds))
    return request


def use(reference: str = "", subject: str = PERSON) -> consent_service_pb2.UseConsentRequest:
    return consent_service_pb2.UseConsentRequest(
        subject=identity_pb2.NationalIdentityNumber(value=subject),
        institution=identity_pb2.OrganizationNumber(value=LENDER),
        scope=consent_pb2.CONSENT_SCOPE_PROCESSING,
        disclosure_id=str(uuid.uuid4()),
        application_reference=reference,
    )


async def test_registering_the_same_consent_id_again_returns_the_same_consent(registry: Registry) -> None:
    lender = registry.as_institution(LENDER)
    first = await registry.consent().RegisterConsent(register("bank-consent-1"), metadata=lender)
    again = await registry.consent().RegisterConsent(register("bank-consent-1"), metadata=lender)
    assert first.created and not again.created
    assert again.consent.id == first.consent.id
    assert first.consent.origin == consent_pb2.CONSENT_ORIGIN_INSTITUTION
    assert first.consent.institution_consent_id == "bank-consent-1"
    # The subject sees it among their consents, registered by the institution.
    listed = await registry.consent().ListConsents(
        consent_service_pb2.ListConsentsRequest(), metadata=registry.as_subject(PERSON)
    )
    assert [c.id for c in listed.consents] == [first.consent.id]
    # Another institution may use the same id for its own consent.
    other = await registry.consent().RegisterConsent(
        register("bank-consent-1"), metadata=registry.as_institution(OTHER_LENDER)
    )
    assert other.created and other.consent.id != first.consent.id


@pytest.mark.parametrize(
    "changed",
    [
        register("bank-consent-1", scope=consent_pb2.CONSENT_SCOPE_PRESENTATION),
        register("bank-consent-1", seconds=86400),
        register("bank-consent-1", subject=CO_BORROWER),
    ],
    ids=["other scope", "other validity", "other subject"],
)
async def test_the_same_consent_id_with_other_data_is_refused(
    registry: Registry, changed: consent_service_pb2.RegisterConsentRequest
) -> None:
    lender = registry.as_institution(LENDER)
    await registry.consent().RegisterConsent(register("bank-consent-1"), metadata=lender)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.consent().RegisterConsent(changed, metadata=lender)
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert reason(refused.value) == "CONSENT_ID_REUSED"
    assert CO_BORROWER not in (refused.value.details() or "")


async def test_registration_names_every_bad_field(registry: Registry) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.consent().RegisterConsent(
            consent_service_pb2.RegisterConsentRequest(
                subject=identity_pb2.NationalIdentityNumber(value=PERSON[:-1] + "0"),
                validity=duration_pb2.Duration(seconds=400 * 86400),
            ),
            metadata=registry.as_institution(LENDER),
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in errors.decode(refused.value).field_violations} == {
        "subject.value",
        "institution_consent_id",
        "scope",
    }
    # Only institutions with the lookup scope register consents.
    with pytest.raises(grpc.aio.AioRpcError) as subject:
        await registry.consent().RegisterConsent(register("x"), metadata=registry.as_subject(PERSON))
    assert subject.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_presentation_lasts_up_to_365_days_and_processing_up_to_28(registry: Registry) -> None:
    lender = registry.as_institution(LENDER)
    year = await registry.consent().RegisterConsent(
        register("p-365", scope=consent_pb2.CONSENT_SCOPE_PRESENTATION, seconds=365 * 86400), metadata=lender
    )
    assert year.consent.expire_time.seconds - year.consent.create_time.seconds == 365 * 86400
    for own_id, scope, days in [
        ("p-366", consent_pb2.CONSENT_SCOPE_PRESENTATION, 366),
        ("c-29", consent_pb2.CONSENT_SCOPE_PROCESSING, 29),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await registry.consent().RegisterConsent(
                register(own_id, scope=scope, seconds=days * 86400), metadata=lender
            )
        assert [v.field for v in errors.decode(refused.value).field_violations] == ["validity"]
    default = await registry.consent().RegisterConsent(register("default", seconds=None), metadata=lender)
    assert default.consent.max_uses == 1
    assert 599 <= default.consent.expire_time.seconds - default.consent.create_time.seconds <= 600


async def test_an_institution_checks_and_ends_its_own_consents_only(registry: Registry) -> None:
    lender = registry.as_institution(LENDER)
    registered = (await registry.consent().RegisterConsent(register("to-end"), metadata=lender)).consent
    await registry.consent().UseConsent(use("APP-1"), metadata=registry.as_service("lookup"))
    by_own_id = await registry.consent().GetConsent(
        consent_service_pb2.GetConsentRequest(institution_consent_id="to-end"), metadata=lender
    )
    assert by_own_id.consent.state == consent_pb2.CONSENT_STATE_ACTIVE
    [used] = by_own_id.consent.uses
    assert (used.institution.value, used.scope, used.application_reference) == (
        LENDER,
        consent_pb2.CONSENT_SCOPE_PROCESSING,
        "APP-1",
    )
    with pytest.raises(grpc.aio.AioRpcError) as not_theirs:
        await registry.consent().GetConsent(
            consent_service_pb2.GetConsentRequest(consent_id=registered.id),
            metadata=registry.as_institution(OTHER_LENDER),
        )
    assert not_theirs.value.code() == grpc.StatusCode.NOT_FOUND
    ended = await registry.consent().EndConsent(
        consent_service_pb2.EndConsentRequest(consent_id=registered.id), metadata=lender
    )
    assert ended.consent.state == consent_pb2.CONSENT_STATE_ENDED and ended.consent.HasField("end_time")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.consent().UseConsent(use(), metadata=registry.as_service("lookup"))
    assert reason(refused.value) == "CONSENT_ENDED"
    again = await registry.consent().EndConsent(
        consent_service_pb2.EndConsentRequest(institution_consent_id="to-end"), metadata=lender
    )
    assert again.consent.end_time == ended.consent.end_time


async def test_an_expired_consent_is_refused(registry: Registry) -> None:
    await grant(registry, days=1 / 86400)  # one second
    await asyncio.sleep(1.1)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.consent().UseConsent(use(), metadata=registry.as_service("lookup"))
    assert reason(refused.value) == "CONSENT_EXPIRED"


async def events(registry: Registry, after: int = 0, size: int = 0) -> consent_service_pb2.ListConsentEventsResponse:
    return await registry.consent().ListConsentEvents(
        consent_service_pb2.ListConsentEventsRequest(after_position=after, page_size=size),
        metadata=registry.as_institution(LENDER),
    )


async def test_the_feed_replays_every_event_in_order_without_gaps(registry: Registry) -> None:
    lender = registry.as_institution(LENDER)
    granted = await grant(registry)  # created
    await registry.consent().UseConsent(use(), metadata=registry.as_service("lookup"))  # used
    await registry.consent().WithdrawConsent(
        consent_service_pb2.WithdrawConsentRequest(consent_id=granted.id), metadata=registry.as_subject(PERSON)
    )  # withdrawn
    registered = (await registry.consent().RegisterConsent(register("feed-1"), metadata=lender)).consent  # created
    await registry.consent().EndConsent(
        consent_service_pb2.EndConsentRequest(consent_id=registered.id), metadata=lender
    )  # ended
    short = await grant(registry, days=1 / 86400)  # created, then expired by housekeeping
    await grant(registry, institution=OTHER_LENDER)  # another institution's feed
    # A refused use (no active consent) and a retry of a grant add nothing.
    with pytest.raises(grpc.aio.AioRpcError):
        await registry.consent().UseConsent(use(subject=CO_BORROWER), metadata=registry.as_service("lookup"))

    async def expired() -> list[consent_pb2.ConsentEvent]:
        feed = await events(registry)
        return list(feed.events) if len(feed.events) == 7 else []

    everything = await eventually(expired, timeout=10)
    assert [e.position for e in everything] == list(range(1, 8))
    assert [(e.type, e.consent.id) for e in everything] == [
        (consent_pb2.CONSENT_EVENT_TYPE_CREATED, granted.id),
        (consent_pb2.CONSENT_EVENT_TYPE_USED, granted.id),
        (consent_pb2.CONSENT_EVENT_TYPE_WITHDRAWN, granted.id),
        (consent_pb2.CONSENT_EVENT_TYPE_CREATED, registered.id),
        (consent_pb2.CONSENT_EVENT_TYPE_ENDED, registered.id),
        (consent_pb2.CONSENT_EVENT_TYPE_CREATED, short.id),
        (consent_pb2.CONSENT_EVENT_TYPE_EXPIRED, short.id),
    ]
    assert everything[1].disclosure_id
    # A reader catches up page by page from the last position it saw.
    seen, after = [], 0
    while True:
        page = await events(registry, after=after, size=3)
        if not page.events:
            break
        seen += [e.position for e in page.events]
        after = page.next_after_position
    assert seen == list(range(1, 8)) and after == 7
    assert (await events(registry, after=7)).next_after_position == 7
    assert (await events(registry)).first_kept_position == 1
    # The feed carries no identity number.
    assert PERSON.encode() not in (await events(registry)).SerializeToString()


async def test_concurrent_events_keep_the_feed_contiguous(registry: Registry) -> None:
    await asyncio.gather(*(grant(registry) for _ in range(20)))
    feed = await events(registry, size=1000)
    assert [e.position for e in feed.events] == list(range(1, 21))


async def test_a_credit_block_stops_every_use_until_lifted(registry: Registry) -> None:
    # DOM-12. Breaking it (UseConsent not looking at blocks) fails here: the use would be recorded.
    subject = registry.as_subject(PERSON)
    consent = await grant(registry)
    placed = await registry.consent().PlaceCreditBlock(consent_service_pb2.PlaceCreditBlockRequest(), metadata=subject)
    assert placed.credit_block.blocked
    again = await registry.consent().PlaceCreditBlock(consent_service_pb2.PlaceCreditBlockRequest(), metadata=subject)
    assert again.credit_block.create_time == placed.credit_block.create_time
    blocked = await registry.consent().UseConsent(use(), metadata=registry.as_service("lookup"))
    assert blocked.credit_blocked and not blocked.HasField("consent")
    check = await registry.consent().CheckCreditBlock(
        consent_service_pb2.CheckCreditBlockRequest(subject=identity_pb2.NationalIdentityNumber(value=PERSON)),
        metadata=registry.as_service("lookup"),
    )
    assert check.credit_blocked
    listed = await registry.consent().ListConsents(consent_service_pb2.ListConsentsRequest(), metadata=subject)
    assert [len(c.uses) for c in listed.consents] == [0]
    # Another person is not blocked.
    other = await registry.consent().GetCreditBlock(
        consent_service_pb2.GetCreditBlockRequest(), metadata=registry.as_subject(CO_BORROWER)
    )
    assert not other.credit_block.blocked
    await registry.consent().LiftCreditBlock(consent_service_pb2.LiftCreditBlockRequest(), metadata=subject)
    used = await registry.consent().UseConsent(use(), metadata=registry.as_service("lookup"))
    assert not used.credit_blocked and used.consent.id == consent.id
