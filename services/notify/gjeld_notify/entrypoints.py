"""The thin gRPC layer of notify."""

from __future__ import annotations

import grpc
from gjeld.notify.v1 import notify_pb2, notify_service_pb2_grpc
from gjeld.notify.v1 import notify_service_pb2 as pb
from gjeld_shared import fields, paging
from gjeld_shared.access import DELIVERING_INSTITUTIONS, OPERATORS, SUBJECTS, Rule, Services
from gjeld_shared.callers import require_institution, require_subject
from gjeld_shared.errors import Violations
from gjeld_shared.timestamps import to_proto

from .domain import Channel, InstitutionNotice, Notice, NoticeState, Preferences
from .letters import DEFAULT_LANGUAGE, LANGUAGES
from .service_layer import MAX_ALERTED_SOURCE_ID, Content, Notices

# Bounds on a copy letter (documented in notify.proto): far above any real one.
MAX_LETTER_DEBTS = 1_000
MAX_LETTER_TOTALS = 10
# The most notices one BatchEnqueueNotices records.
MAX_BATCH = 100

STATES = {
    NoticeState.PENDING: notify_pb2.NOTICE_STATE_PENDING,
    NoticeState.DELIVERED: notify_pb2.NOTICE_STATE_DELIVERED,
    NoticeState.FAILED: notify_pb2.NOTICE_STATE_FAILED,
}
CHANNELS = {
    None: notify_pb2.CHANNEL_UNSPECIFIED,
    Channel.DIGITAL_MAILBOX: notify_pb2.CHANNEL_DIGITAL_MAILBOX,
    Channel.SMS: notify_pb2.CHANNEL_SMS,
    Channel.EMAIL: notify_pb2.CHANNEL_EMAIL,
    Channel.POST: notify_pb2.CHANNEL_POST,
}


def notice_to_proto(notice: Notice, *, content: bool = True) -> notify_pb2.Notice:
    message = notify_pb2.Notice(
        id=str(notice.id),
        source_id=notice.source_id,
        state=STATES[notice.state],
        channel=CHANNELS[notice.channel],
        create_time=to_proto(notice.create_time),
        source_ids=notice.source_ids,
        attempts=notice.attempts,
        last_error=notice.last_error,
    )
    if content and notice.letters:
        message.copy_letter.CopyFrom(notice.letters[0])
        message.merged_letters.extend(notice.letters[1:])
    if content and notice.outcome is not None:
        message.correction_outcome.CopyFrom(notice.outcome)
    if content and notice.alert is not None:
        message.identity_theft_alert.CopyFrom(notice.alert)
    if notice.deliver_time is not None:
        message.deliver_time.CopyFrom(to_proto(notice.deliver_time))
    return message


def _preferences(chosen: Preferences) -> notify_pb2.ContactPreferences:
    message = notify_pb2.ContactPreferences(email_address=chosen.email, language=chosen.language)
    if chosen.update_time is not None:
        message.update_time.CopyFrom(to_proto(chosen.update_time))
    return message


# Who may call each method, with which credential (access.py): lookup alone enqueues letters (by its workload
# certificate), persons read theirs, operators handle dead letters.
ACCESS: dict[str, Rule] = {
    "EnqueueNotice": Services("lookup"),
    "BatchEnqueueNotices": Services("lookup"),
    # Correction notices to institutions (DOM-14): lookup appends, each institution reads its own feed.
    "EnqueueInstitutionNotice": Services("lookup"),
    "ListInstitutionNotices": DELIVERING_INSTITUTIONS,
    "ListOwnNotices": SUBJECTS,
    "GetOwnNoticeLetter": SUBJECTS,
    "GetContactPreferences": SUBJECTS,
    "UpdateContactPreferences": SUBJECTS,
    "ListFailedNotices": OPERATORS,
    "RetryFailedNotice": OPERATORS,
}


