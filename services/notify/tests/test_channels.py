"""How notices reach people (DOM-13): the channel by contact details and consent, the letter as PDF and message,
retries into a dead-letter list an operator replays, one notice for repeated lookups of one application."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from gjeld.notify.v1 import notify_pb2, notify_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_notify.adapters import DevelopmentChannels
from gjeld_notify.domain import MAX_LETTERS_PER_NOTICE
from gjeld_shared import errors
from gjeld_tools.testing import CO_BORROWER, DENIED, LENDER, PERSON, Registry, eventually, reason


@pytest.fixture
async def registry(services: Callable[..., Awaitable[Registry]]) -> Registry:
    """notify alone: it calls no other service."""
    return await services("notify")


N = notify_pb2


def letter(reference: str = "", recipient: str = LENDER) -> notify_pb2.CopyLetter:
    copy = notify_pb2.CopyLetter(
        recipient=identity_pb2.Institution(
            organization_number=identity_pb2.OrganizationNumber(value=recipient),
            name="Nordlys Kreditt AS",
            postal_address=["Storgata 10", "9008 Tromsø"],
            phone="+47 77 00 00 00",
        ),
        purpose="Credit assessment of a loan application, with your consent",
        source="gjeld",
        application_reference=reference,
    )
    copy.disclose_time.GetCurrentTime()
    return copy


async def enqueue(registry: Registry, source_id: str, subject: str = PERSON, reference: str = "") -> Any:
    return await registry.notify().EnqueueNotice(
        notify_service_pb2.EnqueueNoticeRequest(
            source_id=source_id,
            subject=identity_pb2.NationalIdentityNumber(value=subject),
            copy_letter=letter(reference),
        ),
        metadata=registry.as_service("lookup"),
    )


async def notices(registry: Registry, subject: str = PERSON) -> list[notify_pb2.Notice]:
    reply = await registry.notify().ListOwnNotices(
        notify_service_pb2.ListOwnNoticesRequest(), metadata=registry.as_subject(subject)
    )
    return list(reply.notices)


async def settled(registry: Registry, subject: str = PERSON, count: int = 1) -> list[notify_pb2.Notice]:
    async def check() -> list[notify_pb2.Notice]:
        found = await notices(registry, subject)
        done = [n for n in found if n.state != N.NOTICE_STATE_PENDING]
        return done if len(done) == count else []

    return await eventually(check, timeout=15)


async def restart_notify(registry: Registry, **settings: Any) -> None:
    await registry.restart("notify", **settings)


def sent(registry: Registry, channel: str) -> list[Path]:
    return sorted(p for p in (registry.mailbox / channel).rglob("*") if p.is_file())


async def test_a_digital_mailbox_gets_the_letter_as_pdf_and_message(registry: Registry) -> None:
    first = await enqueue(registry, "d-1")
    [notice] = await settled(registry)
    assert notice.state == N.NOTICE_STATE_DELIVERED and notice.channel == N.CHANNEL_DIGITAL_MAILBOX
    files = sent(registry, "digital_mailbox")
    assert sorted(p.name for p in files) == [f"{first.notice.id}.pdf", f"{first.notice.id}.txt"]
    pdf = next(p for p in files if p.suffix == ".pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-16:]
    text = next(p for p in files if p.suffix == ".txt").read_text()
    # DOM-13: who asked with address and phone, when, why, the source; in Norwegian unless the person chose else.
    for expected in ("GJENPART", "Nordlys Kreditt AS", "Storgata 10", "+47 77 00 00 00", "Formål:", "Kilde: gjeld"):
        assert expected in text
    assert PERSON not in text and all(PERSON not in str(p) for p in files)


async def test_post_without_a_digital_channel_and_email_only_with_consent(registry: Registry) -> None:
    await enqueue(registry, "d-post", subject=CO_BORROWER)
    [by_post] = await settled(registry, CO_BORROWER)
    assert by_post.channel == N.CHANNEL_POST and [p.suffix for p in sent(registry, "post")] == [".pdf"]
    # The subject consents to e-mail at an address of their choosing; the next notice goes there.
    subject = registry.as_subject(CO_BORROWER)
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await registry.notify().UpdateContactPreferences(
            notify_service_pb2.UpdateContactPreferencesRequest(
                contact_preferences=notify_pb2.ContactPreferences(email_address="not an address")
            ),
            metadata=subject,
        )
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    await registry.notify().UpdateContactPreferences(
        notify_service_pb2.UpdateContactPreferencesRequest(
            contact_preferences=notify_pb2.ContactPreferences(email_address="ola@example.no")
        ),
        metadata=subject,
    )
    await enqueue(registry, "d-mail", subject=CO_BORROWER)
    by_mail = await settled(registry, CO_BORROWER, count=2)
    assert by_mail[0].channel == N.CHANNEL_EMAIL
    [eml] = sent(registry, "email")
    mail = eml.read_text()
    assert "To: ola@example.no" in mail and "application/pdf" in mail
    # Withdrawing the consent (an empty address) means no more e-mail.
    await registry.notify().UpdateContactPreferences(
        notify_service_pb2.UpdateContactPreferencesRequest(contact_preferences=notify_pb2.ContactPreferences()),
        metadata=subject,
    )
    await enqueue(registry, "d-post-again", subject=CO_BORROWER)
    assert (await settled(registry, CO_BORROWER, count=3))[0].channel == N.CHANNEL_POST


async def test_sms_when_the_register_has_only_a_mobile_number(registry: Registry, tmp_path: Path) -> None:
    people = tmp_path / "people.json"
    people.write_text(
        json.dumps({"people": [{"identity_number": PERSON, "name": "Kari Nordmann", "mobile": "+47 900 00 001"}]})
    )
    await restart_notify(registry, population_register_file=people)
    await enqueue(registry, "d-sms")
    [notice] = await settled(registry)
    assert notice.channel == N.CHANNEL_SMS
    [sms] = sent(registry, "sms")
    assert sms.read_text().startswith("To: +47 900 00 001")


async def test_failed_deliveries_end_in_a_dead_letter_list_an_operator_replays(
    registry: Registry, tmp_path: Path
) -> None:
    # No notice is lost: breaking it (dropping a notice after its last attempt) fails here.
    broken = tmp_path / "not-a-folder"
    broken.write_text("a file where the mailbox should be")
    await restart_notify(registry, mailbox_dir=broken, max_delivery_attempts=3, retry_cap_seconds=0.1)
    created = await enqueue(registry, "d-dead")
    [failed] = await settled(registry)
    assert failed.state == N.NOTICE_STATE_FAILED and failed.attempts == 3 and failed.last_error
    operator = registry.as_operator()
    listed = await registry.notify().ListFailedNotices(notify_service_pb2.ListFailedNoticesRequest(), metadata=operator)
    assert [n.id for n in listed.notices] == [created.notice.id]
    assert not listed.notices[0].HasField("copy_letter") and PERSON.encode() not in listed.SerializeToString()
    for outsider in (registry.as_subject(PERSON), registry.as_service("lookup"), registry.as_institution(LENDER)):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await registry.notify().ListFailedNotices(notify_service_pb2.ListFailedNoticesRequest(), metadata=outsider)
        assert refused.value.code() in DENIED
    # The operator mends the channel and replays: the notice is delivered, once.
    await restart_notify(registry)
    retried = await registry.notify().RetryFailedNotice(
        notify_service_pb2.RetryFailedNoticeRequest(notice_id=created.notice.id), metadata=operator
    )
    assert retried.notice.state == N.NOTICE_STATE_PENDING and retried.notice.attempts == 0
    [delivered] = await settled(registry)
    assert delivered.state == N.NOTICE_STATE_DELIVERED
    assert len(sent(registry, "digital_mailbox")) == 2  # one PDF, one message
    with pytest.raises(grpc.aio.AioRpcError) as not_failed:
        await registry.notify().RetryFailedNotice(
            notify_service_pb2.RetryFailedNoticeRequest(notice_id=created.notice.id), metadata=operator
        )
    assert reason(not_failed.value) == "NOTICE_NOT_FAILED"


async def test_repeated_lookups_for_one_application_share_one_notice(registry: Registry) -> None:
    await restart_notify(registry, merge_window_seconds=1.5)
    first = await enqueue(registry, "d-a", reference="APP-9")
    second = await enqueue(registry, "d-b", reference="APP-9")
    other = await enqueue(registry, "d-c", reference="APP-10")
    again = await enqueue(registry, "d-b", reference="APP-9")  # the relay's retry of the same disclosure
    assert second.notice.id == first.notice.id and other.notice.id != first.notice.id
    assert not again.created and again.notice.id == first.notice.id
    done = await settled(registry, count=2)
    merged = next(n for n in done if n.id == first.notice.id)
    assert list(merged.source_ids) == ["d-a", "d-b"] and len(merged.merged_letters) == 1
    text = (registry.mailbox / "digital_mailbox").rglob(f"{first.notice.id}.txt").__next__().read_text()
    assert "2 OPPSLAG FOR SAMME SØKNAD" in text and text.count("Deres referanse: APP-9") == 2
    # Once sent, a notice takes no more: a later lookup for the same application gets its own.
    later = await enqueue(registry, "d-d", reference="APP-9")
    assert later.notice.id != first.notice.id


async def test_a_failed_notice_keeps_no_identity_number_in_its_error(registry: Registry, tmp_path: Path) -> None:
    # DOM-15: the channel's error quotes a path that holds an identity number (and an order id that is none).
    # Breaking it (storing the error text unredacted) fails here.
    broken = tmp_path / "order-12345678901" / PERSON
    broken.parent.mkdir()
    broken.write_text("a file where the mailbox should be")
    await restart_notify(registry, mailbox_dir=broken, max_delivery_attempts=1)
    await enqueue(registry, "d-quoted")
    [failed] = await settled(registry)
    assert failed.state == N.NOTICE_STATE_FAILED and "12345678901" in failed.last_error
    listed = await registry.notify().ListFailedNotices(
        notify_service_pb2.ListFailedNoticesRequest(), metadata=registry.as_operator()
    )
    [stored] = await registry.fetch("SELECT last_error FROM notify.notices")
    for text in (failed.last_error, listed.notices[0].last_error, stored["last_error"]):
        assert PERSON not in text and "<identity-number>" in text


async def test_a_notice_sent_again_after_a_crash_reaches_the_person_once(registry: Registry) -> None:
    # notify dies between handing a letter to the provider and recording it: the notice is sent again after the
    # restart, with the notice's id as the provider's idempotency key, and the provider delivers it once.
    created = await enqueue(registry, "d-crash")
    [notice] = await settled(registry)
    assert notice.state == N.NOTICE_STATE_DELIVERED
    await registry.stop("notify")
    # What a crash before the commit leaves: the letter at the provider, the notice still pending in the database.
    await registry.fetch(
        f"UPDATE notify.notices SET state = 'pending', deliver_time = NULL, next_attempt_time = now()"
        f" WHERE id = '{created.notice.id}'"
    )  # (and its claim run out)
    await registry.start("notify")
    [again] = await settled(registry)
    assert again.state == N.NOTICE_STATE_DELIVERED
    channels = DevelopmentChannels(registry.mailbox)
    assert channels.duplicates() == [created.notice.id]  # sent twice, delivered once
    assert len(sent(registry, "digital_mailbox")) == 2  # the one letter, as a PDF and a message


async def test_racing_enqueues_of_one_source_and_one_application_make_one_notice_with_every_letter(
    registry: Registry,
) -> None:
    # The relay's retries of one disclosure, and other lookups for the same application, all at once. Breaking it
    # (no serialising of enqueues per source and application) fails here: a notice with no letter, or a source
    # recorded twice (INTERNAL), or several notices for one application.
    await restart_notify(registry, merge_window_seconds=30)
    replies = await asyncio.gather(
        *(enqueue(registry, f"d-race-{i % 4}", reference="APP-RACE") for i in range(24)),
    )
    assert len({r.notice.id for r in replies}) == 1
    assert sum(r.created for r in replies) == 4  # each source recorded once
    empty = await registry.fetch(
        "SELECT count(*) AS n FROM notify.notices n"
        " WHERE NOT EXISTS (SELECT 1 FROM notify.notice_sources s WHERE s.notice_id = n.id)"
    )
    [held] = await registry.fetch("SELECT count(*) AS n FROM notify.notice_sources")
    assert empty[0]["n"] == 0 and held["n"] == 4


async def test_requests_past_their_documented_bounds_are_refused_naming_the_field(registry: Registry) -> None:
    # Bounds on purpose (notify.proto): a letter of more debt lines than any person has, a page token longer than
    # any this registry makes. Breaking it (no bound) fails here: the letter is taken.
    oversized = letter()
    for _ in range(1_001):
        oversized.debts.add().charge_card.interest_bearing_balance.minor_units = 100
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.notify().EnqueueNotice(
            notify_service_pb2.EnqueueNoticeRequest(
                source_id="d-huge", subject=identity_pb2.NationalIdentityNumber(value=PERSON), copy_letter=oversized
            ),
            metadata=registry.as_service("lookup"),
        )
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in errors.decode(refused.value).field_violations] == ["copy_letter.debts"]
    with pytest.raises(grpc.aio.AioRpcError) as long_token:
        await registry.notify().ListOwnNotices(
            notify_service_pb2.ListOwnNoticesRequest(page_token="x" * 1_001), metadata=registry.as_subject(PERSON)
        )
    assert long_token.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_a_burst_of_lookups_for_one_application_fills_one_notice_then_starts_another(registry: Registry) -> None:
    await restart_notify(registry, merge_window_seconds=30)
    replies = [
        await enqueue(registry, f"d-burst-{i}", reference="APP-BURST") for i in range(MAX_LETTERS_PER_NOTICE + 1)
    ]
    first, last = replies[0].notice.id, replies[-1].notice.id
    assert {r.notice.id for r in replies[:-1]} == {first} and last != first
    assert len(replies[-2].notice.source_ids) == MAX_LETTERS_PER_NOTICE


async def test_a_notice_once_tried_takes_no_more_letters_even_when_replayed(registry: Registry) -> None:
    # An operator's replay counts attempts from zero again, but the notice was drawn and perhaps handed over: a
    # letter merged into it then would never reach the person. Breaking it (merging by attempts alone) fails here.
    await restart_notify(registry, merge_window_seconds=60)
    first = await enqueue(registry, "d-tried", reference="APP-TRIED")
    await registry.fetch(
        "UPDATE notify.notices SET attempts = 0, last_error = 'TimeoutError',"
        f" next_attempt_time = now() + interval '1 minute' WHERE id = '{first.notice.id}'"
    )  # as a replay leaves a notice whose provider timed out
    later = await enqueue(registry, "d-after", reference="APP-TRIED")
    assert later.notice.id != first.notice.id


async def test_letters_come_in_the_language_the_person_chose(registry: Registry) -> None:
    # Norwegian bokmål by default; English when the person chooses it; nothing else is taken.
    person = registry.as_subject(PERSON)
    chosen = await registry.notify().UpdateContactPreferences(
        notify_service_pb2.UpdateContactPreferencesRequest(
            contact_preferences=notify_pb2.ContactPreferences(language="en")
        ),
        metadata=person,
    )
    assert chosen.contact_preferences.language == "en"
    await enqueue(registry, "d-english")
    [_notice] = await settled(registry)
    text = next(p for p in sent(registry, "digital_mailbox") if p.suffix == ".txt").read_text()
    assert text.startswith("COPY LETTER (GJENPART)") and "Purpose: Credit assessment" in text and "Formål" not in text
    assert "Norwegian time" in text and "Source: gjeld" in text
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.notify().UpdateContactPreferences(
            notify_service_pb2.UpdateContactPreferencesRequest(
                contact_preferences=notify_pb2.ContactPreferences(language="de")
            ),
            metadata=person,
        )
    assert [v.field for v in errors.decode(refused.value).field_violations] == ["contact_preferences.language"]


async def test_email_goes_through_a_real_smtp_server_only_to_the_consented_address(registry: Registry) -> None:
    # The SMTP adapter against a real SMTP server (aiosmtpd): one e-mail, to the address the person consented to,
    # with the letter as a PDF and the notice's id in its Message-ID; nothing falls back to the development files.
    from aiosmtpd.controller import Controller

    class Inbox:
        def __init__(self) -> None:
            self.received: list[tuple[list[str], bytes]] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.received.append((list(envelope.rcpt_tos), envelope.content))
            return "250 OK"

    inbox = Inbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        await restart_notify(registry, smtp_host="127.0.0.1", smtp_port=port, smtp_starttls=False)
        await registry.notify().UpdateContactPreferences(
            notify_service_pb2.UpdateContactPreferencesRequest(
                contact_preferences=notify_pb2.ContactPreferences(email_address="ola@example.org")
            ),
            metadata=registry.as_subject(CO_BORROWER),
        )
        created = await enqueue(registry, "d-mail", subject=CO_BORROWER)
        [notice] = await settled(registry, CO_BORROWER)
    finally:
        smtp.stop()
    assert notice.state == N.NOTICE_STATE_DELIVERED and notice.channel == N.CHANNEL_EMAIL
    [(to, content)] = inbox.received
    mail = email.message_from_bytes(content, policy=email.policy.default)
    assert to == ["ola@example.org"] and mail["Message-ID"] == f"<{created.notice.id}@notices.gjeld>"
    assert mail["Subject"].startswith("GJENPART") and CO_BORROWER.encode() not in content
    [attachment] = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf" and attachment.get_content().startswith(b"%PDF-")
    assert sent(registry, "email") == []
