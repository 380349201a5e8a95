"""ingest through real gRPC on a real database."""

from __future__ import annotations

import base64

import asyncpg
import grpc
import pytest
from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_shared import errors
from gjeld_tools.testing import BANK, DENIED, LENDER, PERSON, Registry, demo_changes, reason, report_demo


def request(request_id: str, changes: list[ingest_pb2.DebtChange]) -> ingest_service_pb2.ReportDebtChangesRequest:
    return ingest_service_pb2.ReportDebtChangesRequest(request_id=request_id, changes=changes)


async def debts_of_bank(registry: Registry, page_size: int = 0) -> list[ingest_pb2.Debt]:
    found, token = [], ""
    while True:
        page = await registry.ingest().ListDebts(
            ingest_service_pb2.ListDebtsRequest(page_size=page_size, page_token=token),
            metadata=registry.as_institution(BANK),
        )
        found.extend(page.debts)
        token = page.next_page_token
        if not token:
            return found


async def test_a_delivery_registers_every_debt_and_reads_back_page_by_page(registry: Registry) -> None:
    reply = await report_demo(registry)
    assert (reply.delivery.registered_count, reply.delivery.closed_count) == (4, 0)
    debts = await debts_of_bank(registry, page_size=1)
    assert sorted((d.account_id, d.debtor.value) for d in debts) == sorted(
        (c.register.account_id, c.register.debtor.value) for c in demo_changes()
    )
    assert all(d.creditor.name == "Fjordbanken ASA" and d.HasField("confirm_time") for d in debts)
    other = await registry.ingest().ListDebts(
        ingest_service_pb2.ListDebtsRequest(), metadata=registry.as_institution(LENDER)
    )
    assert list(other.debts) == []  # an institution reads back only its own data


async def test_an_update_replaces_the_debt_and_keeps_no_history(registry: Registry) -> None:
    # DOM-7: the register holds the current state only.
    await report_demo(registry)
    change = demo_changes()[0]
    change.register.repayment_loan.balance.minor_units = 31_500_000
    await registry.ingest().ReportDebtChanges(request("update-1", [change]), metadata=registry.as_institution(BANK))
    stored = await registry.fetch("SELECT balance FROM ingest.debts WHERE account_id = 'ACC-001'")
    assert sorted(r["balance"] for r in stored) == [31_500_000, 32_000_000]  # the person's, and the co-borrower's
    assert (await registry.fetch("SELECT count(*) AS n FROM ingest.debts"))[0]["n"] == 4
    assert 32_000_000 not in [
        r["balance"]
        for r in await registry.fetch("SELECT balance FROM ingest.debts WHERE co_borrower_role = 'has_co_borrower'")
    ]


async def test_a_closed_debt_is_deleted(registry: Registry) -> None:
    await report_demo(registry)
    close = ingest_pb2.DebtChange(
        close=ingest_pb2.DebtKey(account_id="CARD-7", debtor=identity_pb2.NationalIdentityNumber(value=PERSON))
    )
    reply = await registry.ingest().ReportDebtChanges(
        request("close-1", [close]), metadata=registry.as_institution(BANK)
    )
    assert (reply.delivery.closed_count, reply.delivery.unknown_close_count) == (1, 0)
    assert "CARD-7" not in {d.account_id for d in await debts_of_bank(registry)}


async def test_a_retry_returns_the_first_receipt_and_a_reused_id_is_refused(registry: Registry) -> None:
    first = await report_demo(registry, "same-id")
    again = await report_demo(registry, "same-id")
    assert again.delivery == first.delivery
    changed = demo_changes()[:1]
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await registry.ingest().ReportDebtChanges(request("same-id", changed), metadata=registry.as_institution(BANK))
    assert reused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert reason(reused.value) == "REQUEST_ID_REUSED"


async def test_one_bad_change_refuses_the_delivery_and_names_every_bad_field(registry: Registry) -> None:
    await report_demo(registry)
    changes = demo_changes()
    changes[0].register.repayment_loan.balance.minor_units = -1  # DOM-2
    changes[1].register.credit_facility.ClearField("credit_limit")  # DOM-1: required per type
    changes[1].register.credit_facility.nominal_interest_rate_bp = 10**6  # out of range
    changes[2].register.debtor.value = "14842249092"  # DOM-4: bad check digit
    changes[3].register.co_borrower_role = 0  # DOM-3: must be set
    changes.append(ingest_pb2.DebtChange())  # neither register nor close
    for change in changes:
        if change.HasField("register"):
            change.register.account_id += "-NEW"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.ingest().ReportDebtChanges(request("bad-1", changes), metadata=registry.as_institution(BANK))
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    fields = {v.field for v in errors.decode(refused.value).field_violations}
    assert fields == {
        "changes[0].register.repayment_loan.balance.minor_units",
        "changes[1].register.credit_facility.credit_limit",
        "changes[1].register.credit_facility.nominal_interest_rate_bp",
        "changes[2].register.debtor.value",
        "changes[3].register.co_borrower_role",
        "changes[4].change",
    }
    assert "14842249092" not in str(errors.decode(refused.value)) + (refused.value.details() or "")
    # Nothing of the refused delivery is registered, and what was accepted before is intact.
    assert sorted(d.account_id for d in await debts_of_bank(registry)) == ["ACC-001", "ACC-001", "CARD-7", "CHARGE-3"]


