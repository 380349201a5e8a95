import datetime

from gjeld.lookup.v1 import lookup_pb2 as _lookup_pb2
from gjeld.type.v1 import debt_pb2 as _debt_pb2
from gjeld.type.v1 import identity_pb2 as _identity_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class LookUpDebtRequest(_message.Message):
    __slots__ = ("subject", "purpose", "application_reference", "max_wait", "request_id")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    MAX_WAIT_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    subject: _identity_pb2.NationalIdentityNumber
    purpose: _lookup_pb2.DisclosurePurpose
    application_reference: str
    max_wait: _duration_pb2.Duration
    request_id: str
    def __init__(self, subject: _Optional[_Union[_identity_pb2.NationalIdentityNumber, _Mapping]] = ..., purpose: _Optional[_Union[_lookup_pb2.DisclosurePurpose, str]] = ..., application_reference: _Optional[str] = ..., max_wait: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class LookUpDebtResponse(_message.Message):
    __slots__ = ("disclosure", "debts", "totals", "credit_blocked", "creditors", "creditors_answered", "creditors_missing")
    DISCLOSURE_FIELD_NUMBER: _ClassVar[int]
    DEBTS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    CREDIT_BLOCKED_FIELD_NUMBER: _ClassVar[int]
    CREDITORS_FIELD_NUMBER: _ClassVar[int]
    CREDITORS_ANSWERED_FIELD_NUMBER: _ClassVar[int]
    CREDITORS_MISSING_FIELD_NUMBER: _ClassVar[int]
    disclosure: _lookup_pb2.Disclosure
    debts: _containers.RepeatedCompositeFieldContainer[_debt_pb2.DisclosedDebt]
    totals: _containers.RepeatedCompositeFieldContainer[_debt_pb2.DebtTotal]
    credit_blocked: bool
    creditors: _containers.RepeatedCompositeFieldContainer[_lookup_pb2.CreditorStatus]
    creditors_answered: int
    creditors_missing: int
    def __init__(self, disclosure: _Optional[_Union[_lookup_pb2.Disclosure, _Mapping]] = ..., debts: _Optional[_Iterable[_Union[_debt_pb2.DisclosedDebt, _Mapping]]] = ..., totals: _Optional[_Iterable[_Union[_debt_pb2.DebtTotal, _Mapping]]] = ..., credit_blocked: _Optional[bool] = ..., creditors: _Optional[_Iterable[_Union[_lookup_pb2.CreditorStatus, _Mapping]]] = ..., creditors_answered: _Optional[int] = ..., creditors_missing: _Optional[int] = ...) -> None: ...

class GetOwnDebtRequest(_message.Message):
    __slots__ = ("max_wait",)
    MAX_WAIT_FIELD_NUMBER: _ClassVar[int]
    max_wait: _duration_pb2.Duration
    def __init__(self, max_wait: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class GetOwnDebtResponse(_message.Message):
    __slots__ = ("debts", "totals", "creditors", "creditors_answered", "creditors_missing")
    DEBTS_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    CREDITORS_FIELD_NUMBER: _ClassVar[int]
    CREDITORS_ANSWERED_FIELD_NUMBER: _ClassVar[int]
    CREDITORS_MISSING_FIELD_NUMBER: _ClassVar[int]
    debts: _containers.RepeatedCompositeFieldContainer[_lookup_pb2.OwnDebt]
    totals: _containers.RepeatedCompositeFieldContainer[_debt_pb2.DebtTotal]
    creditors: _containers.RepeatedCompositeFieldContainer[_lookup_pb2.OwnCreditorStatus]
    creditors_answered: int
    creditors_missing: int
    def __init__(self, debts: _Optional[_Iterable[_Union[_lookup_pb2.OwnDebt, _Mapping]]] = ..., totals: _Optional[_Iterable[_Union[_debt_pb2.DebtTotal, _Mapping]]] = ..., creditors: _Optional[_Iterable[_Union[_lookup_pb2.OwnCreditorStatus, _Mapping]]] = ..., creditors_answered: _Optional[int] = ..., creditors_missing: _Optional[int] = ...) -> None: ...

class ListOwnDisclosuresRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListOwnDisclosuresResponse(_message.Message):
    __slots__ = ("disclosures", "next_page_token")
    DISCLOSURES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    disclosures: _containers.RepeatedCompositeFieldContainer[_lookup_pb2.Disclosure]
    next_page_token: str
    def __init__(self, disclosures: _Optional[_Iterable[_Union[_lookup_pb2.Disclosure, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...
