"""Rotating the keys that protect identity numbers at rest (DOM-15), as the README's procedure does it: with the
data of every service in place, the services stop, the key file gets a new index key and a new encryption key,
`rekey` brings each service's rows up to them, the services start again and find everything; then the old
encryption key leaves the file and what is encrypted still reads."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from gjeld.consent.v1 import consent_service_pb2
from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2
from gjeld.lookup.v1 import lookup_service_pb2
from gjeld.notify.v1 import notify_pb2, notify_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_lookup.extracts import quarter_of, today
from gjeld_shared.callers import SCOPE_EXTRACT
from gjeld_shared.identity_numbers import SubjectKeys, dump_subject_keys
from gjeld_shared.rekey import rekey_database
from gjeld_tools import devstack
from gjeld_tools.testing import (
    BANK,
    CO_BORROWER,
    LENDER,
    PERSON,
    Registry,
    deliver_snapshot,
    demo_changes,
    eventually,
    grant,
    look_up,
    report_demo,
)

ORDER = ("ingest", "consent", "notify", "lookup")  # lookup last: it calls the others, at their new ports
# Every stored keyed hash (made with the index keys) and ciphertext (made with the encryption keys), listed here
# rather than taken from the services' declarations, so that a table left out of a declaration shows.
HASHES = (
    "ingest.debts.debtor_index",
    "ingest.handed_over.debtor_index",
    "ingest.tombstones.debtor_index",
    "ingest.deliveries.content_digest",
    "ingest.correction_requests.debtor_index",
    "ingest.correction_requests.request_digest",
    "consent.consents.subject_index",
    "consent.consents.request_digest",
    "consent.credit_blocks.subject_index",
    "consent.identity_theft_flags.subject_index",
    "lookup.disclosures.subject_index",
    "notify.notices.subject_index",
    "notify.contact_preferences.subject_index",
)
CIPHERTEXTS = (
    "ingest.debts.debtor_encrypted",
    "lookup.notice_outbox.subject_encrypted",
    "notify.notices.subject_encrypted",
    "notify.notices.message_sealed",
    "lookup.extract_order_parts.numbers_encrypted",
    "lookup.extract_package_chunks.data",
    "ingest.correction_requests.debtor_encrypted",
    "ingest.correction_requests.reason_sealed",
    "ingest.correction_requests.answer_sealed",
    "notify.institution_notices.content_sealed",
)


async def restart(registry: Registry, keys: SubjectKeys, path: Path) -> None:
    path.write_text(dump_subject_keys(keys))
    for service in reversed(ORDER):
        await registry.stop(service)
    for service in ORDER:
        await registry.start(service, subject_keys_file=path)


def database_url(registry: Registry, service: str) -> str:
    return devstack.database_url(registry.socket, service, registry.database)


async def rekey_command(registry: Registry, service: str, keys_file: Path) -> dict[str, int]:
    """`python -m gjeld_<service> rekey` with the service's own database role; the rows rewritten per table."""
    # The service's own environment, as it would run (its role, its key file, its certificates).
    own = devstack.service_env(
        registry.folder, service, registry.socket, registry.database, {}, dict.fromkeys(devstack.LISTENERS, "")
    )
    env = {**os.environ, **own, "GJELD_SUBJECT_KEYS_FILE": str(keys_file)}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", f"gjeld_{service}", "rekey", env=env, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await process.communicate()
    assert process.returncode == 0
    lines = [line.split(": ", 1) for line in output.decode().splitlines()]
    return {table: int(rest.split()[0]) for table, rest in lines}


async def key_ids(registry: Registry, columns: tuple[str, ...]) -> dict[str, set[int]]:
    """The key versions (first bytes) found in each of these columns (an empty column would show as none)."""
    found: dict[str, set[int]] = {}
    for column in columns:
        schema, table, name = column.split(".")
        rows = await registry.fetch(f"SELECT DISTINCT get_byte({name}, 0) AS v FROM {schema}.{table}")
        found[column] = {r["v"] for r in rows}
    return found


def each(columns: tuple[str, ...], key_id: int) -> dict[str, set[int]]:
    return {column: {key_id} for column in columns}


