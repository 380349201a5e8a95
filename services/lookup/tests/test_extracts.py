"""Score-model extracts (DOM-11, §5 and §10): lists handed in, a round cut from one snapshot of the register,
packages downloaded with a signed manifest and deleted within three months. Through real gRPC on a real database,
the four services running."""

from __future__ import annotations

import gzip
import hashlib
import json
from typing import Any

import grpc
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from gjeld.ingest.v1 import ingest_service_pb2
from gjeld.lookup.v1 import lookup_pb2, lookup_service_pb2
from gjeld.notify.v1 import notify_service_pb2
from gjeld_lookup.extracts import canonical, quarter_of, quarters_cut_in, round_year, today
from gjeld_shared.callers import SCOPE_EXTRACT
from gjeld_tools.testing import (
    BANK,
    CO_BORROWER,
    LENDER,
    PERSON,
    Registry,
    customer_list,
    demo_changes,
    eventually,
    reason,
    report_demo,
    submit_customer_list,
)

NOT_A_CUSTOMER = "01838501393"  # synthetic, with no debt anywhere
CO_BORROWER_BANK = "922333444"  # Vidda Finans AS, a third institution of the development directory
pb = lookup_service_pb2


def extractor(registry: Registry, institution: str) -> Any:
    return registry.as_institution(institution, scopes=(SCOPE_EXTRACT,))


def list_file(*pieces: bytes) -> list[pb.SubmitCustomerListRequest]:
    header = pb.CustomerListHeader(quarter=quarter_of(today()))
    return [pb.SubmitCustomerListRequest(header=header)] + [
        pb.SubmitCustomerListRequest(list_file=piece) for piece in pieces
    ]


async def run_round(registry: Registry) -> pb.RunExtractRoundResponse:
    return await registry.lookup().RunExtractRound(pb.RunExtractRoundRequest(), metadata=registry.as_operator())


async def download(registry: Registry, institution: str, order_id: str) -> tuple[lookup_pb2.ExtractManifest, bytes]:
    call = registry.lookup().DownloadExtractPackage(
        pb.DownloadExtractPackageRequest(order_id=order_id), metadata=extractor(registry, institution)
    )
    replies = [reply async for reply in call]
    assert replies[0].WhichOneof("part") == "manifest"
    return replies[0].manifest, b"".join(r.chunk for r in replies[1:])


async def lender_reports(registry: Registry, request_id: str, balance: int) -> None:
    """Nordlys Kreditt reports a loan of PERSON's as its own."""
    change = demo_changes()[0]
    change.register.repayment_loan.balance.minor_units = balance
    await registry.ingest().ReportDebtChanges(
        ingest_service_pb2.ReportDebtChangesRequest(request_id=request_id, changes=[change]),
        metadata=registry.as_institution(LENDER),
    )


