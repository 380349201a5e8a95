"""The thin gRPC layer of notify."""

from __future__ import annotations

from typing import Any

from gjeld.notify.v1 import notify_pb2, notify_service_pb2_grpc
from gjeld.notify.v1 import notify_service_pb2 as pb
from gjeld_shared import identity_numbers, paging
from gjeld_shared.callers import require_service, require_subject
from gjeld_shared.errors import Violations
from gjeld_shared.timestamps import to_proto

from .service_layer import Notices

STATES = {"pending": notify_pb2.NOTICE_STATE_PENDING, "delivered": notify_pb2.NOTICE_STATE_DELIVERED}
CHANNELS = {
    "digital_mailbox": notify_pb2.CHANNEL_DIGITAL_MAILBOX,
    "sms": notify_pb2.CHANNEL_SMS,
    "email": notify_pb2.CHANNEL_EMAIL,
    "post": notify_pb2.CHANNEL_POST,
}


def notice_to_proto(row: Any) -> notify_pb2.Notice:
    notice = notify_pb2.Notice(
        id=str(row.id),
        source_id=row.source_id,
        state=STATES[row.state],
        channel=CHANNELS[row.channel],
        create_time=to_proto(row.create_time),
        copy_letter=notify_pb2.CopyLetter.FromString(row.content),
    )
    if row.deliver_time is not None:
        notice.deliver_time.CopyFrom(to_proto(row.deliver_time))
    return notice


class NotifyServicer(notify_service_pb2_grpc.NotifyServiceServicer):
    def __init__(self, notices: Notices) -> None:
        self._notices = notices

    async def EnqueueNotice(self, request: pb.EnqueueNoticeRequest, context: Any) -> pb.EnqueueNoticeResponse:
        require_service("lookup")
        violations = Violations()
        if not 0 < len(request.source_id) <= 64:
            violations.add("source_id", "is required, at most 64 characters")
        with violations.catching("subject.value", identity_numbers.InvalidIdentityNumber):
            identity_numbers.validate(request.subject.value)
        if request.WhichOneof("content") != "copy_letter":
            violations.add("content", "a copy_letter is required")
        violations.raise_if_any()
        row, created = await self._notices.enqueue(request.source_id, request.subject.value, request.copy_letter)
        return pb.EnqueueNoticeResponse(notice=notice_to_proto(row), created=created)

    async def ListOwnNotices(self, request: pb.ListOwnNoticesRequest, context: Any) -> pb.ListOwnNoticesResponse:
        subject = require_subject()
        size = paging.page_size(request.page_size, default=20, maximum=100)
        before = paging.newest_first_after(request.page_token)
        rows = await self._notices.of_subject(subject.identity_number, before, size + 1)
        page, token = paging.newest_first_page(rows, size, lambda r: (r.create_time, r.id))
        return pb.ListOwnNoticesResponse(notices=[notice_to_proto(r) for r in page], next_page_token=token)
