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

class Strictness(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    STRICTNESS_UNSPECIFIED: _ClassVar[Strictness]
    STRICTNESS_ALL_OR_NOTHING: _ClassVar[Strictness]
    STRICTNESS_PARTIAL: _ClassVar[Strictness]

class DeliveryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DELIVERY_KIND_UNSPECIFIED: _ClassVar[DeliveryKind]
    DELIVERY_KIND_CHANGES: _ClassVar[DeliveryKind]
    DELIVERY_KIND_SNAPSHOT: _ClassVar[DeliveryKind]

class HandoverState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    HANDOVER_STATE_UNSPECIFIED: _ClassVar[HandoverState]
    HANDOVER_STATE_PROPOSED: _ClassVar[HandoverState]
    HANDOVER_STATE_COMPLETED: _ClassVar[HandoverState]
STRICTNESS_UNSPECIFIED: Strictness
STRICTNESS_ALL_OR_NOTHING: Strictness
STRICTNESS_PARTIAL: Strictness
DELIVERY_KIND_UNSPECIFIED: DeliveryKind
DELIVERY_KIND_CHANGES: DeliveryKind
DELIVERY_KIND_SNAPSHOT: DeliveryKind
HANDOVER_STATE_UNSPECIFIED: HandoverState
HANDOVER_STATE_PROPOSED: HandoverState
HANDOVER_STATE_COMPLETED: HandoverState

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

class FieldViolation(_message.Message):
    __slots__ = ("field", "description")
    FIELD_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    field: str
    description: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class RecordRejection(_message.Message):
    __slots__ = ("index", "violations")
    INDEX_FIELD_NUMBER: _ClassVar[int]
    VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    index: int
    violations: _containers.RepeatedCompositeFieldContainer[FieldViolation]
    def __init__(self, index: _Optional[int] = ..., violations: _Optional[_Iterable[_Union[FieldViolation, _Mapping]]] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ("id", "request_id", "registered_count", "closed_count", "unknown_close_count", "receive_time", "kind", "strictness", "record_count", "rejected_count", "absent_count", "complete_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_COUNT_FIELD_NUMBER: _ClassVar[int]
    CLOSED_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNKNOWN_CLOSE_COUNT_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    STRICTNESS_FIELD_NUMBER: _ClassVar[int]
    RECORD_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTED_COUNT_FIELD_NUMBER: _ClassVar[int]
    ABSENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    request_id: str
    registered_count: int
    closed_count: int
    unknown_close_count: int
    receive_time: _timestamp_pb2.Timestamp
    kind: DeliveryKind
    strictness: Strictness
    record_count: int
    rejected_count: int
    absent_count: int
    complete_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., request_id: _Optional[str] = ..., registered_count: _Optional[int] = ..., closed_count: _Optional[int] = ..., unknown_close_count: _Optional[int] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., kind: _Optional[_Union[DeliveryKind, str]] = ..., strictness: _Optional[_Union[Strictness, str]] = ..., record_count: _Optional[int] = ..., rejected_count: _Optional[int] = ..., absent_count: _Optional[int] = ..., complete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Handover(_message.Message):
    __slots__ = ("id", "giver", "receiver", "account_ids", "state", "moved_count", "create_time", "complete_time")
    ID_FIELD_NUMBER: _ClassVar[int]
    GIVER_FIELD_NUMBER: _ClassVar[int]
    RECEIVER_FIELD_NUMBER: _ClassVar[int]
    ACCOUNT_IDS_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    MOVED_COUNT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_TIME_FIELD_NUMBER: _ClassVar[int]
    id: str
    giver: _identity_pb2.OrganizationNumber
    receiver: _identity_pb2.OrganizationNumber
    account_ids: _containers.RepeatedScalarFieldContainer[str]
    state: HandoverState
    moved_count: int
    create_time: _timestamp_pb2.Timestamp
    complete_time: _timestamp_pb2.Timestamp
    def __init__(self, id: _Optional[str] = ..., giver: _Optional[_Union[_identity_pb2.OrganizationNumber, _Mapping]] = ..., receiver: _Optional[_Union[_identity_pb2.OrganizationNumber, _Mapping]] = ..., account_ids: _Optional[_Iterable[str]] = ..., state: _Optional[_Union[HandoverState, str]] = ..., moved_count: _Optional[int] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., complete_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...
