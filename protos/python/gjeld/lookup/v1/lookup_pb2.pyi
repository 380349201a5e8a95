import datetime

from gjeld.type.v1 import debt_pb2 as _debt_pb2
from gjeld.type.v1 import identity_pb2 as _identity_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DisclosurePurpose(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DISCLOSURE_PURPOSE_UNSPECIFIED: _ClassVar[DisclosurePurpose]
    DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT: _ClassVar[DisclosurePurpose]
    DISCLOSURE_PURPOSE_SUBJECT_ACCESS: _ClassVar[DisclosurePurpose]
    DISCLOSURE_PURPOSE_PRESENTATION: _ClassVar[DisclosurePurpose]
    DISCLOSURE_PURPOSE_CREDIT_BUREAU: _ClassVar[DisclosurePurpose]

class CreditorAnswer(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREDITOR_ANSWER_UNSPECIFIED: _ClassVar[CreditorAnswer]
    CREDITOR_ANSWER_LIVE: _ClassVar[CreditorAnswer]
    CREDITOR_ANSWER_REGISTERED: _ClassVar[CreditorAnswer]
    CREDITOR_ANSWER_MISSING: _ClassVar[CreditorAnswer]
DISCLOSURE_PURPOSE_UNSPECIFIED: DisclosurePurpose
DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT: DisclosurePurpose
DISCLOSURE_PURPOSE_SUBJECT_ACCESS: DisclosurePurpose
DISCLOSURE_PURPOSE_PRESENTATION: DisclosurePurpose
DISCLOSURE_PURPOSE_CREDIT_BUREAU: DisclosurePurpose
CREDITOR_ANSWER_UNSPECIFIED: CreditorAnswer
CREDITOR_ANSWER_LIVE: CreditorAnswer
CREDITOR_ANSWER_REGISTERED: CreditorAnswer
CREDITOR_ANSWER_MISSING: CreditorAnswer

class CreditorStatus(_message.Message):
    __slots__ = ("creditor_number", "answer", "confirm_time")
    CREDITOR_NUMBER_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_TIME_FIELD_NUMBER: _ClassVar[int]
    creditor_number: int
    answer: CreditorAnswer
    confirm_time: _timestamp_pb2.Timestamp
    def __init__(self, creditor_number: _Optional[int] = ..., answer: _Optional[_Union[CreditorAnswer, str]] = ..., confirm_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OwnCreditorStatus(_message.Message):
    __slots__ = ("creditor", "answer", "confirm_time")
    CREDITOR_FIELD_NUMBER: _ClassVar[int]
    ANSWER_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_TIME_FIELD_NUMBER: _ClassVar[int]
    creditor: _identity_pb2.Institution
    answer: CreditorAnswer
    confirm_time: _timestamp_pb2.Timestamp
    def __init__(self, creditor: _Optional[_Union[_identity_pb2.Institution, _Mapping]] = ..., answer: _Optional[_Union[CreditorAnswer, str]] = ..., confirm_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class OwnDebt(_message.Message):
    __slots__ = ("creditor", "account_id", "co_borrower_role", "repayment_loan", "credit_facility", "charge_card", "confirm_time")
    CREDITOR_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    CO_BORROWER_ROLE_FIELD_NUMBER: _ClassVar[int]
    REPAYMENT_LOAN_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FACILITY_FIELD_NUMBER: _ClassVar[int]
    CHARGE_CARD_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_TIME_FIELD_NUMBER: _ClassVar[int]
    creditor: _identity_pb2.Institution
    account_id: str
    co_borrower_role: _debt_pb2.CoBorrowerRole
    repayment_loan: _debt_pb2.RepaymentLoan
    credit_facility: _debt_pb2.CreditFacility
    charge_card: _debt_pb2.ChargeCard
    confirm_time: _timestamp_pb2.Timestamp
    def __init__(self, creditor: _Optional[_Union[_identity_pb2.Institution, _Mapping]] = ..., account_id: _Optional[str] = ..., co_borrower_role: _Optional[_Union[_debt_pb2.CoBorrowerRole, str]] = ..., repayment_loan: _Optional[_Union[_debt_pb2.RepaymentLoan, _Mapping]] = ..., credit_facility: _Optional[_Union[_debt_pb2.CreditFacility, _Mapping]] = ..., charge_card: _Optional[_Union[_debt_pb2.ChargeCard, _Mapping]] = ..., confirm_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Disclosure(_message.Message):
    __slots__ = ("id", "recipient", "purpose", "consent_id", "disclose_time", "debt_count", "application_reference", "trace_id", "credit_blocked")
    ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_FIELD_NUMBER: _ClassVar[int]
    PURPOSE_FIELD_NUMBER: _ClassVar[int]
    CONSENT_ID_FIELD_NUMBER: _ClassVar[int]
    DISCLOSE_TIME_FIELD_NUMBER: _ClassVar[int]
    DEBT_COUNT_FIELD_NUMBER: _ClassVar[int]
    APPLICATION_REFERENCE_FIELD_NUMBER: _ClassVar[int]
    TRACE_ID_FIELD_NUMBER: _ClassVar[int]
    CREDIT_BLOCKED_FIELD_NUMBER: _ClassVar[int]
    id: str
    recipient: _identity_pb2.Institution
    purpose: DisclosurePurpose
    consent_id: str
    disclose_time: _timestamp_pb2.Timestamp
    debt_count: int
    application_reference: str
    trace_id: str
    credit_blocked: bool
    def __init__(self, id: _Optional[str] = ..., recipient: _Optional[_Union[_identity_pb2.Institution, _Mapping]] = ..., purpose: _Optional[_Union[DisclosurePurpose, str]] = ..., consent_id: _Optional[str] = ..., disclose_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., debt_count: _Optional[int] = ..., application_reference: _Optional[str] = ..., trace_id: _Optional[str] = ..., credit_blocked: _Optional[bool] = ...) -> None: ...
