"""The delivery worker against a real database and a provider that stalls: no transaction or row lock waits on the
provider, and a database failure after a send undoes no other notice's delivery."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from gjeld_notify.adapters import NoticeUnitOfWork
from gjeld_notify.domain import Channel, Contact, Message
from gjeld_notify.service_layer import DeliveryPolicy, Notices
from gjeld_shared.identity_numbers import SubjectKeys
from gjeld_shared.timestamps import now
from gjeld_tools.testing import PERSON, service_engine

from .test_channels import letter


class StallingProvider:
    """A mailbox provider that takes each message and then answers only when told to."""

    def __init__(self) -> None:
        self.holding = asyncio.Event()
        self.answer = asyncio.Event()
        self.sent: list[uuid.UUID] = []

    async def send(
        self, channel: Channel, notice_id: uuid.UUID, recipient_key: str, contact: Contact, email: str, message: Message
    ) -> None:
        self.sent.append(notice_id)
        self.holding.set()
        await self.answer.wait()


class Register:
    async def contact(self, identity_number: str) -> Contact:
        return Contact("Kari Nordmann", ("Storgata 1", "0155 Oslo"), digital_mailbox=True)


@pytest.fixture
async def engine(postgres: str, database: str) -> AsyncIterator[Any]:
    engine = service_engine(postgres, "notify", database)
    yield engine
    await engine.dispose()


async def test_no_transaction_waits_on_the_provider(postgres: str, database: str, engine: Any) -> None:
    # Breaking it (sending inside the claiming transaction, as before) fails here: the notice's row stays locked
    # and its transaction idle while the provider stalls.
    provider = StallingProvider()
    policy = DeliveryPolicy(timedelta(0), max_attempts=3, send_timeout_seconds=5)
    notices = Notices(lambda: NoticeUnitOfWork(engine), SubjectKeys.generate(), provider, Register(), policy)
    for source in ("d-1", "d-2"):
        await notices.enqueue(source, PERSON, letter())
    worker = asyncio.create_task(notices.deliver_due())
    await asyncio.wait_for(provider.holding.wait(), 5)
    admin = await asyncpg.connect(host=postgres, user="postgres", database=database)
    try:
        idle = await admin.fetchval(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND state LIKE 'idle in transaction%'", database
        )
        async with admin.transaction():
            locked = await admin.fetch("SELECT id FROM notify.notices FOR UPDATE SKIP LOCKED")
        assert idle == 0 and len(locked) == 2
        provider.answer.set()
        assert await asyncio.wait_for(worker, 5) == 2
        states = await admin.fetch("SELECT state, attempts FROM notify.notices")
    finally:
        await admin.close()
    assert [(r["state"], r["attempts"]) for r in states] == [("delivered", 1)] * 2
    assert len(provider.sent) == 2


async def test_a_provider_that_hangs_is_given_up_and_the_notice_retried(engine: Any) -> None:
    provider = StallingProvider()
    policy = DeliveryPolicy(timedelta(0), max_attempts=3, backoff_cap_seconds=0, send_timeout_seconds=0.2)
    notices = Notices(lambda: NoticeUnitOfWork(engine), SubjectKeys.generate(), provider, Register(), policy)
    notice, _ = await notices.enqueue("d-hang", PERSON, letter())
    assert await asyncio.wait_for(notices.deliver_due(), 5) == 1
    [failed] = await notices.of_subject(PERSON, None, 10)
    assert failed.attempts == 1 and failed.last_error.startswith("TimeoutError")
    provider.answer.set()
    assert await notices.deliver_due() == 1
    [delivered] = await notices.of_subject(PERSON, None, 10)
    assert delivered.state.value == "delivered" and delivered.attempts == 2 and provider.sent == [notice.id] * 2


async def test_a_notice_that_kills_every_worker_is_set_aside(engine: Any) -> None:
    # A worker that dies mid-send has counted the attempt: once the last one is gone, the notice is set aside, not
    # taken again for ever. Breaking it (no set-aside of interrupted notices) fails here.
    provider = StallingProvider()
    policy = DeliveryPolicy(timedelta(0), max_attempts=2, send_timeout_seconds=0.05)
    notices = Notices(lambda: NoticeUnitOfWork(engine), SubjectKeys.generate(), provider, Register(), policy)
    await notices.enqueue("d-killer", PERSON, letter())
    for _ in range(2):
        worker = asyncio.create_task(notices.deliver_due())
        await asyncio.wait_for(provider.holding.wait(), 5)
        provider.holding.clear()
        worker.cancel()  # the worker dies before it can record anything
        await asyncio.gather(worker, return_exceptions=True)
        await asyncio.sleep(2 * policy.send_timeout_seconds)  # its claim runs out
    assert await notices.deliver_due() == 0
    [notice] = await notices.failed(None, 10)
    assert notice.attempts == 2 and notice.last_error.startswith("interrupted")
    assert len(provider.sent) == 2


async def test_a_long_letter_does_not_stall_the_event_loop(engine: Any) -> None:
    # A letter of thousands of debt lines takes seconds to draw: drawn on a worker thread, the service's event loop
    # (its health checks, its other calls) keeps turning meanwhile. Breaking it (drawing on the loop) fails here.
    provider = StallingProvider()
    provider.answer.set()
    policy = DeliveryPolicy(timedelta(0), max_attempts=3, send_timeout_seconds=60)
    notices = Notices(lambda: NoticeUnitOfWork(engine), SubjectKeys.generate(), provider, Register(), policy)
    long = letter()
    for _ in range(3_000):
        long.debts.add().charge_card.interest_bearing_balance.minor_units = 12_345_00
    await notices.enqueue("d-long", PERSON, long)
    worker, loop, longest = asyncio.create_task(notices.deliver_due()), asyncio.get_running_loop(), 0.0
    while not worker.done():
        started = loop.time()
        await asyncio.sleep(0.01)
        longest = max(longest, loop.time() - started)
    assert worker.result() == 1 and provider.sent
    assert longest < 0.5, f"the event loop stalled for {longest:.2f} s"


async def test_a_late_outcome_of_a_lapsed_claim_changes_nothing(engine: Any) -> None:
    # A worker whose claim ran out (another took the notice since) records nothing: a late "failed" must not undo
    # the other worker's delivery. Breaking it (outcomes by id alone) fails here.
    notices = Notices(
        lambda: NoticeUnitOfWork(engine),
        SubjectKeys.generate(),
        StallingProvider(),
        Register(),
        DeliveryPolicy(timedelta(0), max_attempts=3),
    )
    notice, _ = await notices.enqueue("d-lapsed", PERSON, letter())
    claims = []
    for _ in range(2):  # claimed, the claim lapses, claimed again
        async with NoticeUnitOfWork(engine) as uow:
            [row] = await uow.notices.claim(now(), now(), 1)
            await uow.commit()
        claims.append(row.attempts)
    async with NoticeUnitOfWork(engine) as uow:
        await uow.notices.delivered(notice.id, claims[1], Channel.DIGITAL_MAILBOX, now())
        await uow.notices.failed(notice.id, claims[0], None, now(), "TimeoutError: late", give_up=True)
        await uow.commit()
    [after] = await notices.of_subject(PERSON, None, 10)
    assert claims == [1, 2] and after.state.value == "delivered" and after.last_error == ""
