"""Between the contract's messages and ingest's domain: reading a reported debt field
by field (so each missing or bad field is named), and writing registered debts back."""

from __future__ import annotations

from typing import Any

from gjeld.ingest.v1 import ingest_pb2
from gjeld.type.v1 import debt_pb2, identity_pb2, money_pb2
from gjeld_shared import identity_numbers
from gjeld_shared.errors import Violations
from gjeld_shared.institutions import InstitutionDirectory, institution_to_proto
from gjeld_shared.timestamps import from_proto, to_proto

from . import domain
from .adapters import Delivery
from .domain import (
    ChargeCard,
    CoBorrowerRole,
    CreditFacility,
    InstallmentChargePeriod,
    InstallmentCharges,
    RegisteredDebt,
    RepaymentLoan,
    Terms,
)

ROLE_FROM_PROTO = {
    debt_pb2.CO_BORROWER_ROLE_SOLE_DEBTOR: CoBorrowerRole.SOLE_DEBTOR,
    debt_pb2.CO_BORROWER_ROLE_HAS_CO_BORROWER: CoBorrowerRole.HAS_CO_BORROWER,
    debt_pb2.CO_BORROWER_ROLE_IS_CO_BORROWER: CoBorrowerRole.IS_CO_BORROWER,
}
ROLE_TO_PROTO = {v: k for k, v in ROLE_FROM_PROTO.items()}
PERIOD_FROM_PROTO = {
    debt_pb2.INSTALLMENT_CHARGE_PERIOD_UNSPECIFIED: InstallmentChargePeriod.MONTHLY,
    debt_pb2.INSTALLMENT_CHARGE_PERIOD_MONTHLY: InstallmentChargePeriod.MONTHLY,
    debt_pb2.INSTALLMENT_CHARGE_PERIOD_QUARTERLY: InstallmentChargePeriod.QUARTERLY,
    debt_pb2.INSTALLMENT_CHARGE_PERIOD_HALF_YEARLY: InstallmentChargePeriod.HALF_YEARLY,
    debt_pb2.INSTALLMENT_CHARGE_PERIOD_YEARLY: InstallmentChargePeriod.YEARLY,
}
PERIOD_TO_PROTO = {
    InstallmentChargePeriod.MONTHLY: debt_pb2.INSTALLMENT_CHARGE_PERIOD_MONTHLY,
    InstallmentChargePeriod.QUARTERLY: debt_pb2.INSTALLMENT_CHARGE_PERIOD_QUARTERLY,
    InstallmentChargePeriod.HALF_YEARLY: debt_pb2.INSTALLMENT_CHARGE_PERIOD_HALF_YEARLY,
    InstallmentChargePeriod.YEARLY: debt_pb2.INSTALLMENT_CHARGE_PERIOD_YEARLY,
}


class _Reader:
    """Reads required fields of one message, recording a violation for each one missing."""

    def __init__(self, message: Any, path: str, violations: Violations) -> None:
        self.message, self.path, self.violations = message, path, violations
        self.complete = True

    def _present(self, name: str) -> bool:
        if self.message.HasField(name):
            return True
        self.violations.add(f"{self.path}.{name}", "is required")
        self.complete = False
        return False

    def money(self, name: str) -> int:
        return int(getattr(self.message, name).minor_units) if self._present(name) else 0

    def integer(self, name: str) -> int:
        return int(getattr(self.message, name)) if self._present(name) else 0

    def optional_integer(self, name: str) -> int | None:
        return int(getattr(self.message, name)) if self.message.HasField(name) else None

    def charges(self) -> InstallmentCharges:
        if not self._present("installment_charges"):
            return InstallmentCharges(0)
        inner = _Reader(self.message.installment_charges, f"{self.path}.installment_charges", self.violations)
        amount = inner.money("monthly_amount")
        self.complete = self.complete and inner.complete
        return InstallmentCharges(
            amount, PERIOD_FROM_PROTO.get(self.message.installment_charges.period, InstallmentChargePeriod.MONTHLY)
        )


def _terms(message: ingest_pb2.Debt, path: str, violations: Violations) -> Terms | None:
    kind = message.WhichOneof("terms")
    if kind is None:
        violations.add(f"{path}.terms", "one of repayment_loan, credit_facility or charge_card is required")
        return None
    r = _Reader(getattr(message, kind), f"{path}.{kind}", violations)
    terms: Terms
    if kind == "repayment_loan":
        terms = RepaymentLoan(
            r.money("original_balance"),
            r.money("balance"),
            r.integer("remaining_term_months"),
            r.integer("nominal_interest_rate_bp"),
            r.charges(),
            r.optional_integer("effective_interest_rate_bp"),
        )
    elif kind == "credit_facility":
        terms = CreditFacility(
            r.money("credit_limit"),
            r.money("interest_bearing_balance"),
            r.money("non_interest_bearing_balance"),
            r.integer("nominal_interest_rate_bp"),
            r.charges(),
            r.optional_integer("effective_interest_rate_bp"),
        )
    else:
        terms = ChargeCard(r.money("interest_bearing_balance"), r.money("non_interest_bearing_balance"))
    for field, description in domain.check_terms(terms):
        violations.add(f"{path}.{field}", description)
    return terms if r.complete else None


