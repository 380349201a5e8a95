"""When the database fails under the services: pooled connections a restart broke are replaced before use, and a
database that cannot serve a call is answered UNAVAILABLE (try again), never INTERNAL."""

from __future__ import annotations

import asyncpg
import grpc
import pytest
from gjeld.consent.v1 import consent_service_pb2
from gjeld.ingest.v1 import ingest_service_pb2
from gjeld.lookup.v1 import lookup_service_pb2
from gjeld.notify.v1 import notify_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_tools.testing import BANK, PERSON, Registry, reason

from .test_hostile_input import NEVER


async def test_connections_a_database_restart_broke_are_replaced_before_use(registry: Registry) -> None:
    # What a restart does to every pooled connection: the server ends them. Breaking it (no check of a pooled
    # connection before use) fails here: the first call of each service after it fails.
    calls = (
        lambda: registry.ingest().ListDeliveries(
            ingest_service_pb2.ListDeliveriesRequest(), metadata=registry.as_institution(BANK)
        ),
        lambda: registry.lookup().ListOwnDisclosures(
            lookup_service_pb2.ListOwnDisclosuresRequest(), metadata=registry.as_subject(PERSON)
        ),
        lambda: registry.consent().ListConsents(
            consent_service_pb2.ListConsentsRequest(), metadata=registry.as_subject(PERSON)
        ),
        lambda: registry.notify().ListOwnNotices(
            notify_service_pb2.ListOwnNoticesRequest(), metadata=registry.as_subject(PERSON)
        ),
    )
    for call in calls:  # every pool holds a connection
        await call()
    ended = await registry.fetch(
        "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity"
        f" WHERE datname = '{registry.database}' AND pid <> pg_backend_pid()"
    )
    assert len(ended) >= 4
    for call in calls:
        await call()


async def test_a_database_that_cannot_serve_in_time_is_unavailable_not_internal(registry: Registry) -> None:
    # A statement held past the database's bound (here: an enqueue waiting on a lock another session holds) ends
    # UNAVAILABLE DATABASE_UNAVAILABLE, which a caller may retry. Breaking it (no mapping) fails here: INTERNAL.
    await registry.restart("notify", database_statement_timeout_seconds=0.5)
    holder = await asyncpg.connect(host=registry.socket, user="postgres", database=registry.database)
    try:
        await holder.execute("SELECT pg_advisory_lock(hashtextextended('d-held', 0))")
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await registry.notify().EnqueueNotice(
                notify_service_pb2.EnqueueNoticeRequest(
                    source_id="d-held",
                    subject=identity_pb2.NationalIdentityNumber(value=PERSON),
                    copy_letter={"purpose": "a test", "source": "gjeld"},
                ),
                metadata=registry.as_service("lookup"),
                timeout=10,
            )
    finally:
        await holder.close()
    assert refused.value.code() not in NEVER
    assert refused.value.code() == grpc.StatusCode.UNAVAILABLE and reason(refused.value) == "DATABASE_UNAVAILABLE"