def _wanted(violations: Violations, at: str, request: pb.EnqueueNoticeRequest) -> tuple[str, str, Content]:
    """A notice asked for, checked: its source id, subject and content; the fields named from `at`."""
    fields.text(violations, f"{at}source_id", request.source_id, maximum=64, required=True)
    fields.identity_number(violations, f"{at}subject.value", request.subject.value)
    if request.WhichOneof("content") == "correction_outcome":
        outcome = request.correction_outcome
        fields.text(violations, f"{at}correction_outcome.account_id", outcome.account_id, maximum=64, required=True)
        fields.prose(violations, f"{at}correction_outcome.answer", outcome.answer, maximum=2000)
        if len(outcome.told) > MAX_LETTER_DEBTS:
            violations.add(f"{at}correction_outcome.told", f"must hold at most {MAX_LETTER_DEBTS:,}")
        return request.source_id, request.subject.value, outcome
    if request.WhichOneof("content") != "copy_letter":
        violations.add(f"{at}content", "a copy_letter or a correction_outcome is required")
    letter = request.copy_letter
    fields.text(violations, f"{at}copy_letter.purpose", letter.purpose, maximum=500, required=True)
    fields.text(violations, f"{at}copy_letter.source", letter.source, maximum=100, required=True)
    fields.text(violations, f"{at}copy_letter.application_reference", letter.application_reference, maximum=64)
    if len(letter.debts) > MAX_LETTER_DEBTS:
        violations.add(f"{at}copy_letter.debts", f"must hold at most {MAX_LETTER_DEBTS:,}")
    if len(letter.totals) > MAX_LETTER_TOTALS:
        violations.add(f"{at}copy_letter.totals", f"must hold at most {MAX_LETTER_TOTALS}")
    if letter.identity_theft_flag and len(request.source_id) > MAX_ALERTED_SOURCE_ID:
        # The alert's own source id is the letter's with a prefix (ALERT_PREFIX), within the same 64 characters.
        violations.add(f"{at}source_id", f"must be at most {MAX_ALERTED_SOURCE_ID} characters with an alert")
    return request.source_id, request.subject.value, letter


