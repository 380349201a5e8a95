import datetime

from gjeld.type.v1 import identity_pb2 as _identity_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConsentScope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_SCOPE_UNSPECIFIED: _ClassVar[ConsentScope]
    CONSENT_SCOPE_PROCESSING: _ClassVar[ConsentScope]
    CONSENT_SCOPE_PRESENTATION: _ClassVar[ConsentScope]

class ConsentState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_STATE_UNSPECIFIED: _ClassVar[ConsentState]
    CONSENT_STATE_ACTIVE: _ClassVar[ConsentState]
    CONSENT_STATE_WITHDRAWN: _ClassVar[ConsentState]
    CONSENT_STATE_EXPIRED: _ClassVar[ConsentState]
    CONSENT_STATE_USED_UP: _ClassVar[ConsentState]
    CONSENT_STATE_ENDED: _ClassVar[ConsentState]

class ConsentOrigin(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_ORIGIN_UNSPECIFIED: _ClassVar[ConsentOrigin]
    CONSENT_ORIGIN_SUBJECT: _ClassVar[ConsentOrigin]
    CONSENT_ORIGIN_INSTITUTION: _ClassVar[ConsentOrigin]

class ConsentEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_EVENT_TYPE_UNSPECIFIED: _ClassVar[ConsentEventType]
    CONSENT_EVENT_TYPE_CREATED: _ClassVar[ConsentEventType]
    CONSENT_EVENT_TYPE_USED: _ClassVar[ConsentEventType]
    CONSENT_EVENT_TYPE_WITHDRAWN: _ClassVar[ConsentEventType]
    CONSENT_EVENT_TYPE_EXPIRED: _ClassVar[ConsentEventType]
    CONSENT_EVENT_TYPE_ENDED: _ClassVar[ConsentEventType]
CONSENT_SCOPE_UNSPECIFIED: ConsentScope
CONSENT_SCOPE_PROCESSING: ConsentScope
CONSENT_SCOPE_PRESENTATION: ConsentScope
CONSENT_STATE_UNSPECIFIED: ConsentState
CONSENT_STATE_ACTIVE: ConsentState
CONSENT_STATE_WITHDRAWN: ConsentState
CONSENT_STATE_EXPIRED: ConsentState
CONSENT_STATE_USED_UP: ConsentState
CONSENT_STATE_ENDED: ConsentState
CONSENT_ORIGIN_UNSPECIFIED: ConsentOrigin
CONSENT_ORIGIN_SUBJECT: ConsentOrigin
CONSENT_ORIGIN_INSTITUTION: ConsentOrigin
CONSENT_EVENT_TYPE_UNSPECIFIED: ConsentEventType
CONSENT_EVENT_TYPE_CREATED: ConsentEventType
CONSENT_EVENT_TYPE_USED: ConsentEventType
CONSENT_EVENT_TYPE_WITHDRAWN: ConsentEventType
CONSENT_EVENT_TYPE_EXPIRED: ConsentEventType
CONSENT_EVENT_TYPE_ENDED: ConsentEventType

class ConsentUse(_message.Message):
    __slots__ = ("use_time", "disclosure_id", "institution", "scope", "application_reference")
    USE_TIME_FIELD_NUMBER: _ClassVar[int]
    DISCLOSURE_ID_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    use_time: _timestamp_pb2.Timestamp
    disclosure_id: str
    institution: _identity_pb2.OrganizationNumber
    scope: ConsentScope
    application_reference: str
    def __init__(self, use_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., disclosure_id: _Optional[str] = ..., institution: _Optional[_Union[_identity_pb2.OrganizationNumber, _Mapping]] = ..., scope: _Optional[_Union[ConsentScope, str]] = ..., application_reference: _Optional[str] = ...) -> None: ...

class Consent(_message.Message):
    __slots__ = ("id", "institution", "scope", "state", "create_time", "expire_time", "max_uses", "uses", "withdraw_time", "origin", "institution_consent_id", "end_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    MAX_USES_FIELD_NUMBER: _ClassVar[int]
    USES_FIELD_NUMBER: _ClassVar[int]
    WITHDRAW_TIME_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    institution: _identity_pb2.OrganizationNumber
    scope: ConsentScope
    state: ConsentState
    create_time: _timestamp_pb2.Timestamp
    expire_time: _timestamp_pb2.Timestamp
    max_uses: int
    uses: _containers.RepeatedCompositeFieldContainer[ConsentUse]
    withdraw_time: _timestamp_pb2.Timestamp
    origin: ConsentOrigin
    institution_consent_id: str
    end_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., institution: _Optional[_Union[_identity_pb2.OrganizationNumber, _Mapping]] = ..., scope: _Optional[_Union[ConsentScope, str]] = ..., state: _Optional[_Union[ConsentState, str]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., max_uses: _Optional[int] = ..., uses: _Optional[_Iterable[_Union[ConsentUse, _Mapping]]] = ..., withdraw_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., origin: _Optional[_Union[ConsentOrigin, str]] = ..., institution_consent_id: _Optional[str] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConsentEvent(_message.Message):
    __slots__ = ("position", "type", "event_time", "consent", "disclosure_id")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    DISCLOSURE_ID_FIELD_NUMBER: _ClassVar[int]
    position: int
    type: ConsentEventType
    event_time: _timestamp_pb2.Timestamp
    consent: Consent
    disclosure_id: str
    def __init__(self, position: _Optional[int] = ..., type: _Optional[_Union[ConsentEventType, str]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., consent: _Optional[_Union[Consent, _Mapping]] = ..., disclosure_id: _Optional[str] = ...) -> None: ...

class CreditBlock(_message.Message):
    __slots__ = ("blocked", "create_time")
    BLOCKED_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    blocked: bool
    create_time: _timestamp_pb2.Timestamp
    def __init__(self, blocked: _Optional[bool] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