def _debtor(message: identity_pb2.NationalIdentityNumber, path: str, violations: Violations) -> str:
    with violations.catching(f"{path}.value", identity_numbers.InvalidIdentityNumber):
        return identity_numbers.validate(message.value)
    return ""


def debt_from_proto(message: ingest_pb2.Debt, path: str, violations: Violations) -> domain.Debt | None:
    """The reported debt, or None with violations recorded for every bad field."""
    before = len(violations.items)
    for field, description in domain.check_account_id(message.account_id):
        violations.add(f"{path}.{field}", description)
    debtor = _debtor(message.debtor, f"{path}.debtor", violations)
    role = ROLE_FROM_PROTO.get(message.co_borrower_role)
    if role is None:
        violations.add(f"{path}.co_borrower_role", "is required: sole debtor, has co-borrower or is co-borrower")
    if not message.HasField("extract_time"):
        violations.add(f"{path}.extract_time", "is required")
    terms = _terms(message, path, violations)
    if len(violations.items) > before or terms is None or role is None:
        return None
    return domain.Debt(message.account_id, debtor, role, from_proto(message.extract_time), terms)


def key_from_proto(message: ingest_pb2.DebtKey, path: str, violations: Violations) -> domain.DebtKey | None:
    before = len(violations.items)
    for field, description in domain.check_account_id(message.account_id):
        violations.add(f"{path}.{field}", description)
    debtor = _debtor(message.debtor, f"{path}.debtor", violations)
    return None if len(violations.items) > before else domain.DebtKey(message.account_id, debtor)


def _money(amount: int) -> money_pb2.Money:
    return money_pb2.Money(minor_units=amount)


def terms_to_proto(terms: Terms, target: Any) -> None:
    """Write the terms into the message's `terms` oneof (ingest Debt, or any message with the same oneof)."""
    if isinstance(terms, ChargeCard):
        target.charge_card.CopyFrom(
            debt_pb2.ChargeCard(
                interest_bearing_balance=_money(terms.interest_bearing_balance),
                non_interest_bearing_balance=_money(terms.non_interest_bearing_balance),
            )
        )
        return
    charges = debt_pb2.InstallmentCharges(
        monthly_amount=_money(terms.installment_charges.monthly_amount),
        period=PERIOD_TO_PROTO[terms.installment_charges.period],
    )
    if isinstance(terms, RepaymentLoan):
        target.repayment_loan.CopyFrom(
            debt_pb2.RepaymentLoan(
                original_balance=_money(terms.original_balance),
                balance=_money(terms.balance),
                remaining_term_months=terms.remaining_term_months,
                nominal_interest_rate_bp=terms.nominal_interest_rate_bp,
                effective_interest_rate_bp=terms.effective_interest_rate_bp,
                installment_charges=charges,
            )
        )
    else:
        target.credit_facility.CopyFrom(
            debt_pb2.CreditFacility(
                credit_limit=_money(terms.credit_limit),
                interest_bearing_balance=_money(terms.interest_bearing_balance),
                non_interest_bearing_balance=_money(terms.non_interest_bearing_balance),
                nominal_interest_rate_bp=terms.nominal_interest_rate_bp,
                effective_interest_rate_bp=terms.effective_interest_rate_bp,
                installment_charges=charges,
            )
        )


def debt_to_proto(debt: RegisteredDebt, directory: InstitutionDirectory) -> ingest_pb2.Debt:
    creditor = directory.get(debt.creditor)
    message = ingest_pb2.Debt(
        account_id=debt.account_id,
        co_borrower_role=ROLE_TO_PROTO[debt.co_borrower_role],
        extract_time=to_proto(debt.extract_time),
        confirm_time=to_proto(debt.confirm_time),
        creditor=institution_to_proto(creditor),
    )
    if debt.debtor is not None:
        message.debtor.value = debt.debtor
    terms_to_proto(debt.terms, message)
    return message


def delivery_to_proto(delivery: Delivery) -> ingest_pb2.Delivery:
    return ingest_pb2.Delivery(
        id=str(delivery.id),
        request_id=delivery.request_id,
        registered_count=delivery.registered_count,
        closed_count=delivery.closed_count,
        unknown_close_count=delivery.unknown_close_count,
        receive_time=to_proto(delivery.receive_time),
    )
