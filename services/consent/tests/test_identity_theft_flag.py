"""A subject's identity-theft flag (issue 17): placed and lifted by the subject, with an end; while it stands, every
use of a consent and every check of a bureau's lookup carries it, so that lookup warns the lender and has the subject
alerted."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import grpc
import pytest
from gjeld.consent.v1 import consent_pb2, consent_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_consent.adapters import retention
from gjeld_shared import errors
from gjeld_shared.retention import prune
from gjeld_shared.timestamps import from_proto, now, to_proto
from gjeld_shared.translations import NORWAY, through
from gjeld_tools.testing import CO_BORROWER, LENDER, PERSON, Registry, grant, service_engine

pb = consent_service_pb2


@pytest.fixture
async def registry(services: Callable[..., Awaitable[Registry]]) -> Registry:
    """consent alone: it calls no other service."""
    return await services("consent")


def use(subject: str = PERSON) -> pb.UseConsentRequest:
    return pb.UseConsentRequest(
        subject=identity_pb2.NationalIdentityNumber(value=subject),
        institution=identity_pb2.OrganizationNumber(value=LENDER),
        scope=consent_pb2.CONSENT_SCOPE_PROCESSING,
        disclosure_id=str(uuid.uuid4()),
    )


def check(subject: str = PERSON) -> pb.CheckCreditBlockRequest:
    return pb.CheckCreditBlockRequest(subject=identity_pb2.NationalIdentityNumber(value=subject))


async def test_a_flag_stands_until_its_end_and_every_lookup_carries_it(registry: Registry) -> None:
    consent, lookup, subject = registry.consent(), registry.as_service("lookup"), registry.as_subject(PERSON)
    await grant(registry, max_uses=3)
    before = await consent.UseConsent(use(), metadata=lookup)
    assert not before.identity_theft_flag.flagged

    placed = await consent.PlaceIdentityTheftFlag(pb.PlaceIdentityTheftFlagRequest(), metadata=subject)
    flag = placed.identity_theft_flag
    assert flag.flagged
    # 90 days unless the subject says otherwise.
    period = from_proto(flag.end_time) - from_proto(flag.create_time)
    assert timedelta(days=90) - timedelta(seconds=5) < period <= timedelta(days=90)

    used = await consent.UseConsent(use(), metadata=lookup)
    assert used.identity_theft_flag.flagged and used.consent.id  # the lookup goes on, warned
    assert used.identity_theft_flag.end_time == flag.end_time
    checked = await consent.CheckCreditBlock(check(), metadata=lookup)  # a bureau's lookup (no consent)
    assert checked.identity_theft_flag.flagged and not checked.credit_blocked
    # Only this person's.
    assert not (await consent.CheckCreditBlock(check(CO_BORROWER), metadata=lookup)).identity_theft_flag.flagged

    # Placed again with an end of the subject's choosing: the end moves, the flag is the same one.
    later = pb.PlaceIdentityTheftFlagRequest(end_time=to_proto(now() + timedelta(days=200)))
    moved = (await consent.PlaceIdentityTheftFlag(later, metadata=subject)).identity_theft_flag
    assert moved.create_time == flag.create_time and moved.end_time == later.end_time
    got = await consent.GetIdentityTheftFlag(pb.GetIdentityTheftFlagRequest(), metadata=subject)
    assert got.identity_theft_flag == moved

    await consent.LiftIdentityTheftFlag(pb.LiftIdentityTheftFlagRequest(), metadata=subject)
    assert not (await consent.UseConsent(use(), metadata=lookup)).identity_theft_flag.flagged
    assert not (await consent.CheckCreditBlock(check(), metadata=lookup)).identity_theft_flag.flagged
    got = await consent.GetIdentityTheftFlag(pb.GetIdentityTheftFlagRequest(), metadata=subject)
    assert not got.identity_theft_flag.flagged and not got.identity_theft_flag.HasField("end_time")


async def test_a_flag_past_its_end_no_longer_stands_and_is_forgotten(registry: Registry) -> None:
    consent, lookup, subject = registry.consent(), registry.as_service("lookup"), registry.as_subject(PERSON)
    await grant(registry)
    await consent.PlaceIdentityTheftFlag(pb.PlaceIdentityTheftFlagRequest(), metadata=subject)
    # Placed 100 days ago, ended a second ago.
    await registry.fetch(
        "UPDATE consent.identity_theft_flags"
        " SET create_time = now() - interval '100 days', end_time = now() - interval '1 second'"
    )

    assert not (await consent.UseConsent(use(), metadata=lookup)).identity_theft_flag.flagged
    assert not (await consent.CheckCreditBlock(check(), metadata=lookup)).identity_theft_flag.flagged
    got = await consent.GetIdentityTheftFlag(pb.GetIdentityTheftFlagRequest(), metadata=subject)
    assert not got.identity_theft_flag.flagged

    # Placed again after its end, it is a new flag (placed now, not when the old one was).
    placed = await consent.PlaceIdentityTheftFlag(pb.PlaceIdentityTheftFlagRequest(), metadata=subject)
    assert now() - from_proto(placed.identity_theft_flag.create_time) < timedelta(seconds=30)
    await registry.fetch("UPDATE consent.identity_theft_flags SET end_time = now() - interval '1 second'")

    engine = service_engine(registry.socket, "consent", registry.database)
    try:
        pruned = await prune(engine, retention(timedelta(days=400)))
    finally:
        await engine.dispose()
    assert pruned["identity-theft flags past their end"] == 1
    assert (await registry.fetch("SELECT count(*) AS n FROM consent.identity_theft_flags"))[0]["n"] == 0


@pytest.mark.parametrize("days", [-1, 0, 368])
async def test_an_end_now_past_or_beyond_a_year_is_refused_naming_the_field(registry: Registry, days: int) -> None:
    request = pb.PlaceIdentityTheftFlagRequest(end_time=to_proto(now() + timedelta(days=days)))
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.consent().PlaceIdentityTheftFlag(request, metadata=registry.as_subject(PERSON))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in errors.decode(refused.value).field_violations] == ["end_time"]
    assert (await registry.fetch("SELECT count(*) AS n FROM consent.identity_theft_flags"))[0]["n"] == 0


@pytest.mark.parametrize("years", [0, 1])
async def test_a_flag_may_last_through_today_or_through_the_same_day_a_year_ahead(
    registry: Registry, years: int
) -> None:
    # What Min gjeld and the CLI send for a day chosen: the midnight after it in Norway. "At most a year ahead" is the
    # same day next year, to its end (counted as 365 days from now, it was refused).
    today = now().astimezone(NORWAY).date()
    try:
        day = today.replace(year=today.year + years)
    except ValueError:  # 29 February, a year ahead
        day = today.replace(year=today.year + years, day=28)
    end = through(day.isoformat())
    request = pb.PlaceIdentityTheftFlagRequest(end_time=to_proto(end))
    placed = await registry.consent().PlaceIdentityTheftFlag(request, metadata=registry.as_subject(PERSON))
    assert from_proto(placed.identity_theft_flag.end_time) == end
