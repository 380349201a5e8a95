import datetime

from gjeld.consent.v1 import consent_pb2 as _consent_pb2
from gjeld.type.v1 import identity_pb2 as _identity_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GrantConsentRequest(_message.Message):
    __slots__ = ("institution", "scope", "validity", "max_uses", "request_id")
    INSTITUTION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    VALIDITY_FIELD_NUMBER: _ClassVar[int]
    MAX_USES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    institution: _identity_pb2.OrganizationNumber
    scope: _consent_pb2.ConsentScope
    validity: _duration_pb2.Duration
    max_uses: int
    request_id: str
    def __init__(self, institution: _Optional[_Union[_identity_pb2.OrganizationNumber, _Mapping]] = ..., scope: _Optional[_Union[_consent_pb2.ConsentScope, str]] = ..., validity: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_uses: _Optional[int] = ..., request_id: _Optional[str] = ...) -> None: ...

class GrantConsentResponse(_message.Message):
    __slots__ = ("consent",)
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    consent: _consent_pb2.Consent
    def __init__(self, consent: _Optional[_Union[_consent_pb2.Consent, _Mapping]] = ...) -> None: ...

class ListConsentsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListConsentsResponse(_message.Message):
    __slots__ = ("consents", "next_page_token")
    CONSENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    consents: _containers.RepeatedCompositeFieldContainer[_consent_pb2.Consent]
    next_page_token: str
    def __init__(self, consents: _Optional[_Iterable[_Union[_consent_pb2.Consent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class WithdrawConsentRequest(_message.Message):
    __slots__ = ("consent_id",)
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    consent_id: str
    def __init__(self, consent_id: _Optional[str] = ...) -> None: ...

class WithdrawConsentResponse(_message.Message):
    __slots__ = ("consent",)
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    consent: _consent_pb2.Consent
    def __init__(self, consent: _Optional[_Union[_consent_pb2.Consent, _Mapping]] = ...) -> None: ...

class UseConsentRequest(_message.Message):
    __slots__ = ("subject", "institution", "scope", "disclosure_id")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    DISCLOSURE_ID_FIELD_NUMBER: _ClassVar[int]
    subject: _identity_pb2.NationalIdentityNumber
    institution: _identity_pb2.OrganizationNumber
    scope: _consent_pb2.ConsentScope
    disclosure_id: str
    def __init__(self, subject: _Optional[_Union[_identity_pb2.NationalIdentityNumber, _Mapping]] = ..., institution: _Optional[_Union[_identity_pb2.OrganizationNumber, _Mapping]] = ..., scope: _Optional[_Union[_consent_pb2.ConsentScope, str]] = ..., disclosure_id: _Optional[str] = ...) -> None: ...

class UseConsentResponse(_message.Message):
    __slots__ = ("consent",)
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    consent: _consent_pb2.Consent
    def __init__(self, consent: _Optional[_Union[_consent_pb2.Consent, _Mapping]] = ...) -> None: ...
