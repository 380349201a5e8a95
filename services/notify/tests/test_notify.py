"""notify through real gRPC on a real database."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable

import grpc
import pytest
from gjeld.notify.v1 import notify_pb2, notify_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_notify.letters import kroner
from gjeld_shared import errors
from gjeld_tools.testing import CO_BORROWER, DENIED, PERSON, Registry, eventually


@pytest.fixture
async def registry(services: Callable[..., Awaitable[Registry]]) -> Registry:
    """notify alone: it calls no other service."""
    return await services("notify")


def enqueue(source_id: str, subject: str = PERSON) -> notify_service_pb2.EnqueueNoticeRequest:
    letter = notify_pb2.CopyLetter(
        recipient=identity_pb2.Institution(name="Nordlys Kreditt AS"), purpose="Credit assessment", source="gjeld"
    )
    letter.disclose_time.GetCurrentTime()
    return notify_service_pb2.EnqueueNoticeRequest(
        source_id=source_id, subject=identity_pb2.NationalIdentityNumber(value=subject), copy_letter=letter
    )


async def test_the_same_source_is_noticed_once_and_delivered_once(registry: Registry) -> None:
    as_lookup = registry.as_service("lookup")
    first = await registry.notify().EnqueueNotice(enqueue("disclosure-1"), metadata=as_lookup)
    again = await registry.notify().EnqueueNotice(enqueue("disclosure-1"), metadata=as_lookup)
    assert first.created and not again.created and again.notice.id == first.notice.id

    async def delivered() -> bool:
        reply = await registry.notify().ListOwnNotices(
            notify_service_pb2.ListOwnNoticesRequest(), metadata=registry.as_subject(PERSON)
        )
        return bool(reply.notices) and reply.notices[0].state == notify_pb2.NOTICE_STATE_DELIVERED

    await eventually(delivered)
    letters = list(registry.mailbox.glob("digital_mailbox/*/*.txt"))
    assert [p.name for p in letters] == [f"{first.notice.id}.txt"]
    assert "Nordlys Kreditt AS" in letters[0].read_text()
    others = await registry.notify().ListOwnNotices(
        notify_service_pb2.ListOwnNoticesRequest(), metadata=registry.as_subject(CO_BORROWER)
    )
    assert list(others.notices) == []


async def test_a_person_reads_their_own_letter_and_no_one_elses(registry: Registry) -> None:
    enqueued = await registry.notify().EnqueueNotice(enqueue("disclosure-2"), metadata=registry.as_service("lookup"))
    notice = enqueued.notice
    request = notify_service_pb2.GetOwnNoticeLetterRequest(notice_id=notice.id)
    own = await registry.notify().GetOwnNoticeLetter(request, metadata=registry.as_subject(PERSON))
    assert own.pdf.startswith(b"%PDF-") and own.title.startswith("GJENPART")  # in Norwegian by default
    # Breaking it (looking the notice up by its id alone) lets the co-borrower read the person's letter here.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.notify().GetOwnNoticeLetter(request, metadata=registry.as_subject(CO_BORROWER))
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND


async def test_only_lookup_may_enqueue(registry: Registry) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await registry.notify().EnqueueNotice(enqueue("x"), metadata=registry.as_subject(PERSON))
    assert refused.value.code() in DENIED


async def test_a_batch_is_recorded_whole_or_not_at_all(registry: Registry) -> None:
    # The relay's batches (issue 15: one call for many letters): each notice as EnqueueNotice records it, in order
    # and idempotent on its source id; one bad notice refuses the batch, naming it, and records none of it.
    as_lookup = registry.as_service("lookup")
    batch = notify_service_pb2.BatchEnqueueNoticesRequest(requests=[enqueue("d-1"), enqueue("d-2", CO_BORROWER)])
    first = await registry.notify().BatchEnqueueNotices(batch, metadata=as_lookup)
    assert [r.created for r in first.responses] == [True, True]
    assert [list(r.notice.source_ids) for r in first.responses] == [["d-1"], ["d-2"]]
    again = await registry.notify().BatchEnqueueNotices(batch, metadata=as_lookup)
    assert [(r.created, r.notice.id) for r in again.responses] == [(False, r.notice.id) for r in first.responses]

    bad = enqueue("d-4")
    bad.copy_letter.purpose = ""
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        batch = notify_service_pb2.BatchEnqueueNoticesRequest(requests=[enqueue("d-3"), bad, enqueue("d-3")])
        await registry.notify().BatchEnqueueNotices(batch, metadata=as_lookup)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    named = {v.field for v in errors.decode(refused.value).field_violations}
    assert named == {"requests[1].copy_letter.purpose", "requests"}  # the bad one, and d-3 twice
    assert await registry.fetch("SELECT 1 FROM notify.notice_sources WHERE source_id = 'd-3'") == []
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await registry.notify().BatchEnqueueNotices(batch, metadata=registry.as_subject(PERSON))
    assert denied.value.code() in DENIED


def test_amounts_read_as_kroner() -> None:
    assert kroner(32_000_000) == "320\xa0000,00\xa0kr" == kroner(32_000_000, "nb")
    assert kroner(5) == "0,05\xa0kr"


def test_every_synthetic_number_is_a_sandbox_person_and_no_real_number_is() -> None:
    from gjeld_shared.sandbox import sandbox_person
    from gjeld_tools import synthetic

    numbers = list(itertools.islice(synthetic.people(seed=11), 200))
    people = [sandbox_person(n) for n in numbers]
    assert all(p is not None and p.name and len(p.postal_address) == 2 for p in people)
    assert people == [sandbox_person(n) for n in numbers]  # the same person every time
    assert 100 < sum(p.digital_mailbox for p in people if p) < 200  # most, not all, have a digital mailbox
    assert sandbox_person("01019010046") is None  # a valid real (not synthetic) number: nobody made up for it
    assert sandbox_person("not a number") is None


async def test_a_letter_is_rendered_once(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 15: a letter was drawn again at every retry and every time the person opened it. Now at the first delivery
    # attempt only, kept sealed with the notice, and what the person opens is what was sent. (Broken by not using
    # the kept letter: the count below grows with each opening.)
    from gjeld_notify import letters

    drawn = []
    render = letters.message_of

    def counting(*args: object, **kwargs: object) -> letters.Message:
        drawn.append(1)
        return render(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(letters, "message_of", counting)
    enqueued = await registry.notify().EnqueueNotice(enqueue("disclosure-3"), metadata=registry.as_service("lookup"))
    notice = enqueued.notice

    async def delivered() -> bool:
        reply = await registry.notify().ListOwnNotices(
            notify_service_pb2.ListOwnNoticesRequest(), metadata=registry.as_subject(PERSON)
        )
        return any(n.id == notice.id and n.state == notify_pb2.NOTICE_STATE_DELIVERED for n in reply.notices)

    await eventually(delivered)
    sent = next(registry.mailbox.glob(f"digital_mailbox/*/{notice.id}.pdf")).read_bytes()
    request = notify_service_pb2.GetOwnNoticeLetterRequest(notice_id=notice.id)
    for _ in range(3):
        opened = await registry.notify().GetOwnNoticeLetter(request, metadata=registry.as_subject(PERSON))
        assert opened.pdf == sent
    assert len(drawn) == 1
    [row] = await registry.fetch(f"SELECT message_sealed FROM notify.notices WHERE id = '{notice.id}'")
    assert b"%PDF" not in bytes(row["message_sealed"])  # sealed at rest: it holds the person's name and address
