from gjeld.notify.v1 import notify_pb2 as _notify_pb2
from gjeld.type.v1 import identity_pb2 as _identity_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EnqueueNoticeRequest(_message.Message):
    __slots__ = ("source_id", "subject", "copy_letter")
    SOURCE_ID_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    COPY_LETTER_FIELD_NUMBER: _ClassVar[int]
    source_id: str
    subject: _identity_pb2.NationalIdentityNumber
    copy_letter: _notify_pb2.CopyLetter
    def __init__(self, source_id: _Optional[str] = ..., subject: _Optional[_Union[_identity_pb2.NationalIdentityNumber, _Mapping]] = ..., copy_letter: _Optional[_Union[_notify_pb2.CopyLetter, _Mapping]] = ...) -> None: ...

class EnqueueNoticeResponse(_message.Message):
    __slots__ = ("notice", "created")
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    notice: _notify_pb2.Notice
    created: bool
    def __init__(self, notice: _Optional[_Union[_notify_pb2.Notice, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class ListOwnNoticesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListOwnNoticesResponse(_message.Message):
    __slots__ = ("notices", "next_page_token")
    NOTICES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    notices: _containers.RepeatedCompositeFieldContainer[_notify_pb2.Notice]
    next_page_token: str
    def __init__(self, notices: _Optional[_Iterable[_Union[_notify_pb2.Notice, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class GetContactPreferencesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetContactPreferencesResponse(_message.Message):
    __slots__ = ("contact_preferences",)
    CONTACT_PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    contact_preferences: _notify_pb2.ContactPreferences
    def __init__(self, contact_preferences: _Optional[_Union[_notify_pb2.ContactPreferences, _Mapping]] = ...) -> None: ...

class UpdateContactPreferencesRequest(_message.Message):
    __slots__ = ("contact_preferences",)
    CONTACT_PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    contact_preferences: _notify_pb2.ContactPreferences
    def __init__(self, contact_preferences: _Optional[_Union[_notify_pb2.ContactPreferences, _Mapping]] = ...) -> None: ...

class UpdateContactPreferencesResponse(_message.Message):
    __slots__ = ("contact_preferences",)
    CONTACT_PREFERENCES_FIELD_NUMBER: _ClassVar[int]
    contact_preferences: _notify_pb2.ContactPreferences
    def __init__(self, contact_preferences: _Optional[_Union[_notify_pb2.ContactPreferences, _Mapping]] = ...) -> None: ...

class ListFailedNoticesRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListFailedNoticesResponse(_message.Message):
    __slots__ = ("notices", "next_page_token")
    NOTICES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    notices: _containers.RepeatedCompositeFieldContainer[_notify_pb2.Notice]
    next_page_token: str
    def __init__(self, notices: _Optional[_Iterable[_Union[_notify_pb2.Notice, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class RetryFailedNoticeRequest(_message.Message):
    __slots__ = ("notice_id",)
    NOTICE_ID_FIELD_NUMBER: _ClassVar[int]
    notice_id: str
    def __init__(self, notice_id: _Optional[str] = ...) -> None: ...

class RetryFailedNoticeResponse(_message.Message):
    __slots__ = ("notice",)
    NOTICE_FIELD_NUMBER: _ClassVar[int]
    notice: _notify_pb2.Notice
    def __init__(self, notice: _Optional[_Union[_notify_pb2.Notice, _Mapping]] = ...) -> None: ...
