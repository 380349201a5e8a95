"""lookup through real gRPC, with consent, ingest and notify running beside it."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from gjeld.consent.v1 import consent_pb2, consent_service_pb2
from gjeld.lookup.v1 import lookup_pb2, lookup_service_pb2
from gjeld.notify.v1 import notify_pb2, notify_service_pb2
from gjeld.type.v1 import debt_pb2, identity_pb2
from gjeld_lookup.adapters import Registry as Registry_
from gjeld_lookup.service_layer import Lookups
from gjeld_shared import errors
from gjeld_tools.connect import Credential
from gjeld_tools.testing import (
    BANK,
    CO_BORROWER,
    DENIED,
    LENDER,
    PERSON,
    Registry,
    eventually,
    grant,
    look_up,
    reason,
    report_demo,
)


async def test_lender_gets_amounts_and_types_but_never_the_creditor(registry: Registry) -> None:
    # DOM-5. Breaking it (answering the lender with OwnDebt, or copying `creditor` into the reply) fails here.
    await report_demo(registry)
    await grant(registry)
    reply = await look_up(registry)
    wire = reply.SerializeToString()
    assert b"Fjordbanken" not in wire and BANK.encode() not in wire
    assert b"ACC-001" not in wire  # the creditor's account id identifies the creditor too
    assert [d.WhichOneof("terms") for d in reply.debts] == ["repayment_loan", "credit_facility", "charge_card"]
    totals = {t.debt_type: (t.debt_count, t.balance.minor_units, t.credit_limit.minor_units) for t in reply.totals}
    assert totals == {
        debt_pb2.DEBT_TYPE_REPAYMENT_LOAN: (1, 32000000, 0),
        debt_pb2.DEBT_TYPE_CREDIT_FACILITY: (1, 340000, 1200000),
        debt_pb2.DEBT_TYPE_CHARGE_CARD: (1, 845000, 0),
    }
    # DOM-3: the joint loan is flagged, the other borrower is not named.
    assert reply.debts[0].co_borrower_role == debt_pb2.CO_BORROWER_ROLE_HAS_CO_BORROWER
    assert CO_BORROWER.encode() not in wire
    assert reply.disclosure.recipient.name == "Nordlys Kreditt AS"


async def test_subject_sees_own_debt_with_creditors_and_who_received_it(registry: Registry) -> None:
    await report_demo(registry)
    consent = await grant(registry)
    disclosed = await look_up(registry, reference="APP-7")
    own = await registry.lookup().GetOwnDebt(
        lookup_service_pb2.GetOwnDebtRequest(), metadata=registry.as_subject(PERSON)
    )
    assert {(d.creditor.name, d.account_id) for d in own.debts} == {
        ("Fjordbanken ASA", "ACC-001"),
        ("Fjordbanken ASA", "CARD-7"),
        ("Fjordbanken ASA", "CHARGE-3"),
    }
    assert all(d.HasField("confirm_time") for d in own.debts)
    listed = await registry.lookup().ListOwnDisclosures(
        lookup_service_pb2.ListOwnDisclosuresRequest(), metadata=registry.as_subject(PERSON)
    )
    by_purpose = {d.purpose: d for d in listed.disclosures}
    lender_view = by_purpose[lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT]
    assert lender_view.id == disclosed.disclosure.id
    assert lender_view.consent_id == consent.id
    assert lender_view.recipient.organization_number.value == LENDER
    assert lender_view.application_reference == "APP-7"
    assert lookup_pb2.DISCLOSURE_PURPOSE_SUBJECT_ACCESS in by_purpose
    # Another person sees none of it.
    other = await registry.lookup().ListOwnDisclosures(
        lookup_service_pb2.ListOwnDisclosuresRequest(), metadata=registry.as_subject(CO_BORROWER)
    )
    assert [d.purpose for d in other.disclosures] == []


@pytest.mark.parametrize(
    "setup, expected",
    [
        ("none", "CONSENT_NOT_FOUND"),
        ("withdrawn", "CONSENT_WITHDRAWN"),
        ("other lender", "CONSENT_NOT_FOUND"),
        ("used up", "CONSENT_USED_UP"),
    ],
)
async def test_no_disclosure_without_an_active_consent(registry: Registry, setup: str, expected: str) -> None:
    # DOM-10. Breaking it (lookup skipping UseConsent) fails here: the lookup would succeed.
    await report_demo(registry)
    if setup == "withdrawn":
        consent = await grant(registry)
        from gjeld.consent.v1 import consent_service_pb2

        await registry.consent().WithdrawConsent(
            consent_service_pb2.WithdrawConsentRequest(consent_id=consent.id), metadata=registry.as_subject(PERSON)
        )
    elif setup == "other lender":
        await grant(registry, institution="922333444")
    elif setup == "used up":
        await grant(registry, days=None)  # the default: one use within 10 minutes
        await look_up(registry)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await look_up(registry)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert reason(refused.value) == expected
    listed = await registry.lookup().ListOwnDisclosures(
        lookup_service_pb2.ListOwnDisclosuresRequest(), metadata=registry.as_subject(PERSON)
    )
    assert len(listed.disclosures) == (1 if setup == "used up" else 0)


async def test_every_disclosure_gets_exactly_one_letter_even_when_notify_was_down(registry: Registry) -> None:
    # DOM-13 and the outbox. Breaking it (sending the letter only inline, or not de-duplicating) fails here.
    await report_demo(registry)
    await grant(registry)
    await registry.stop("notify")
    first = await look_up(registry, reference="while notify is down")
    second = await look_up(registry)

    async def relay_failed() -> bool:
        outbox = await registry.fetch("SELECT attempts, relay_time FROM lookup.notice_outbox")
        return len(outbox) == 2 and all(r["attempts"] >= 1 and r["relay_time"] is None for r in outbox)

    await eventually(relay_failed)  # the relay tried while notify was down, and keeps the letters
    await registry.start("notify")  # on the same ports

    async def delivered() -> list[notify_service_pb2.ListOwnNoticesResponse]:
        reply = await registry.notify().ListOwnNotices(
            notify_service_pb2.ListOwnNoticesRequest(), metadata=registry.as_subject(PERSON)
        )
        done = [n for n in reply.notices if n.HasField("deliver_time")]
        return done if len(done) == 2 else []

    notices = await eventually(delivered, timeout=20)
    assert sorted(n.source_id for n in notices) == sorted([first.disclosure.id, second.disclosure.id])
    # The relay is traced by the service's own provider: each hand-over is a span with notify's call under it. The
    # relay's span ends after notify has answered (it then marks the letters relayed), and notify may deliver the
    # letters before that: so the spans are awaited too, not read once.

    async def relay_traced() -> bool:
        spans = registry.spans.get_finished_spans()
        relays = {s.context.span_id for s in spans if s.name == "relay copy letters"}
        return any(s.name.endswith("BatchEnqueueNotices") and s.parent and s.parent.span_id in relays for s in spans)

    await eventually(relay_traced)
    letters = sorted(registry.mailbox.glob("digital_mailbox/*/*.txt"))
    assert len(letters) == 2
    text = next(p for p in letters if notices[0].id in p.name or notices[1].id in p.name).read_text()
    assert "Nordlys Kreditt AS" in text and "Fjordbanken" not in text
    assert PERSON not in "".join(p.read_text() for p in letters) and PERSON not in "".join(map(str, letters))


async def test_a_letter_notify_refuses_is_set_aside_and_its_batch_flows_on(registry: Registry) -> None:
    # The relay hands letters over in batches, all or none (issue 15); one that notify refuses as such (here: a letter
    # with nothing in it) takes its batch apart, so the others still reach notify and only it is set aside. Breaking
    # it (counting the batch's refusal against every letter in it) leaves the good letter set aside too.
    await report_demo(registry)
    await grant(registry, max_uses=2)
    await registry.stop("notify")
    good, bad = await look_up(registry), await look_up(registry)

    async def both_tried() -> bool:
        outbox = await registry.fetch("SELECT attempts FROM lookup.notice_outbox")
        return len(outbox) == 2 and all(r["attempts"] >= 1 for r in outbox)

    await eventually(both_tried)
    await registry.fetch(
        "UPDATE lookup.notice_outbox SET copy_letter = '', next_attempt_time = now()"
        f" WHERE disclosure_id = '{bad.disclosure.id}' RETURNING 1"
    )
    await registry.fetch("UPDATE lookup.notice_outbox SET next_attempt_time = now() RETURNING 1")
    await registry.start("notify")

    async def settled() -> dict[str, Any]:
        rows = await registry.fetch(
            "SELECT disclosure_id, relay_time, failed_time, last_error FROM lookup.notice_outbox"
        )
        by_id = {str(r["disclosure_id"]): r for r in rows}
        done = by_id[good.disclosure.id]["relay_time"] is not None and by_id[bad.disclosure.id]["failed_time"]
        return by_id if done else {}

    outcome = await eventually(settled, timeout=20)
    assert outcome[good.disclosure.id]["failed_time"] is None
    assert outcome[bad.disclosure.id]["last_error"] == "INVALID_ARGUMENT"


async def test_letters_reach_a_notify_that_takes_no_batches(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A rolling deploy: lookup is new, notify still old and answers the batch UNIMPLEMENTED. The letters are handed
    # over one by one (EnqueueNotice) instead of failing together until all are set aside. Breaking it (splitting a
    # batch only when a letter is refused) leaves both letters unrelayed here.
    async def old_notify(self: Any, *args: Any) -> None:
        raise grpc.aio.AioRpcError(grpc.StatusCode.UNIMPLEMENTED, grpc.aio.Metadata(), grpc.aio.Metadata())

    monkeypatch.setattr(Registry_, "send_letters", old_notify)
    await report_demo(registry)
    await grant(registry, max_uses=2)
    await registry.stop("notify")
    await look_up(registry)
    await look_up(registry)
    await registry.start("notify")  # both letters due together: one batch

    async def relayed() -> bool:
        rows = await registry.fetch("SELECT relay_time, failed_time FROM lookup.notice_outbox")
        return len(rows) == 2 and all(r["relay_time"] is not None and r["failed_time"] is None for r in rows)

    await eventually(relayed, timeout=20)


async def test_a_lookup_is_one_trace_and_the_record_keeps_its_id(registry: Registry) -> None:
    await report_demo(registry)
    await grant(registry)
    registry.spans.clear()
    reply = await look_up(registry)
    spans = [
        s for s in registry.spans.get_finished_spans() if f"{s.context.trace_id:032x}" == reply.disclosure.trace_id
    ]
    services = {s.resource.attributes["service.name"] for s in spans}
    assert services == {"gjeld-lookup", "gjeld-consent", "gjeld-ingest"}
    assert any(s.name.endswith("UseConsent") for s in spans)
    assert any(s.name.endswith("ListSubjectDebts") for s in spans)
    assert any(s.name == "record disclosure" for s in spans)
    # DOM-15: no identity number in any span, anywhere.
    every_value = repr(
        [
            (s.name, dict(s.attributes or {}), [e.attributes for e in s.events])
            for s in registry.spans.get_finished_spans()
        ]
    )
    assert PERSON not in every_value


async def test_callers_are_established_and_kept_to_their_roles(registry: Registry) -> None:
    request = lookup_service_pb2.LookUpDebtRequest(
        subject=identity_pb2.NationalIdentityNumber(value=PERSON),
        purpose=lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT,
    )
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await registry.lookup().LookUpDebt(request)
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as forged:
        await registry.lookup().LookUpDebt(request, metadata=Credential(token=lambda aud: "not.a.token"))
    assert forged.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as subject:
        await registry.lookup().LookUpDebt(request, metadata=registry.as_subject(PERSON))
    assert subject.value.code() in DENIED
    with pytest.raises(grpc.aio.AioRpcError) as without_scope:
        await registry.lookup().LookUpDebt(request, metadata=registry.as_institution(LENDER, []))
    assert reason(without_scope.value) == "MISSING_SCOPE"


async def test_bad_identity_number_is_named_and_not_echoed(registry: Registry) -> None:
    bad = PERSON[:-1] + "2"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.lookup().LookUpDebt(
            lookup_service_pb2.LookUpDebtRequest(subject=identity_pb2.NationalIdentityNumber(value=bad)),
            metadata=registry.as_institution(LENDER),
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    remote = errors.decode(refused.value)
    assert [v.field for v in remote.field_violations] == ["subject.value", "purpose"]
    assert bad not in repr(remote) and bad not in (refused.value.details() or "")


async def test_a_retried_lookup_gets_the_first_answer_and_burns_nothing(registry: Registry) -> None:
    # AIP-155: the lender lost the answer and asks again with the same request id. Its single-use consent is not
    # used again, no second disclosure or letter is made; the same id with other content is refused.
    await report_demo(registry)
    consent = await grant(registry, days=None)  # the default: one use within 10 minutes
    first = await look_up(registry, reference="APP-9", request_id="lookup-1")
    again = await look_up(registry, reference="APP-9", request_id="lookup-1")
    assert again.disclosure == first.disclosure and list(again.debts) == list(first.debts)
    assert (again.creditors_answered, again.creditors_missing, list(again.totals)) == (
        first.creditors_answered,
        first.creditors_missing,
        list(first.totals),
    )
    listed = await registry.consent().ListConsents(
        consent_service_pb2.ListConsentsRequest(), metadata=registry.as_subject(PERSON)
    )
    assert [len(c.uses) for c in listed.consents if c.id == consent.id] == [1]
    assert len(await registry.fetch("SELECT 1 FROM lookup.disclosures WHERE recipient IS NOT NULL")) == 1
    assert len(await registry.fetch("SELECT 1 FROM lookup.notice_outbox")) == 1
    with pytest.raises(grpc.aio.AioRpcError) as reused:
        await look_up(registry, reference="APP-10", request_id="lookup-1")
    assert reused.value.code() == grpc.StatusCode.ALREADY_EXISTS and reason(reused.value) == "REQUEST_ID_REUSED"
    # A new request id is a new lookup: the single use is spent.
    with pytest.raises(grpc.aio.AioRpcError) as spent:
        await look_up(registry, reference="APP-9", request_id="lookup-2")
    assert reason(spent.value) == "CONSENT_USED_UP"


async def test_a_letter_that_cannot_be_read_is_set_aside_and_the_rest_flow_on(registry: Registry) -> None:
    # No poison pill: an outbox row whose subject cannot be decrypted is retried, then set aside; letters queued
    # behind it still reach notify.
    await registry.restart("lookup", max_relay_attempts=2)
    await registry.fetch(
        "INSERT INTO lookup.notice_outbox (disclosure_id, subject_encrypted, copy_letter, next_attempt_time) "
        "VALUES ('00000000-0000-0000-0000-000000000001', '\\x01dead'::bytea, '\\x00'::bytea, now() - interval '1 hour')"
    )
    await report_demo(registry)
    await grant(registry)
    disclosed = await look_up(registry)

    async def flowed() -> bool:
        rows = await registry.fetch(
            "SELECT disclosure_id, relay_time, failed_time, last_error FROM lookup.notice_outbox"
        )
        by_id = {str(r["disclosure_id"]): r for r in rows}
        poison, good = by_id["00000000-0000-0000-0000-000000000001"], by_id[disclosed.disclosure.id]
        return good["relay_time"] is not None and poison["failed_time"] is not None

    await eventually(flowed, timeout=15)
    [poison] = await registry.fetch("SELECT attempts, last_error FROM lookup.notice_outbox WHERE relay_time IS NULL")
    assert poison["attempts"] == 2 and poison["last_error"] == "ValueError"  # its kind, never its text
    # Operators see the letters set aside (never their content or subject) and put one back.
    operator, poison_id = registry.as_operator(), "00000000-0000-0000-0000-000000000001"
    listed = await registry.lookup().ListFailedCopyLetters(
        lookup_service_pb2.ListFailedCopyLettersRequest(), metadata=operator
    )
    assert [(f.disclosure_id, f.attempts, f.last_error) for f in listed.copy_letters] == [(poison_id, 2, "ValueError")]
    assert listed.copy_letters[0].HasField("fail_time")
    retried = await registry.lookup().RetryFailedCopyLetter(
        lookup_service_pb2.RetryFailedCopyLetterRequest(disclosure_id=poison_id), metadata=operator
    )
    assert retried.copy_letter.attempts == 0 and not retried.copy_letter.HasField("fail_time")

    async def set_aside_again() -> bool:
        query = f"SELECT failed_time FROM lookup.notice_outbox WHERE disclosure_id = '{poison_id}'"
        [row] = await registry.fetch(query)
        return row["failed_time"] is not None

    await eventually(set_aside_again, timeout=15)  # tried again, and still unreadable
    with pytest.raises(grpc.aio.AioRpcError) as not_failed:
        await registry.lookup().RetryFailedCopyLetter(
            lookup_service_pb2.RetryFailedCopyLetterRequest(disclosure_id=disclosed.disclosure.id), metadata=operator
        )
    assert reason(not_failed.value) == "COPY_LETTER_NOT_FAILED"


async def test_the_relay_holds_no_transaction_while_notify_is_slow(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No transaction waits on the network: while notify takes its time, lookup's outbox row is neither locked nor
    # held in an open transaction. Breaking it (handing over inside the claiming transaction) fails here.
    calling, answer = asyncio.Event(), asyncio.Event()
    handed_over = Registry_.send_letter

    async def slow_send(self: Any, *args: Any) -> None:
        calling.set()
        await answer.wait()
        await handed_over(self, *args)

    monkeypatch.setattr(Registry_, "send_letter", slow_send)
    await report_demo(registry)
    await grant(registry)
    await look_up(registry)
    await asyncio.wait_for(calling.wait(), 10)
    await asyncio.sleep(0.5)  # a transaction held open across the hand-over would be idle all this time
    idle = await registry.idle_transactions("lookup", longer_than=0.4)
    free = await registry.fetch("SELECT disclosure_id FROM lookup.notice_outbox FOR UPDATE SKIP LOCKED")
    answer.set()
    assert idle == 0 and len(free) == 1

    async def relayed() -> bool:
        [row] = await registry.fetch("SELECT attempts, relay_time FROM lookup.notice_outbox")
        return row["relay_time"] is not None and row["attempts"] == 1

    await eventually(relayed)


async def test_a_lookup_retried_after_a_crash_uses_the_consent_once(
    registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    # lookup dies after consent recorded the use and before the disclosure is recorded; the lender retries with the
    # same request id. Breaking it (a new disclosure id for the retry) fails here: the consent counts two uses, one
    # of them for a disclosure that never was.
    await report_demo(registry)
    consent = await grant(registry, max_uses=None)
    recorded = Lookups._record
    crashes = [RuntimeError("the process died here")]

    async def crash_once(self: Any, *args: Any, **kwargs: Any) -> None:
        if crashes:
            raise crashes.pop()
        await recorded(self, *args, **kwargs)

    monkeypatch.setattr(Lookups, "_record", crash_once)
    with pytest.raises(grpc.aio.AioRpcError):
        await look_up(registry, request_id="crash-1")
    retried = await look_up(registry, request_id="crash-1")
    listed = await registry.consent().ListConsents(
        consent_service_pb2.ListConsentsRequest(), metadata=registry.as_subject(PERSON)
    )
    [used] = [c for c in listed.consents if c.id == consent.id]
    assert used.use_count == 1 and [u.disclosure_id for u in used.uses] == [retried.disclosure.id]


async def test_a_person_not_in_the_development_file_receives_exactly_one_letter(registry: Registry) -> None:
    # DOM-13 for everyone: the sandbox population gives every synthetic person an address. Breaking it (the dev
    # file alone) fails here: the letter cannot be delivered and ends among the dead letters.
    from gjeld.ingest.v1 import ingest_service_pb2
    from gjeld_notify.adapters import DevelopmentChannels
    from gjeld_tools import synthetic
    from gjeld_tools.testing import demo_changes

    stranger = next(n for n in synthetic.people(seed=5) if n not in (PERSON, CO_BORROWER))
    change = demo_changes()[1]
    change.register.debtor.value = stranger
    await registry.ingest().ReportDebtChanges(
        ingest_service_pb2.ReportDebtChangesRequest(request_id="stranger-1", changes=[change]),
        metadata=registry.as_institution(BANK),
    )
    await grant(registry, subject=stranger)
    disclosed = await look_up(registry, subject=stranger)
    assert len(disclosed.debts) == 1

    async def delivered() -> list[Any]:
        reply = await registry.notify().ListOwnNotices(
            notify_service_pb2.ListOwnNoticesRequest(), metadata=registry.as_subject(stranger)
        )
        return [n for n in reply.notices if n.state != notify_pb2.NOTICE_STATE_PENDING]

    [notice] = await eventually(delivered, timeout=15)
    assert notice.state == notify_pb2.NOTICE_STATE_DELIVERED and notice.source_id == disclosed.disclosure.id
    channels = DevelopmentChannels(registry.mailbox)
    assert channels.deliveries() == [notice.id] and channels.duplicates() == []


async def test_a_lookup_that_fails_after_the_consent_check_spends_nothing(registry: Registry) -> None:
    # Issue 15: the single-use consent was spent before the debts were fetched, so a failure after it burnt it.
    # (Broken by not giving the use back: the second lookup is then refused CONSENT_USED_UP.)
    await report_demo(registry)
    consent = await grant(registry, max_uses=1)
    await registry.stop("ingest")  # the register cannot be read
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await look_up(registry)
    assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
    await registry.start("ingest")

    async def answered() -> Any:
        try:
            return await look_up(registry)
        except grpc.aio.AioRpcError as error:  # lookup's channel to ingest may still be reconnecting
            if error.code() != grpc.StatusCode.UNAVAILABLE:
                raise
            return None

    assert len((await eventually(answered)).debts) == 3  # the one use is still there
    feed = await registry.consent().ListConsentEvents(
        consent_service_pb2.ListConsentEventsRequest(), metadata=registry.as_institution(LENDER)
    )
    kinds = [e.type for e in feed.events if e.consent.id == consent.id]
    used, released = (
        kinds.count(consent_pb2.CONSENT_EVENT_TYPE_USED),
        kinds.count(consent_pb2.CONSENT_EVENT_TYPE_USE_RELEASED),
    )
    assert kinds[-1] == consent_pb2.CONSENT_EVENT_TYPE_USED and released >= 1 and used == released + 1
