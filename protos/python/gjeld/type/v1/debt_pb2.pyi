import datetime

from gjeld.type.v1 import money_pb2 as _money_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class DebtType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEBT_TYPE_UNSPECIFIED: _ClassVar[DebtType]
    DEBT_TYPE_REPAYMENT_LOAN: _ClassVar[DebtType]
    DEBT_TYPE_CREDIT_FACILITY: _ClassVar[DebtType]
    DEBT_TYPE_CHARGE_CARD: _ClassVar[DebtType]

class CoBorrowerRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CO_BORROWER_ROLE_UNSPECIFIED: _ClassVar[CoBorrowerRole]
    CO_BORROWER_ROLE_SOLE_DEBTOR: _ClassVar[CoBorrowerRole]
    CO_BORROWER_ROLE_HAS_CO_BORROWER: _ClassVar[CoBorrowerRole]
    CO_BORROWER_ROLE_IS_CO_BORROWER: _ClassVar[CoBorrowerRole]

class InstallmentChargePeriod(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    INSTALLMENT_CHARGE_PERIOD_UNSPECIFIED: _ClassVar[InstallmentChargePeriod]
    INSTALLMENT_CHARGE_PERIOD_MONTHLY: _ClassVar[InstallmentChargePeriod]
    INSTALLMENT_CHARGE_PERIOD_QUARTERLY: _ClassVar[InstallmentChargePeriod]
    INSTALLMENT_CHARGE_PERIOD_HALF_YEARLY: _ClassVar[InstallmentChargePeriod]
    INSTALLMENT_CHARGE_PERIOD_YEARLY: _ClassVar[InstallmentChargePeriod]
DEBT_TYPE_UNSPECIFIED: DebtType
DEBT_TYPE_REPAYMENT_LOAN: DebtType
DEBT_TYPE_CREDIT_FACILITY: DebtType
DEBT_TYPE_CHARGE_CARD: DebtType
CO_BORROWER_ROLE_UNSPECIFIED: CoBorrowerRole
CO_BORROWER_ROLE_SOLE_DEBTOR: CoBorrowerRole
CO_BORROWER_ROLE_HAS_CO_BORROWER: CoBorrowerRole
CO_BORROWER_ROLE_IS_CO_BORROWER: CoBorrowerRole
INSTALLMENT_CHARGE_PERIOD_UNSPECIFIED: InstallmentChargePeriod
INSTALLMENT_CHARGE_PERIOD_MONTHLY: InstallmentChargePeriod
INSTALLMENT_CHARGE_PERIOD_QUARTERLY: InstallmentChargePeriod
INSTALLMENT_CHARGE_PERIOD_HALF_YEARLY: InstallmentChargePeriod
INSTALLMENT_CHARGE_PERIOD_YEARLY: InstallmentChargePeriod

class InstallmentCharges(_message.Message):
    __slots__ = ("monthly_amount", "period")
    MONTHLY_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    monthly_amount: _money_pb2.Money
    period: InstallmentChargePeriod
    def __init__(self, monthly_amount: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., period: _Optional[_Union[InstallmentChargePeriod, str]] = ...) -> None: ...

class RepaymentLoan(_message.Message):
    __slots__ = ("original_balance", "balance", "remaining_term_months", "nominal_interest_rate_bp", "effective_interest_rate_bp", "installment_charges")
    ORIGINAL_BALANCE_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    REMAINING_TERM_MONTHS_FIELD_NUMBER: _ClassVar[int]
    NOMINAL_INTEREST_RATE_BP_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_INTEREST_RATE_BP_FIELD_NUMBER: _ClassVar[int]
    INSTALLMENT_CHARGES_FIELD_NUMBER: _ClassVar[int]
    original_balance: _money_pb2.Money
    balance: _money_pb2.Money
    remaining_term_months: int
    nominal_interest_rate_bp: int
    effective_interest_rate_bp: int
    installment_charges: InstallmentCharges
    def __init__(self, original_balance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., balance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., remaining_term_months: _Optional[int] = ..., nominal_interest_rate_bp: _Optional[int] = ..., effective_interest_rate_bp: _Optional[int] = ..., installment_charges: _Optional[_Union[InstallmentCharges, _Mapping]] = ...) -> None: ...

class CreditFacility(_message.Message):
    __slots__ = ("credit_limit", "interest_bearing_balance", "non_interest_bearing_balance", "nominal_interest_rate_bp", "effective_interest_rate_bp", "installment_charges")
    CREDIT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    INTEREST_BEARING_BALANCE_FIELD_NUMBER: _ClassVar[int]
    NON_INTEREST_BEARING_BALANCE_FIELD_NUMBER: _ClassVar[int]
    NOMINAL_INTEREST_RATE_BP_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_INTEREST_RATE_BP_FIELD_NUMBER: _ClassVar[int]
    INSTALLMENT_CHARGES_FIELD_NUMBER: _ClassVar[int]
    credit_limit: _money_pb2.Money
    interest_bearing_balance: _money_pb2.Money
    non_interest_bearing_balance: _money_pb2.Money
    nominal_interest_rate_bp: int
    effective_interest_rate_bp: int
    installment_charges: InstallmentCharges
    def __init__(self, credit_limit: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., interest_bearing_balance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., non_interest_bearing_balance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., nominal_interest_rate_bp: _Optional[int] = ..., effective_interest_rate_bp: _Optional[int] = ..., installment_charges: _Optional[_Union[InstallmentCharges, _Mapping]] = ...) -> None: ...

class ChargeCard(_message.Message):
    __slots__ = ("interest_bearing_balance", "non_interest_bearing_balance")
    INTEREST_BEARING_BALANCE_FIELD_NUMBER: _ClassVar[int]
    NON_INTEREST_BEARING_BALANCE_FIELD_NUMBER: _ClassVar[int]
    interest_bearing_balance: _money_pb2.Money
    non_interest_bearing_balance: _money_pb2.Money
    def __init__(self, interest_bearing_balance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., non_interest_bearing_balance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...

class DisclosedDebt(_message.Message):
    __slots__ = ("co_borrower_role", "repayment_loan", "credit_facility", "charge_card", "confirm_time", "creditor_number")
    CO_BORROWER_ROLE_FIELD_NUMBER: _ClassVar[int]
    REPAYMENT_LOAN_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FACILITY_FIELD_NUMBER: _ClassVar[int]
    CHARGE_CARD_FIELD_NUMBER: _ClassVar[int]
    CONFIRM_TIME_FIELD_NUMBER: _ClassVar[int]
    CREDITOR_NUMBER_FIELD_NUMBER: _ClassVar[int]
    co_borrower_role: CoBorrowerRole
    repayment_loan: RepaymentLoan
    credit_facility: CreditFacility
    charge_card: ChargeCard
    confirm_time: _timestamp_pb2.Timestamp
    creditor_number: int
    def __init__(self, co_borrower_role: _Optional[_Union[CoBorrowerRole, str]] = ..., repayment_loan: _Optional[_Union[RepaymentLoan, _Mapping]] = ..., credit_facility: _Optional[_Union[CreditFacility, _Mapping]] = ..., charge_card: _Optional[_Union[ChargeCard, _Mapping]] = ..., confirm_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., creditor_number: _Optional[int] = ...) -> None: ...

class DebtTotal(_message.Message):
    __slots__ = ("debt_type", "debt_count", "balance", "credit_limit")
    DEBT_TYPE_FIELD_NUMBER: _ClassVar[int]
    DEBT_COUNT_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    CREDIT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    debt_type: DebtType
    debt_count: int
    balance: _money_pb2.Money
    credit_limit: _money_pb2.Money
    def __init__(self, debt_type: _Optional[_Union[DebtType, str]] = ..., debt_count: _Optional[int] = ..., balance: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., credit_limit: _Optional[_Union[_money_pb2.Money, _Mapping]] = ...) -> None: ...