def public_key(registry: Registry) -> ed25519.Ed25519PublicKey:
    private = serialization.load_pem_private_key(registry.folder.extract_signing_key.read_bytes(), password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    return private.public_key()


async def test_a_round_cuts_every_package_at_one_instant_holding_customers_only(registry: Registry) -> None:
    await report_demo(registry)
    await lender_reports(registry, "lender-1", 31_000_000)
    bank = await submit_customer_list(
        registry, BANK, customer_list(PERSON, CO_BORROWER, NOT_A_CUSTOMER, PERSON, "12345")
    )
    assert (bank.listed_count, bank.invalid_count, bank.duplicate_count) == (5, 1, 1)
    assert bank.state == lookup_pb2.EXTRACT_ORDER_STATE_ORDERED
    # The live registry's list file, a line split across two messages.
    lender = await submit_customer_list(
        registry, LENDER, list_file(f"{PERSON}\n{CO_BORROWER[:5]}".encode(), f"{CO_BORROWER}\n"[5:].encode())
    )
    assert (lender.listed_count, lender.invalid_count) == (2, 0)

    round_ = await run_round(registry)
    delivered = {o.institution.value: o for o in round_.orders}
    assert set(delivered) == {BANK, LENDER}
    # DOM-11: one instant for every package of the round.
    assert {o.manifest.snapshot_time.ToDatetime() for o in delivered.values()} == {round_.snapshot_time.ToDatetime()}
    assert (delivered[BANK].customer_count, delivered[BANK].not_customer_count) == (2, 1)
    assert (delivered[LENDER].customer_count, delivered[LENDER].not_customer_count) == (1, 1)
    assert PERSON not in str(delivered[BANK])  # the report counts; it never echoes a number back

    manifest, package = await download(registry, BANK, bank.id)
    assert hashlib.sha256(package).digest() == manifest.sha256 and len(package) == manifest.size
    # At rest each piece is sealed with lookup's keys: not the package's bytes. (Breaking it, storing the pieces
    # as they are, shows gzip's magic number here.)
    [stored] = await registry.fetch(f"SELECT data FROM lookup.extract_package_chunks WHERE order_id = '{bank.id}'")
    assert bytes(stored["data"])[:2] != b"\x1f\x8b" and bytes(stored["data"]) != package
    # The lists (identity numbers) are gone once the round delivered: the package is what is kept, until deleted.
    assert await registry.fetch("SELECT 1 FROM lookup.extract_order_parts") == []
    public_key(registry).verify(manifest.signature, canonical(manifest))
    tampered = lookup_pb2.ExtractManifest()
    tampered.CopyFrom(manifest)
    tampered.record_count += 1
    with pytest.raises(InvalidSignature):  # what the signature is for: a changed manifest does not verify
        public_key(registry).verify(tampered.signature, canonical(tampered))
    document = json.loads(gzip.decompress(package))
    customers = {c["customerID"]: c for c in document["customers"]}
    assert set(customers) == {PERSON, CO_BORROWER} and manifest.record_count == 2
    loans = customers[PERSON]["loans"]
    own = [loan for loan in loans if loan["creditorNumber"] == 1]
    other = [loan for loan in loans if loan["creditorNumber"] != 1]
    assert len(own) == 3 and all(loan["accountID"] for loan in own)
    # Another creditor's loan: its figures, never its name or account (DOM-5).
    assert [(loan["creditorNumber"], loan["accountID"], loan["balance"]) for loan in other] == [(2, "", 31_000_000)]
    assert LENDER not in gzip.decompress(package).decode() and "Nordlys" not in gzip.decompress(package).decode()
    # Nordlys listed the co-borrower too, a customer of the bank only: not in Nordlys's package.
    # Breaking it (listed persons taken without the customer check) puts the co-borrower there.
    _, theirs = await download(registry, LENDER, lender.id)
    assert [c["customerID"] for c in json.loads(gzip.decompress(theirs))["customers"]] == [PERSON]
    # Each customer sees it among who received their data (DOM-15), and no copy letter is sent (§9).
    seen = await registry.lookup().ListOwnDisclosures(
        pb.ListOwnDisclosuresRequest(), metadata=registry.as_subject(PERSON)
    )
    score_model = [d for d in seen.disclosures if d.purpose == lookup_pb2.DISCLOSURE_PURPOSE_SCORE_MODEL]
    assert sorted((d.recipient.name, d.application_reference) for d in score_model) == sorted(
        [("Fjordbanken ASA", manifest.package_id), ("Nordlys Kreditt AS", delivered[LENDER].manifest.package_id)]
    )
    listed_only = await registry.lookup().ListOwnDisclosures(
        pb.ListOwnDisclosuresRequest(), metadata=registry.as_subject(NOT_A_CUSTOMER)
    )
    assert list(listed_only.disclosures) == []
    assert await registry.fetch("SELECT 1 FROM lookup.notice_outbox") == []


async def test_an_institution_takes_part_in_at_most_four_rounds_a_year(registry: Registry) -> None:
    await report_demo(registry)
    for i in range(4):
        await submit_customer_list(registry, BANK, customer_list(PERSON, request_id=f"round-{i}"))
        with pytest.raises(grpc.aio.AioRpcError) as waiting:
            await submit_customer_list(registry, BANK, customer_list(PERSON))
        assert (
            waiting.value.code() == grpc.StatusCode.ALREADY_EXISTS
            and reason(waiting.value) == "EXTRACT_ALREADY_ORDERED"
        )
        assert len((await run_round(registry)).orders) == 1
    # Breaking it (no count of the year's rounds) takes a fifth order here.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await submit_customer_list(registry, BANK, customer_list(PERSON))
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert reason(refused.value) == "EXTRACT_LIMIT_REACHED" and "allows 4 a year" in str(refused.value.details())
    again = await submit_customer_list(
        registry, BANK, customer_list(PERSON, request_id="round-3")
    )  # a retry still gets its order
    assert again.state == lookup_pb2.EXTRACT_ORDER_STATE_DELIVERED
    # Counted by the year of the round that cuts them: the four were this quarter's; as the lists of the four
    # quarters whose rounds ran this year (the last cut on the first day of this quarter), this quarter's list is
    # cut next year, and taken.
    this = quarter_of(today())
    year = int(this[:4])
    earlier = [f"{year - 1}-Q4", f"{year}-Q1", f"{year}-Q2", f"{year}-Q3"] if this.endswith("Q4") else []
    if earlier:
        await registry.fetch(
            "UPDATE lookup.extract_orders SET quarter = q.quarter FROM (SELECT id, "
            f"(ARRAY{earlier})[row_number() OVER (ORDER BY submit_time)] AS quarter FROM lookup.extract_orders) q "
            "WHERE q.id = extract_orders.id"
        )
        taken = await submit_customer_list(registry, BANK, customer_list(PERSON))
        assert taken.state == lookup_pb2.EXTRACT_ORDER_STATE_ORDERED


def test_a_quarters_orders_count_in_the_year_of_the_round_that_cuts_them() -> None:
    assert [round_year(q) for q in ("2026-Q1", "2026-Q3", "2026-Q4")] == [2026, 2026, 2027]
    assert quarters_cut_in(2027) == ("2026-Q4", "2027-Q1", "2027-Q2", "2027-Q3")


async def test_orders_a_dead_round_left_half_cut_are_cut_by_the_next(registry: Registry) -> None:
    await report_demo(registry)
    order = await submit_customer_list(registry, BANK, customer_list(PERSON))
    # As a round whose runner died left it: claimed, a piece and a disclosure written, never delivered.
    await registry.fetch(
        "UPDATE lookup.extract_orders SET state = 'cutting', round_id = gen_random_uuid(), "
        f"package_id = gen_random_uuid() WHERE id = '{order.id}'"
    )
    await registry.fetch(f"INSERT INTO lookup.extract_package_chunks VALUES ('{order.id}', 0, 'half')")
    with pytest.raises(grpc.aio.AioRpcError) as early:  # nothing to delete before the round
        await registry.lookup().ConfirmExtractDeletion(
            pb.ConfirmExtractDeletionRequest(order_id=order.id), metadata=extractor(registry, BANK)
        )
    assert early.value.code() == grpc.StatusCode.FAILED_PRECONDITION and reason(early.value) == "EXTRACT_NOT_CUT"
    [cut] = (await run_round(registry)).orders
    assert cut.id == order.id and cut.state == lookup_pb2.EXTRACT_ORDER_STATE_DELIVERED
    manifest, package = await download(registry, BANK, order.id)
    # Breaking it (no release of what a dead round left) keeps the order stuck and its half piece in the package.
    assert hashlib.sha256(package).digest() == manifest.sha256 and gzip.decompress(package)


async def test_a_package_is_deleted_when_the_recipient_confirms_and_at_its_deadline(registry: Registry) -> None:
    await report_demo(registry)
    first = await submit_customer_list(registry, BANK, customer_list(PERSON))
    await run_round(registry)
    confirmed = await registry.lookup().ConfirmExtractDeletion(
        pb.ConfirmExtractDeletionRequest(order_id=first.id), metadata=extractor(registry, BANK)
    )
    assert confirmed.order.state == lookup_pb2.EXTRACT_ORDER_STATE_DELETED
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await download(registry, BANK, first.id)
    assert gone.value.code() == grpc.StatusCode.NOT_FOUND and reason(gone.value) == "EXTRACT_PACKAGE_DELETED"

    second = await submit_customer_list(registry, BANK, customer_list(PERSON))
    await run_round(registry)
    chunks = f"SELECT count(*) AS n FROM lookup.extract_package_chunks WHERE order_id = '{second.id}'"
    assert (await registry.fetch(chunks))[0]["n"] > 0
    # Three months on (the deadline moved into the past): the registry deletes its copy, unconfirmed.
    await registry.fetch(f"UPDATE lookup.extract_orders SET delete_deadline = now() WHERE id = '{second.id}'")

    async def deleted() -> bool:
        reply = await registry.lookup().GetExtractOrder(
            pb.GetExtractOrderRequest(order_id=second.id), metadata=extractor(registry, BANK)
        )
        return reply.order.state == lookup_pb2.EXTRACT_ORDER_STATE_DELETED

    await eventually(deleted)
    assert (await registry.fetch(chunks))[0]["n"] == 0
    # Another institution's order is not found, and its package not downloadable.
    with pytest.raises(grpc.aio.AioRpcError) as other:
        await registry.lookup().GetExtractOrder(
            pb.GetExtractOrderRequest(order_id=second.id), metadata=extractor(registry, LENDER)
        )
    assert other.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_list_that_cannot_be_read_gets_a_failure_report(registry: Registry) -> None:
    failed = await submit_customer_list(registry, BANK, list_file(b"\xff\xfe\x00binary"))
    assert failed.state == lookup_pb2.EXTRACT_ORDER_STATE_FAILED and "UTF-8" in failed.failure
    ordered = await submit_customer_list(registry, BANK, customer_list(PERSON))  # a failed list holds up nothing
    assert ordered.state == lookup_pb2.EXTRACT_ORDER_STATE_ORDERED
    with pytest.raises(grpc.aio.AioRpcError) as empty:  # nothing to cut: refused, no round used up
        await submit_customer_list(registry, LENDER, list_file(b"\xef\xbb\xbfnot a number\n"))
    assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    bom = await submit_customer_list(
        registry, LENDER, list_file(f"\ufeff{PERSON}\n".encode())
    )  # a BOM first: still a number
    assert (bom.listed_count, bom.invalid_count) == (1, 0)
    with pytest.raises(grpc.aio.AioRpcError) as wrong:
        await submit_customer_list(registry, CO_BORROWER_BANK, customer_list(PERSON, quarter="1999-Q1"))
    assert wrong.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "header.quarter" in str(wrong.value.details())


async def test_a_bureaus_extract_is_about_its_partners_loan_customers_and_names_no_account(
    registry: Registry,
) -> None:
    bureau = "933444550"  # Kredittopplysning Norge: a score-model agreement with Fjordbanken (the directory)
    only_at_lender = "01838502772"
    await report_demo(registry)
    change = demo_changes()[0]
    change.register.debtor.value = only_at_lender
    await registry.ingest().ReportDebtChanges(
        ingest_service_pb2.ReportDebtChangesRequest(request_id="elsewhere", changes=[change]),
        metadata=registry.as_institution(LENDER),
    )
    order = await submit_customer_list(registry, bureau, customer_list(PERSON, only_at_lender))
    [cut] = (await run_round(registry)).orders
    assert (cut.customer_count, cut.not_customer_count) == (1, 1)  # Nordlys is no partner of the bureau's
    _, package = await download(registry, bureau, order.id)
    [customer] = json.loads(gzip.decompress(package))["customers"]
    assert customer["customerID"] == PERSON and len(customer["loans"]) == 3
    assert {loan["accountID"] for loan in customer["loans"]} == {""}  # no account, no creditor named


async def test_a_recipient_is_reminded_before_the_deadline_and_overdue_after_it(registry: Registry) -> None:
    await report_demo(registry)
    order = await submit_customer_list(registry, BANK, customer_list(PERSON))
    await run_round(registry)
    # Ten days before its deadline: the recipient is reminded (the order says when).
    await registry.fetch(
        f"UPDATE lookup.extract_orders SET delete_deadline = now() + interval '10 days' WHERE id = '{order.id}'"
    )

    async def status() -> lookup_pb2.ExtractOrder:
        reply = await registry.lookup().GetExtractOrder(
            pb.GetExtractOrderRequest(order_id=order.id), metadata=extractor(registry, BANK)
        )
        return reply.order

    reminded = await eventually(lambda: _when(status, "remind_time"))
    assert reminded.state == lookup_pb2.EXTRACT_ORDER_STATE_DELIVERED
    # The reminder is in the bank's notice feed, once.
    feed = await registry.notify().ListInstitutionNotices(
        notify_service_pb2.ListInstitutionNoticesRequest(), metadata=registry.as_institution(BANK)
    )
    assert [n.extract_deletion.order_id for n in feed.notices] == [order.id]
    assert feed.notices[0].extract_deletion.delete_deadline == reminded.manifest.delete_deadline
    overdue = await registry.lookup().ListOverdueExtracts(
        pb.ListOverdueExtractsRequest(), metadata=registry.as_operator()
    )
    assert list(overdue.orders) == []
    # The deadline passes unconfirmed: the registry deletes its copy, and operators see the recipient overdue.
    await registry.fetch(f"UPDATE lookup.extract_orders SET delete_deadline = now() WHERE id = '{order.id}'")
    deleted = await eventually(lambda: _when(status, "delete_time"))
    assert deleted.state == lookup_pb2.EXTRACT_ORDER_STATE_DELETED and not deleted.deletion_confirmed
    overdue = await registry.lookup().ListOverdueExtracts(
        pb.ListOverdueExtractsRequest(), metadata=registry.as_operator()
    )
    assert [o.id for o in overdue.orders] == [order.id]


async def _when(status: Any, field: str) -> lookup_pb2.ExtractOrder | None:
    order = await status()
    return order if order.HasField(field) else None
