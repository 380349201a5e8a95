"""Full snapshots (DOM-8), streamed changes and partial acceptance, through real gRPC on a real database."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import grpc
import pytest
from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_shared import errors
from gjeld_tools import synthetic
from gjeld_tools.testing import (
    BANK,
    LENDER,
    PERSON,
    Registry,
    deliver_snapshot,
    demo_changes,
    eventually,
    reason,
    report_demo,
    snapshot_messages,
)

PARTIAL = ingest_pb2.STRICTNESS_PARTIAL


def demo_debts() -> list[ingest_pb2.Debt]:
    return [c.register for c in demo_changes()]


async def held(registry: Registry, creditor: str = BANK) -> list[tuple[str, int | None, int | None]]:
    rows = await registry.fetch(
        f"SELECT account_id, balance, credit_limit FROM ingest.debts WHERE creditor = '{creditor}' ORDER BY 1, 2"
    )
    return [(r["account_id"], r["balance"], r["credit_limit"]) for r in rows]


async def test_a_snapshot_replaces_the_institutions_data_and_deletes_what_it_lacks(registry: Registry) -> None:
    await report_demo(registry)
    other = synthetic.portfolio(5, seed=7)
    await deliver_snapshot(registry, LENDER, other)  # another institution's data is not touched
    debts = demo_debts()
    del debts[2]  # CHARGE-3 is repaid: absent from the snapshot (DOM-8)
    debts[1].credit_facility.credit_limit.minor_units = 1_500_000
    reply = await deliver_snapshot(registry, BANK, debts, per_message=1)
    delivery = reply.delivery
    assert delivery.kind == ingest_pb2.DELIVERY_KIND_SNAPSHOT
    assert (delivery.record_count, delivery.registered_count, delivery.absent_count) == (3, 3, 1)
    assert await held(registry) == [
        ("ACC-001", 32_000_000, None),
        ("ACC-001", 32_000_000, None),
        ("CARD-7", None, 1_500_000),
    ]
    assert len(await held(registry, LENDER)) == 5


async def test_an_empty_snapshot_deletes_everything_the_institution_reported(registry: Registry) -> None:
    await report_demo(registry)
    reply = await deliver_snapshot(registry, BANK, [])
    assert reply.delivery.absent_count == 4
    assert await held(registry) == []


async def test_a_broken_snapshot_stream_changes_nothing_and_is_never_half_visible(registry: Registry) -> None:
    await report_demo(registry)
    before = await held(registry)
    replacement = synthetic.portfolio(3000, seed=3)
    messages = snapshot_messages(replacement, "broken-1", per_message=500)
    halfway = asyncio.Event()
    abandon = asyncio.Event()

    async def stream() -> AsyncIterator[Any]:
        for i, message in enumerate(messages):
            if i == len(messages) // 2:
                halfway.set()
                await abandon.wait()
            yield message

    call = registry.ingest().DeliverSnapshot(stream(), metadata=registry.as_institution(BANK))
    await halfway.wait()
    await asyncio.sleep(0.3)  # the server has staged half the snapshot by now
    assert await held(registry) == before  # a lookup sees the old data, not half of the new
    subject = await registry.ingest().ListSubjectDebts(
        ingest_service_pb2.ListSubjectDebtsRequest(subject={"value": PERSON}), metadata=registry.as_service("lookup")
    )
    assert len(subject.debts) == 3
    call.cancel()  # the bank's side goes away halfway
    abandon.set()
    assert call.cancelled()

    async def rolled_back() -> bool:
        rows = await registry.fetch("SELECT count(*) AS n FROM pg_stat_activity WHERE state = 'idle in transaction'")
        return rows[0]["n"] == 0

    await eventually(rolled_back)
    assert await held(registry) == before
    assert [r["request_id"] for r in await registry.fetch("SELECT request_id FROM ingest.deliveries")] == ["demo-1"]


async def test_a_snapshot_retry_returns_the_first_receipt_and_other_content_is_refused(registry: Registry) -> None:
    debts = synthetic.portfolio(50, seed=5)
    first = await deliver_snapshot(registry, BANK, debts, "snap-1", per_message=20)
    again = await deliver_snapshot(registry, BANK, debts, "snap-1", per_message=20)
    assert again.delivery == first.delivery
    debts[10].account_id = "CHANGED"
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await deliver_snapshot(registry, BANK, debts, "snap-1", per_message=20)
    assert reused.value.code() == grpc.StatusCode.ALREADY_EXISTS and reason(reused.value) == "REQUEST_ID_REUSED"
    assert len(await held(registry)) == 50


async def test_one_bad_debt_refuses_a_strict_snapshot_naming_its_position_across_messages(registry: Registry) -> None:
    await report_demo(registry)
    debts = synthetic.portfolio(30, seed=9)
    debts[25].debtor.value = "14842249092"
    debts[27].ClearField("extract_time")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await deliver_snapshot(registry, BANK, debts, per_message=10)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = [v.field for v in errors.decode(refused.value).field_violations]
    assert fields == ["debts[25].debtor.value", "debts[27].extract_time"]
    assert len(await held(registry)) == 4  # the old data stands


async def test_a_partial_snapshot_registers_the_good_debts_and_reports_each_bad_one(registry: Registry) -> None:
    await report_demo(registry)
    debts = synthetic.portfolio(40, seed=11)
    debts[3].debtor.value = "1234"
    debts[17].co_borrower_role = 0
    debts[30].CopyFrom(debts[31])  # the same account and debtor twice: neither can be trusted
    reply = await deliver_snapshot(registry, BANK, debts, per_message=8, strictness=PARTIAL)
    assert (reply.delivery.record_count, reply.delivery.rejected_count, reply.delivery.registered_count) == (40, 4, 36)
    assert reply.delivery.absent_count == 4  # the demo debts; rejected records count as absent too (DOM-8)
    assert [(r.index, [v.field for v in r.violations]) for r in reply.rejections] == [
        (3, ["debts[3].debtor.value"]),
        (17, ["debts[17].co_borrower_role"]),
        (30, ["debts[30]"]),
        (31, ["debts[31]"]),
    ]
    assert "1234" not in str(reply.rejections)
    pages, token = [], ""
    while True:
        page = await registry.ingest().ListDeliveryRejections(
            ingest_service_pb2.ListDeliveryRejectionsRequest(
                delivery_id=reply.delivery.id, page_size=3, page_token=token
            ),
            metadata=registry.as_institution(BANK),
        )
        pages.append(list(page.rejections))
        token = page.next_page_token
        if not token:
            break
    assert [r for p in pages for r in p] == list(reply.rejections) and len(pages) == 2
    assert len(await held(registry)) == 36


async def test_a_snapshot_from_the_future_is_refused(registry: Registry) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await deliver_snapshot(registry, BANK, synthetic.portfolio(2), extract_time=later)
    assert [v.field for v in errors.decode(refused.value).field_violations] == ["extract_time"]


async def test_changes_stream_in_many_messages_and_apply_together(registry: Registry) -> None:
    debts = synthetic.portfolio(25, seed=13)

    async def stream() -> AsyncIterator[ingest_service_pb2.StreamDebtChangesRequest]:
        for start in range(0, 25, 10):
            yield ingest_service_pb2.StreamDebtChangesRequest(
                request_id="stream-1" if start == 0 else "",
                changes=[ingest_pb2.DebtChange(register=d) for d in debts[start : start + 10]],
            )

    reply = await registry.ingest().StreamDebtChanges(stream(), metadata=registry.as_institution(BANK))
    assert (reply.delivery.record_count, reply.delivery.registered_count) == (25, 25)
    assert reply.delivery.kind == ingest_pb2.DELIVERY_KIND_CHANGES


async def test_the_same_debt_twice_refuses_a_strict_delivery(registry: Registry) -> None:
    changes = demo_changes()
    changes.append(demo_changes()[1])
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.ingest().ReportDebtChanges(
            ingest_service_pb2.ReportDebtChangesRequest(request_id="dup-1", changes=changes),
            metadata=registry.as_institution(BANK),
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in errors.decode(refused.value).field_violations] == ["changes[4]"]
    assert await held(registry) == []


async def test_deliveries_read_back_newest_first(registry: Registry) -> None:
    first = await report_demo(registry, "one")
    second = await deliver_snapshot(registry, BANK, demo_debts(), "two")
    listed = await registry.ingest().ListDeliveries(
        ingest_service_pb2.ListDeliveriesRequest(page_size=1), metadata=registry.as_institution(BANK)
    )
    assert [d.id for d in listed.deliveries] == [second.delivery.id] and listed.next_page_token
    got = await registry.ingest().GetDelivery(
        ingest_service_pb2.GetDeliveryRequest(id=first.delivery.id), metadata=registry.as_institution(BANK)
    )
    assert got.delivery.request_id == "one" and got.delivery.HasField("complete_time")
    with pytest.raises(grpc.aio.AioRpcError) as hidden:  # another institution's delivery is not there for you
        await registry.ingest().GetDelivery(
            ingest_service_pb2.GetDeliveryRequest(id=first.delivery.id), metadata=registry.as_institution(LENDER)
        )
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND


async def test_each_debt_says_when_its_creditor_last_confirmed_it(registry: Registry) -> None:
    await report_demo(registry)
    ask = ingest_service_pb2.ListSubjectDebtsRequest(subject={"value": PERSON})
    before = await registry.ingest().ListSubjectDebts(ask, metadata=registry.as_service("lookup"))
    await asyncio.sleep(0.01)
    today = demo_debts()
    for debt in today:  # extracted today
        debt.extract_time.FromDatetime(datetime.now(UTC))
    await deliver_snapshot(registry, BANK, today, extract_time=datetime.now(UTC))  # confirms every debt in it
    after = await registry.ingest().ListSubjectDebts(ask, metadata=registry.as_service("lookup"))
    assert len(after.debts) == 3
    assert all(
        a.confirm_time.ToDatetime() > b.confirm_time.ToDatetime()
        for a, b in zip(after.debts, before.debts, strict=True)
    )


async def test_a_sender_that_goes_quiet_is_given_up_and_holds_nothing_open(registry: Registry) -> None:
    # No transaction waits on a slow sender: a stream that pauses longer than the bound is refused ABORTED
    # DELIVERY_STALLED, nothing of it kept, no transaction left open, and the same delivery sent again is taken.
    # Breaking it (waiting on the stream for ever) fails here: the call hangs to the client's deadline.
    await registry.restart("ingest", delivery_pause_seconds=0.5)
    messages = snapshot_messages(demo_debts(), "stalled-1", per_message=1)
    quiet = asyncio.Event()

    async def stream() -> AsyncIterator[Any]:
        yield messages[0]
        yield messages[1]
        await quiet.wait()  # the sender goes quiet, its connection open

    call = registry.ingest().DeliverSnapshot(stream(), metadata=registry.as_institution(BANK), timeout=10)
    with pytest.raises(grpc.aio.AioRpcError) as stalled:
        await call
    quiet.set()
    assert stalled.value.code() == grpc.StatusCode.ABORTED and reason(stalled.value) == "DELIVERY_STALLED"
    idle = await registry.idle_transactions("ingest")
    assert idle == 0 and await held(registry) == []
    await deliver_snapshot(registry, BANK, demo_debts(), request_id="stalled-1")
    assert len(await held(registry)) == 4  # the joint loan once per debtor


async def test_slow_senders_cannot_take_the_connections_lookups_read_with(registry: Registry) -> None:
    # Issue 15: a delivery holds a database connection while it streams. Beyond the deliveries a replica takes at
    # once, another is refused RESOURCE_EXHAUSTED DELIVERIES_BUSY at once, and lookup's read of a person's debts
    # still answers; when no connection is free all the same, a call is refused UNAVAILABLE within the pool's
    # timeout, never left to hang. Breaking it (no limit on deliveries) takes the second delivery in, which then
    # waits for the pool's only connection, and the read with it: both fail here.
    await report_demo(registry)
    await registry.restart(
        "ingest",
        max_concurrent_deliveries=1,
        database_pool_size=2,
        database_max_overflow=0,
        database_pool_timeout_seconds=0.5,
    )
    quiet = asyncio.Event()

    def slow(request_id: str) -> AsyncIterator[Any]:
        async def stream() -> AsyncIterator[Any]:
            yield snapshot_messages(demo_debts(), request_id, per_message=1)[0]
            await quiet.wait()  # a slow sender, its connection and its transaction held

        return stream()

    def read() -> Any:
        return registry.ingest().ListSubjectDebts(
            ingest_service_pb2.ListSubjectDebtsRequest(subject=identity_pb2.NationalIdentityNumber(value=PERSON)),
            metadata=registry.as_service("lookup"),
            timeout=5,
        )

    owed = len((await read()).debts)
    first = registry.ingest().DeliverSnapshot(slow("slow-1"), metadata=registry.as_institution(BANK), timeout=10)

    async def taken() -> bool:
        return await registry.idle_transactions("ingest") == 1

    await eventually(taken)
    with pytest.raises(grpc.aio.AioRpcError) as busy:
        await registry.ingest().DeliverSnapshot(slow("slow-2"), metadata=registry.as_institution(BANK), timeout=5)
    assert busy.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED and reason(busy.value) == "DELIVERIES_BUSY"
    assert len((await read()).debts) == owed > 0  # the person's debts, read beside the delivery

    # Even so, a pool with nothing free refuses rather than hangs: with the second connection held too (a read
    # waiting on the administrator's lock on the debts), a third call finds none within the pool's timeout.
    admin = await asyncpg.connect(host=registry.socket, user="postgres", database=registry.database)
    try:
        async with admin.transaction():
            await admin.execute("SET LOCAL lock_timeout = '5s'; LOCK TABLE ingest.debts IN ACCESS EXCLUSIVE MODE")
            waiting = asyncio.ensure_future(read())

            async def blocked() -> bool:
                rows = await registry.fetch("SELECT 1 FROM pg_locks WHERE NOT granted")
                return bool(rows)

            await eventually(blocked)
            with pytest.raises(grpc.aio.AioRpcError) as none_free:
                await read()
            assert none_free.value.code() == grpc.StatusCode.UNAVAILABLE
            assert reason(none_free.value) == "DATABASE_UNAVAILABLE"
    finally:
        await admin.close()
    assert len((await waiting).debts) == owed
    quiet.set()
    assert (await first).delivery.request_id == "slow-1"  # the slow delivery is taken when its sender goes on


async def test_an_institution_behind_on_its_snapshots_is_listed_to_operators(registry: Registry) -> None:
    # DOM-8: the daily snapshot is how an institution's data is confirmed; operators see who is behind.
    async def behind() -> list[tuple[str, bool]]:
        reply = await registry.ingest().ListStaleInstitutions(
            ingest_service_pb2.ListStaleInstitutionsRequest(), metadata=registry.as_operator()
        )
        return [(i.institution.organization_number.value, i.HasField("last_snapshot_time")) for i in reply.institutions]

    await report_demo(registry)  # changes only: never a snapshot
    assert await behind() == [(BANK, False)]
    await deliver_snapshot(registry, BANK, demo_debts(), extract_time=datetime.now(UTC))
    assert await behind() == []
    # Move the clock: the snapshot was extracted two days ago.
    await registry.fetch(
        "UPDATE ingest.deliveries SET extract_time = now() - interval '2 days' WHERE kind = 'snapshot'"
    )
    assert await behind() == [(BANK, True)]
    # An old snapshot sent again today is as old as when it was extracted.
    await deliver_snapshot(registry, BANK, demo_debts(), extract_time=datetime.now(UTC) - timedelta(days=3))
    assert await behind() == [(BANK, True)]
