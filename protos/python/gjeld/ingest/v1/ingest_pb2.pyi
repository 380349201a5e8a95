import datetime

from gjeld.type.v1 import debt_pb2 as _debt_pb2
from gjeld.type.v1 import identity_pb2 as _identity_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Debt(_message.Message):
    __slots__ = ("account_id", "debtor", "co_borrower_role", "extract_time", "repayment_loan", "credit_facility", "charge_card", "creditor", "confirm_time")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    DEBTOR_FIELD_NUMBER: _ClassVar[int]
    CO_BORROWER_ROLE_FIELD_NUMBER: _ClassVar[int]
    EXTRACT_TIME_FIELD_NUMBER: _ClassVar[int]
    REPAYMENT_LOAN_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FACILITY_FIELD_NUMBER: _ClassVar[int]
    CHARGE_CARD_FIELD_NUMBER: _ClassVar[int]
    CREDITOR_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_TIME_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    debtor: _identity_pb2.NationalIdentityNumber
    co_borrower_role: _debt_pb2.CoBorrowerRole
    extract_time: _timestamp_pb2.Timestamp
    repayment_loan: _debt_pb2.RepaymentLoan
    credit_facility: _debt_pb2.CreditFacility
    charge_card: _debt_pb2.ChargeCard
    creditor: _identity_pb2.Institution
    confirm_time: _timestamp_pb2.Timestamp
    def __init__(self, account_id: _Optional[str] = ..., debtor: _Optional[_Union[_identity_pb2.NationalIdentityNumber, _Mapping]] = ..., co_borrower_role: _Optional[_Union[_debt_pb2.CoBorrowerRole, str]] = ..., extract_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., repayment_loan: _Optional[_Union[_debt_pb2.RepaymentLoan, _Mapping]] = ..., credit_facility: _Optional[_Union[_debt_pb2.CreditFacility, _Mapping]] = ..., charge_card: _Optional[_Union[_debt_pb2.ChargeCard, _Mapping]] = ..., creditor: _Optional[_Union[_identity_pb2.Institution, _Mapping]] = ..., confirm_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class DebtKey(_message.Message):
    __slots__ = ("account_id", "debtor")
    ACCOUNT_ID_FIELD_NUMBER: _ClassVar[int]
    DEBTOR_FIELD_NUMBER: _ClassVar[int]
    account_id: str
    debtor: _identity_pb2.NationalIdentityNumber
    def __init__(self, account_id: _Optional[str] = ..., debtor: _Optional[_Union[_identity_pb2.NationalIdentityNumber, _Mapping]] = ...) -> None: ...

class DebtChange(_message.Message):
    __slots__ = ("register", "close")
    REGISTER_FIELD_NUMBER: _ClassVar[int]
    CLOSE_FIELD_NUMBER: _ClassVar[int]
    register: Debt
    close: DebtKey
    def __init__(self, register: _Optional[_Union[Debt, _Mapping]] = ..., close: _Optional[_Union[DebtKey, _Mapping]] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("id", "request_id", "registered_count", "closed_count", "unknown_close_count", "receive_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_COUNT_FIELD_NUMBER: _ClassVar[int]
    CLOSED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_CLOSE_COUNT_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    registered_count: int
    closed_count: int
    unknown_close_count: int
    receive_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., request_id: _Optional[str] = ..., registered_count: _Optional[int] = ..., closed_count: _Optional[int] = ..., unknown_close_count: _Optional[int] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