async def test_the_index_and_encryption_keys_rotate_and_everything_is_found_again(
    registry: Registry, tmp_path: Path
) -> None:
    first = SubjectKeys.generate()
    await restart(registry, first, tmp_path / "keys-1.json")
    person, co_borrower = registry.as_subject(PERSON), registry.as_subject(CO_BORROWER)
    # Rows in every table that holds identity numbers.
    receipt = await report_demo(registry, "before-rotation")
    proposed = await registry.ingest().ProposeHandover(
        ingest_service_pb2.ProposeHandoverRequest(
            account_ids=["CARD-7"], receiver=identity_pb2.OrganizationNumber(value=LENDER)
        ),
        metadata=registry.as_institution(BANK),
    )
    await registry.ingest().AcceptHandover(
        ingest_service_pb2.AcceptHandoverRequest(id=proposed.handover.id), metadata=registry.as_institution(LENDER)
    )
    # A debt closed (its tombstone keeps the debtor's index for a while).
    closing = ingest_pb2.DebtKey(account_id="GONE-1", debtor=identity_pb2.NationalIdentityNumber(value=CO_BORROWER))
    await registry.ingest().ReportDebtChanges(
        ingest_service_pb2.ReportDebtChangesRequest(
            request_id="a-close", changes=[ingest_pb2.DebtChange(close=closing)]
        ),
        metadata=registry.as_institution(BANK),
    )
    consent = await grant(registry)
    await registry.consent().PlaceCreditBlock(consent_service_pb2.PlaceCreditBlockRequest(), metadata=co_borrower)
    await registry.consent().PlaceIdentityTheftFlag(
        consent_service_pb2.PlaceIdentityTheftFlagRequest(), metadata=co_borrower
    )
    await registry.notify().UpdateContactPreferences(
        notify_service_pb2.UpdateContactPreferencesRequest(
            contact_preferences=notify_pb2.ContactPreferences(email_address="person@example.org")
        ),
        metadata=person,
    )
    await look_up(registry)
    # A correction asked for (its person and words sealed), made by the bank's next delivery, and told to the lender
    # that had looked the person up (a notice in its feed, sealed).
    asked = await registry.ingest().RequestCorrection(
        ingest_service_pb2.RequestCorrectionRequest(
            creditor=identity_pb2.OrganizationNumber(value=BANK),
            account_id="CHARGE-3",
            reason="Kortet er sagt opp.",
            request_id="ask-1",
        ),
        metadata=person,
    )
    fix = await registry.ingest().ReportDebtChanges(
        ingest_service_pb2.ReportDebtChangesRequest(
            request_id="the-fix", changes=[c for c in demo_changes() if c.register.account_id == "CHARGE-3"]
        ),
        metadata=registry.as_institution(BANK),
    )
    await registry.ingest().AnswerCorrectionRequest(
        ingest_service_pb2.AnswerCorrectionRequestRequest(
            id=asked.correction_request.id,
            corrected=ingest_service_pb2.CorrectionMade(delivery_id=fix.delivery.id, description="Rettet."),
        ),
        metadata=registry.as_institution(BANK),
    )

    async def lender_told() -> bool:
        reply = await registry.notify().ListInstitutionNotices(
            notify_service_pb2.ListInstitutionNoticesRequest(), metadata=registry.as_institution(LENDER)
        )
        return [n.correction.subject.value for n in reply.notices] == [PERSON]

    await eventually(lender_told)
    # A score-model package cut (sealed pieces), and a list handed in (encrypted parts) whose round runs later.
    listed_header = lookup_service_pb2.CustomerListHeader(quarter=quarter_of(today()))

    async def hand_in(institution: str) -> Any:
        requests = [
            lookup_service_pb2.SubmitCustomerListRequest(header=listed_header),
            lookup_service_pb2.SubmitCustomerListRequest(
                numbers=lookup_service_pb2.CustomerNumbers(identity_numbers=[PERSON, CO_BORROWER])
            ),
        ]
        extract = registry.as_institution(institution, scopes=(SCOPE_EXTRACT,))
        return (await registry.lookup().SubmitCustomerList(iter(requests), metadata=extract)).order

    cut_before = await hand_in(BANK)
    [packaged] = (
        await registry.lookup().RunExtractRound(
            lookup_service_pb2.RunExtractRoundRequest(), metadata=registry.as_operator()
        )
    ).orders
    order = await hand_in(LENDER)

    async def notice_delivered() -> bool:
        reply = await registry.notify().ListOwnNotices(notify_service_pb2.ListOwnNoticesRequest(), metadata=person)
        # The copy letter of the lookup, and the outcome of the correction.
        return [n.state for n in reply.notices] == [notify_pb2.NOTICE_STATE_DELIVERED] * 2

    await eventually(notice_delivered)
    assert await key_ids(registry, HASHES) == each(HASHES, 1)
    assert await key_ids(registry, CIPHERTEXTS) == each(CIPHERTEXTS, 1)

    # The services stop; the new keys become current, the old ones stay for the rekey; each service's rows move.
    rotated = first.rotated(index_key=True, encryption_key=True)
    path = tmp_path / "keys-2.json"
    path.write_text(dump_subject_keys(rotated))
    for service in reversed(ORDER):
        await registry.stop(service)
    # Started with the new keys before the rekey, consent would find no credit block: it refuses to start.
    with pytest.raises(RuntimeError, match=r"consent\.credit_blocks\.subject_index"):
        await registry.start("consent", subject_keys_file=path)
    # consent through the command an operator runs; the others in this process, in batches of 2 rows.
    counts = await rekey_command(registry, "consent", path)
    for service in ("ingest", "notify", "lookup"):
        adapters = __import__(f"gjeld_{service}.adapters", fromlist=["PROTECTED"])
        counts |= await rekey_database(database_url(registry, service), rotated, adapters.PROTECTED, batch_size=2)
    assert all(counts.values()) and counts["ingest.debts"] == 4 and counts["consent.consents"] == 1
    for service in ORDER:  # a second run finds nothing to do
        adapters = __import__(f"gjeld_{service}.adapters", fromlist=["PROTECTED"])
        assert set((await rekey_database(database_url(registry, service), rotated, adapters.PROTECTED)).values()) == {0}
    assert await key_ids(registry, HASHES) == each(HASHES, 2)
    assert await key_ids(registry, CIPHERTEXTS) == each(CIPHERTEXTS, 2)

    for service in ORDER:
        await registry.start(service, subject_keys_file=path)
    # (Before GetOwnDebt, which logs a disclosure of its own.)
    disclosures = await registry.lookup().ListOwnDisclosures(
        lookup_service_pb2.ListOwnDisclosuresRequest(), metadata=person
    )
    # Newest first: the bank's score-model package, the lender's lookup.
    assert [d.recipient.organization_number.value for d in disclosures.disclosures] == [BANK, LENDER]
    own = await registry.lookup().GetOwnDebt(lookup_service_pb2.GetOwnDebtRequest(), metadata=person)
    assert sorted(d.creditor.organization_number.value for d in own.debts) == sorted([BANK, BANK, LENDER])
    consents = (
        await registry.consent().ListConsents(consent_service_pb2.ListConsentsRequest(), metadata=person)
    ).consents
    assert [(c.id, len(c.uses)) for c in consents] == [(consent.id, 1)]
    block = await registry.consent().GetCreditBlock(consent_service_pb2.GetCreditBlockRequest(), metadata=co_borrower)
    assert block.credit_block.blocked
    flag = await registry.consent().GetIdentityTheftFlag(
        consent_service_pb2.GetIdentityTheftFlagRequest(), metadata=co_borrower
    )
    assert flag.identity_theft_flag.flagged
    assert await notice_delivered()
    preferences = await registry.notify().GetContactPreferences(
        notify_service_pb2.GetContactPreferencesRequest(), metadata=person
    )
    assert preferences.contact_preferences.email_address == "person@example.org"
    assert await lender_told()
    own_requests = await registry.ingest().ListOwnCorrectionRequests(
        ingest_service_pb2.ListOwnCorrectionRequestsRequest(), metadata=person
    )
    assert [(r.reason, r.answer) for r in own_requests.correction_requests] == [("Kortet er sagt opp.", "Rettet.")]
    # The list handed in before the rotation is read with the new key: the round finds both customers.
    cut = await registry.lookup().RunExtractRound(
        lookup_service_pb2.RunExtractRoundRequest(), metadata=registry.as_operator()
    )
    assert [(o.id, o.customer_count) for o in cut.orders] == [(order.id, 1)]  # Nordlys's: one of the two
    # The package cut before the rotation is read with the new key, whole.
    download = registry.lookup().DownloadExtractPackage(
        lookup_service_pb2.DownloadExtractPackageRequest(order_id=cut_before.id),
        metadata=registry.as_institution(BANK, scopes=(SCOPE_EXTRACT,)),
    )
    pieces = [part.chunk async for part in download if part.WhichOneof("part") == "chunk"]
    assert hashlib.sha256(b"".join(pieces)).digest() == packaged.manifest.sha256
    # A retry of a delivery from before the rotation still matches its digest: the first receipt, not a refusal.
    assert (await report_demo(registry, "before-rotation")).delivery.id == receipt.delivery.id
    # The old encryption key leaves the file: what was encrypted under it has been re-encrypted.
    await restart(registry, SubjectKeys(rotated.index_keys, 2, {2: rotated.encryption_keys[2]}, 2), path)
    listed = await registry.ingest().ListDebts(
        ingest_service_pb2.ListDebtsRequest(), metadata=registry.as_institution(LENDER)
    )
    assert [(d.account_id, d.debtor.value) for d in listed.debts] == [("CARD-7", PERSON)]
    listed = await registry.ingest().ListDebts(
        ingest_service_pb2.ListDebtsRequest(), metadata=registry.as_institution(BANK)
    )
    assert sorted(d.debtor.value for d in listed.debts) == sorted([PERSON, PERSON, CO_BORROWER])
    # The giver may still not report the debt it handed over.
    partial = await deliver_snapshot(
        registry, BANK, [c.register for c in demo_changes()], strictness=ingest_pb2.STRICTNESS_PARTIAL
    )
    assert [r.index for r in partial.rejections] == [1]
