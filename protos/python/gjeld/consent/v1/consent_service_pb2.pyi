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

class RegisterConsentRequest(_message.Message):
    __slots__ = ("subject", "institution_consent_id", "scope", "validity", "max_uses")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    VALIDITY_FIELD_NUMBER: _ClassVar[int]
    MAX_USES_FIELD_NUMBER: _ClassVar[int]
    subject: _identity_pb2.NationalIdentityNumber
    institution_consent_id: str
    scope: _consent_pb2.ConsentScope
    validity: _duration_pb2.Duration
    max_uses: int
    def __init__(self, subject: _Optional[_Union[_identity_pb2.NationalIdentityNumber, _Mapping]] = ..., institution_consent_id: _Optional[str] = ..., scope: _Optional[_Union[_consent_pb2.ConsentScope, str]] = ..., validity: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., max_uses: _Optional[int] = ...) -> None: ...

class RegisterConsentResponse(_message.Message):
    __slots__ = ("consent", "created")
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    consent: _consent_pb2.Consent
    created: bool
    def __init__(self, consent: _Optional[_Union[_consent_pb2.Consent, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetConsentRequest(_message.Message):
    __slots__ = ("consent_id", "institution_consent_id")
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    consent_id: str
    institution_consent_id: str
    def __init__(self, consent_id: _Optional[str] = ..., institution_consent_id: _Optional[str] = ...) -> None: ...

class GetConsentResponse(_message.Message):
    __slots__ = ("consent",)
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    consent: _consent_pb2.Consent
    def __init__(self, consent: _Optional[_Union[_consent_pb2.Consent, _Mapping]] = ...) -> None: ...

class EndConsentRequest(_message.Message):
    __slots__ = ("consent_id", "institution_consent_id")
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    consent_id: str
    institution_consent_id: str
    def __init__(self, consent_id: _Optional[str] = ..., institution_consent_id: _Optional[str] = ...) -> None: ...

class EndConsentResponse(_message.Message):
    __slots__ = ("consent",)
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    consent: _consent_pb2.Consent
    def __init__(self, consent: _Optional[_Union[_consent_pb2.Consent, _Mapping]] = ...) -> None: ...

class ListConsentEventsRequest(_message.Message):
    __slots__ = ("after_position", "page_size")
    AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    after_position: int
    page_size: int
    def __init__(self, after_position: _Optional[int] = ..., page_size: _Optional[int] = ...) -> None: ...

class ListConsentEventsResponse(_message.Message):
    __slots__ = ("events", "next_after_position", "first_kept_position")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_AFTER_POSITION_FIELD_NUMBER: _ClassVar[int]
    FIRST_KEPT_POSITION_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[_consent_pb2.ConsentEvent]
    next_after_position: int
    first_kept_position: int
    def __init__(self, events: _Optional[_Iterable[_Union[_consent_pb2.ConsentEvent, _Mapping]]] = ..., next_after_position: _Optional[int] = ..., first_kept_position: _Optional[int] = ...) -> None: ...

class PlaceCreditBlockRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class PlaceCreditBlockResponse(_message.Message):
    __slots__ = ("credit_block",)
    CREDIT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    credit_block: _consent_pb2.CreditBlock
    def __init__(self, credit_block: _Optional[_Union[_consent_pb2.CreditBlock, _Mapping]] = ...) -> None: ...

class LiftCreditBlockRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class LiftCreditBlockResponse(_message.Message):
    __slots__ = ("credit_block",)
    CREDIT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    credit_block: _consent_pb2.CreditBlock
    def __init__(self, credit_block: _Optional[_Union[_consent_pb2.CreditBlock, _Mapping]] = ...) -> None: ...

class GetCreditBlockRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetCreditBlockResponse(_message.Message):
    __slots__ = ("credit_block",)
    CREDIT_BLOCK_FIELD_NUMBER: _ClassVar[int]
    credit_block: _consent_pb2.CreditBlock
    def __init__(self, credit_block: _Optional[_Union[_consent_pb2.CreditBlock, _Mapping]] = ...) -> None: ...

class UseConsentRequest(_message.Message):
    __slots__ = ("subject", "institution", "scope", "disclosure_id", "application_reference")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    INSTITUTION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    DISCLOSURE_ID_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    subject: _identity_pb2.NationalIdentityNumber
    institution: _identity_pb2.OrganizationNumber
    scope: _consent_pb2.ConsentScope
    disclosure_id: str
    application_reference: str
    def __init__(self, subject: _Optional[_Union[_identity_pb2.NationalIdentityNumber, _Mapping]] = ..., institution: _Optional[_Union[_identity_pb2.OrganizationNumber, _Mapping]] = ..., scope: _Optional[_Union[_consent_pb2.ConsentScope, str]] = ..., disclosure_id: _Optional[str] = ..., application_reference: _Optional[str] = ...) -> None: ...

class UseConsentResponse(_message.Message):
    __slots__ = ("consent", "credit_blocked")
    CONSENT_FIELD_NUMBER: _ClassVar[int]
    CREDIT_BLOCKED_FIELD_NUMBER: _ClassVar[int]
    consent: _consent_pb2.Consent
    credit_blocked: bool
    def __init__(self, consent: _Optional[_Union[_consent_pb2.Consent, _Mapping]] = ..., credit_blocked: _Optional[bool] = ...) -> None: ...

class CheckCreditBlockRequest(_message.Message):
    __slots__ = ("subject",)
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    subject: _identity_pb2.NationalIdentityNumber
    def __init__(self, subject: _Optional[_Union[_identity_pb2.NationalIdentityNumber, _Mapping]] = ...) -> None: ...

class CheckCreditBlockResponse(_message.Message):
    __slots__ = ("credit_blocked",)
    CREDIT_BLOCKED_FIELD_NUMBER: _ClassVar[int]
    credit_blocked: bool
    def __init__(self, credit_blocked: _Optional[bool] = ...) -> None: ...