class NotifyServicer(notify_service_pb2_grpc.NotifyServiceServicer):
    def __init__(self, notices: Notices, pages: paging.PageTokens) -> None:
        self._notices = notices
        self._pages = pages

    async def EnqueueNotice(
        self,
        request: pb.EnqueueNoticeRequest,
        context: grpc.aio.ServicerContext[pb.EnqueueNoticeRequest, pb.EnqueueNoticeResponse],
    ) -> pb.EnqueueNoticeResponse:
        violations = Violations()
        wanted = _wanted(violations, "", request)
        violations.raise_if_any()
        notice, created = await self._notices.enqueue(*wanted)
        return pb.EnqueueNoticeResponse(notice=notice_to_proto(notice), created=created)

    async def BatchEnqueueNotices(
        self,
        request: pb.BatchEnqueueNoticesRequest,
        context: grpc.aio.ServicerContext[pb.BatchEnqueueNoticesRequest, pb.BatchEnqueueNoticesResponse],
    ) -> pb.BatchEnqueueNoticesResponse:
        violations = Violations()
        if not request.requests or len(request.requests) > MAX_BATCH:
            violations.add("requests", f"must hold between 1 and {MAX_BATCH} notices")
        wanted = [_wanted(violations, f"requests[{n}].", one) for n, one in enumerate(request.requests[:MAX_BATCH])]
        if len({source_id for source_id, _, _ in wanted}) < len(wanted):
            violations.add("requests", "must each have a different source_id")
        violations.raise_if_any()
        recorded = await self._notices.enqueue_many(wanted)
        return pb.BatchEnqueueNoticesResponse(
            responses=[
                pb.EnqueueNoticeResponse(notice=notice_to_proto(notice), created=created)
                for notice, created in recorded
            ]
        )

    async def ListOwnNotices(
        self,
        request: pb.ListOwnNoticesRequest,
        context: grpc.aio.ServicerContext[pb.ListOwnNoticesRequest, pb.ListOwnNoticesResponse],
    ) -> pb.ListOwnNoticesResponse:
        subject = require_subject()
        size = paging.page_size(request.page_size, default=20, maximum=100)
        before = self._pages.newest_first_after(request.page_token)
        found = await self._notices.of_subject(subject.identity_number, before, size + 1)
        page, token = self._pages.newest_first_page(found, size, lambda n: (n.create_time, n.id))
        return pb.ListOwnNoticesResponse(notices=[notice_to_proto(v) for v in page], next_page_token=token)

    async def GetOwnNoticeLetter(
        self,
        request: pb.GetOwnNoticeLetterRequest,
        context: grpc.aio.ServicerContext[pb.GetOwnNoticeLetterRequest, pb.GetOwnNoticeLetterResponse],
    ) -> pb.GetOwnNoticeLetterResponse:
        subject = require_subject()
        notice_id = fields.uuid_of("notice_id", request.notice_id, "a notice id")
        letter = await self._notices.letter_of(subject.identity_number, notice_id)
        return pb.GetOwnNoticeLetterResponse(title=letter.title, pdf=letter.pdf)

    async def GetContactPreferences(
        self,
        request: pb.GetContactPreferencesRequest,
        context: grpc.aio.ServicerContext[pb.GetContactPreferencesRequest, pb.GetContactPreferencesResponse],
    ) -> pb.GetContactPreferencesResponse:
        subject = require_subject()
        chosen = await self._notices.preferences(subject.identity_number)
        return pb.GetContactPreferencesResponse(contact_preferences=_preferences(chosen))

    async def UpdateContactPreferences(
        self,
        request: pb.UpdateContactPreferencesRequest,
        context: grpc.aio.ServicerContext[pb.UpdateContactPreferencesRequest, pb.UpdateContactPreferencesResponse],
    ) -> pb.UpdateContactPreferencesResponse:
        subject = require_subject()
        violations = Violations()
        email = request.contact_preferences.email_address.strip()
        local, at, domain = email.partition("@")
        if email and (not at or not local or "." not in domain or len(email) > 254 or " " in email):
            violations.add("contact_preferences.email_address", "is not an e-mail address")
        language = request.contact_preferences.language or DEFAULT_LANGUAGE
        if language not in LANGUAGES:
            violations.add("contact_preferences.language", f"must be one of {', '.join(LANGUAGES)}")
        violations.raise_if_any()
        chosen = await self._notices.set_preferences(subject.identity_number, email, language)
        return pb.UpdateContactPreferencesResponse(contact_preferences=_preferences(chosen))

    async def ListFailedNotices(
        self,
        request: pb.ListFailedNoticesRequest,
        context: grpc.aio.ServicerContext[pb.ListFailedNoticesRequest, pb.ListFailedNoticesResponse],
    ) -> pb.ListFailedNoticesResponse:
        size = paging.page_size(request.page_size, default=20, maximum=100)
        before = self._pages.newest_first_after(request.page_token)
        found = await self._notices.failed(before, size + 1)
        page, token = self._pages.newest_first_page(found, size, lambda n: (n.create_time, n.id))
        return pb.ListFailedNoticesResponse(
            notices=[notice_to_proto(v, content=False) for v in page], next_page_token=token
        )

    async def RetryFailedNotice(
        self,
        request: pb.RetryFailedNoticeRequest,
        context: grpc.aio.ServicerContext[pb.RetryFailedNoticeRequest, pb.RetryFailedNoticeResponse],
    ) -> pb.RetryFailedNoticeResponse:
        notice = await self._notices.retry(fields.uuid_of("notice_id", request.notice_id, "a notice id"))
        return pb.RetryFailedNoticeResponse(notice=notice_to_proto(notice, content=False))

    async def EnqueueInstitutionNotice(
        self,
        request: pb.EnqueueInstitutionNoticeRequest,
        context: grpc.aio.ServicerContext[pb.EnqueueInstitutionNoticeRequest, pb.EnqueueInstitutionNoticeResponse],
    ) -> pb.EnqueueInstitutionNoticeResponse:
        violations = Violations()
        fields.text(violations, "source_id", request.source_id, maximum=128, required=True)
        institution = fields.organization_number(violations, "recipient.value", request.recipient.value)
        content = notify_pb2.InstitutionNotice()
        kind = request.WhichOneof("content")
        if kind == "correction":
            correction = request.correction
            fields.identity_number(violations, "correction.subject.value", correction.subject.value)
            fields.text(violations, "correction.disclosure_id", correction.disclosure_id, maximum=64, required=True)
            fields.text(violations, "correction.application_reference", correction.application_reference, maximum=64)
            content.correction.CopyFrom(correction)
        elif kind == "extract_deletion":
            fields.uuid_of("extract_deletion.order_id", request.extract_deletion.order_id, "an order id")
            content.extract_deletion.CopyFrom(request.extract_deletion)
        else:
            violations.add("content", "a correction or an extract_deletion is required")
        violations.raise_if_any()
        notice, created = await self._notices.enqueue_for_institution(institution, request.source_id, content)
        return pb.EnqueueInstitutionNoticeResponse(notice=_institution_notice(notice), created=created)

    async def ListInstitutionNotices(
        self,
        request: pb.ListInstitutionNoticesRequest,
        context: grpc.aio.ServicerContext[pb.ListInstitutionNoticesRequest, pb.ListInstitutionNoticesResponse],
    ) -> pb.ListInstitutionNoticesResponse:
        caller = require_institution()
        after = paging.after_position(request.after_position)
        size = paging.page_size(request.page_size, default=100, maximum=1000)
        feed = await self._notices.institution_feed(caller.organization_number, after, size)
        return pb.ListInstitutionNoticesResponse(
            notices=map(_institution_notice, feed),
            next_after_position=paging.read_on([n.position for n in feed], after),
        )


def _institution_notice(notice: InstitutionNotice) -> notify_pb2.InstitutionNotice:
    message = notify_pb2.InstitutionNotice(position=notice.position, create_time=to_proto(notice.create_time))
    message.MergeFrom(notice.content)
    return message
