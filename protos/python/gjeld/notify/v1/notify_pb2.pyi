import datetime

from gjeld.type.v1 import debt_pb2 as _debt_pb2
from gjeld.type.v1 import identity_pb2 as _identity_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NoticeState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    NOTICE_STATE_UNSPECIFIED: _ClassVar[NoticeState]
    NOTICE_STATE_PENDING: _ClassVar[NoticeState]
    NOTICE_STATE_DELIVERED: _ClassVar[NoticeState]
    NOTICE_STATE_FAILED: _ClassVar[NoticeState]

class Channel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CHANNEL_UNSPECIFIED: _ClassVar[Channel]
    CHANNEL_DIGITAL_MAILBOX: _ClassVar[Channel]
    CHANNEL_SMS: _ClassVar[Channel]
    CHANNEL_EMAIL: _ClassVar[Channel]
    CHANNEL_POST: _ClassVar[Channel]
NOTICE_STATE_UNSPECIFIED: NoticeState
NOTICE_STATE_PENDING: NoticeState
NOTICE_STATE_DELIVERED: NoticeState
NOTICE_STATE_FAILED: NoticeState
CHANNEL_UNSPECIFIED: Channel
CHANNEL_DIGITAL_MAILBOX: Channel
CHANNEL_SMS: Channel
CHANNEL_EMAIL: Channel
CHANNEL_POST: Channel

class CopyLetter(_message.Message):
    __slots__ = ("recipient", "disclose_time", "purpose", "source", "application_reference", "debts", "totals", "credit_blocked", "creditors_answered", "creditors_missing")
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    DISCLOSE_TIME_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    DEBTS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    CREDIT_BLOCKED_FIELD_NUMBER: _ClassVar[int]
    CREDITORS_ANSWERED_FIELD_NUMBER: _ClassVar[int]
    CREDITORS_MISSING_FIELD_NUMBER: _ClassVar[int]
    recipient: _identity_pb2.Institution
    disclose_time: _timestamp_pb2.Timestamp
    purpose: str
    source: str
    application_reference: str
    debts: _containers.RepeatedCompositeFieldContainer[_debt_pb2.DisclosedDebt]
    totals: _containers.RepeatedCompositeFieldContainer[_debt_pb2.DebtTotal]
    credit_blocked: bool
    creditors_answered: int
    creditors_missing: int
    def __init__(self, recipient: _Optional[_Union[_identity_pb2.Institution, _Mapping]] = ..., disclose_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., purpose: _Optional[str] = ..., source: _Optional[str] = ..., application_reference: _Optional[str] = ..., debts: _Optional[_Iterable[_Union[_debt_pb2.DisclosedDebt, _Mapping]]] = ..., totals: _Optional[_Iterable[_Union[_debt_pb2.DebtTotal, _Mapping]]] = ..., credit_blocked: _Optional[bool] = ..., creditors_answered: _Optional[int] = ..., creditors_missing: _Optional[int] = ...) -> None: ...

class ContactPreferences(_message.Message):
    __slots__ = ("email_address", "update_time")
    EMAIL_ADDRESS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    email_address: str
    update_time: _timestamp_pb2.Timestamp
    def __init__(self, email_address: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Notice(_message.Message):
    __slots__ = ("id", "source_id", "state", "channel", "create_time", "deliver_time", "copy_letter", "merged_letters", "source_ids", "attempts", "last_error")
    ID_FIELD_NUMBER: _ClassVar[int]
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DELIVER_TIME_FIELD_NUMBER: _ClassVar[int]
    COPY_LETTER_FIELD_NUMBER: _ClassVar[int]
    MERGED_LETTERS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_IDS_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    id: str
    source_id: str
    state: NoticeState
    channel: Channel
    create_time: _timestamp_pb2.Timestamp
    deliver_time: _timestamp_pb2.Timestamp
    copy_letter: CopyLetter
    merged_letters: _containers.RepeatedCompositeFieldContainer[CopyLetter]
    source_ids: _containers.RepeatedScalarFieldContainer[str]
    attempts: int
    last_error: str
    def __init__(self, id: _Optional[str] = ..., source_id: _Optional[str] = ..., state: _Optional[_Union[NoticeState, str]] = ..., channel: _Optional[_Union[Channel, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., deliver_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., copy_letter: _Optional[_Union[CopyLetter, _Mapping]] = ..., merged_letters: _Optional[_Iterable[_Union[CopyLetter, _Mapping]]] = ..., source_ids: _Optional[_Iterable[str]] = ..., attempts: _Optional[int] = ..., last_error: _Optional[str] = ...) -> None: ...