async def test_missing_money_fields_are_named(registry: Registry) -> None:
    change = demo_changes()[2]
    change.register.charge_card.ClearField("non_interest_bearing_balance")
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.ingest().ReportDebtChanges(request("m-1", [change]), metadata=registry.as_institution(BANK))
    assert [v.field for v in errors.decode(refused.value).field_violations] == [
        "changes[0].register.charge_card.non_interest_bearing_balance"
    ]


async def test_identity_numbers_are_stored_only_hashed_and_encrypted(registry: Registry) -> None:
    # DOM-15
    await report_demo(registry)
    stored = await registry.fetch("SELECT * FROM ingest.debts")
    assert stored and all(PERSON.encode() not in bytes(str(dict(r)), "utf-8") for r in stored)
    assert all(PERSON.encode() not in r["debtor_encrypted"] and len(r["debtor_index"]) == 33 for r in stored)


async def test_each_service_reaches_only_its_own_schema(registry: Registry) -> None:
    await report_demo(registry)
    connection = await asyncpg.connect(host=registry.socket, user="gjeld_lookup", database=registry.database)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.fetch("SELECT * FROM ingest.debts")
    finally:
        await connection.close()


async def test_only_lookup_may_read_a_subjects_debts(registry: Registry) -> None:
    ask = ingest_service_pb2.ListSubjectDebtsRequest(subject=identity_pb2.NationalIdentityNumber(value=PERSON))
    for caller in (registry.as_institution(BANK), registry.as_subject(PERSON), registry.as_service("notify")):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await registry.ingest().ListSubjectDebts(ask, metadata=caller)
        assert refused.value.code() in DENIED
    await report_demo(registry)
    reply = await registry.ingest().ListSubjectDebts(ask, metadata=registry.as_service("lookup"))
    assert len(reply.debts) == 3


async def test_a_page_token_from_elsewhere_is_invalid_argument(registry: Registry) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.ingest().ListDebts(
            ingest_service_pb2.ListDebtsRequest(page_token="bm9wZQ"), metadata=registry.as_institution(BANK)
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in errors.decode(refused.value).field_violations] == ["page_token"]


async def test_a_page_token_reveals_nothing_and_serves_only_its_caller(registry: Registry) -> None:
    await report_demo(registry)
    first = await registry.ingest().ListDebts(
        ingest_service_pb2.ListDebtsRequest(page_size=1), metadata=registry.as_institution(BANK)
    )
    token = first.next_page_token
    # Sealed: no account id, no keyed hash of the debtor (the blind index), in any encoding an eye could read.
    indexes = [bytes(r["debtor_index"]) for r in await registry.fetch("SELECT debtor_index FROM ingest.debts")]
    opened = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    assert first.debts[0].account_id.encode() not in opened
    assert not any(index.hex().encode() in opened or index[1:9].hex().encode() in opened for index in indexes)
    # Another institution cannot page on with it.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.ingest().ListDebts(
            ingest_service_pb2.ListDebtsRequest(page_token=token), metadata=registry.as_institution(LENDER)
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # Its own caller can.
    second = await registry.ingest().ListDebts(
        ingest_service_pb2.ListDebtsRequest(page_size=1, page_token=token), metadata=registry.as_institution(BANK)
    )
    assert second.debts and second.debts[0] != first.debts[0]


async def test_an_institution_may_not_use_the_registrys_own_request_ids(registry: Registry) -> None:
    # The registry fetches a day's snapshot under `registry:daily-<day>`; a bank's own delivery under such an id would
    # pass for that day's fetch and stop it (DOM-8: the snapshot is how old data goes).
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.ingest().ReportDebtChanges(
            request("registry:daily-2026-12-02", demo_changes()), metadata=registry.as_institution(BANK)
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in errors.decode(refused.value).field_violations] == ["request_id"]
