"""The delivery format Norwegian banks already produce for Norsk Gjeldsinformasjon
(see NOGI-FORMAT.md), read into gjeld's contract: one `DebtChange` per loan."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from gjeld.ingest.v1 import ingest_pb2
from gjeld.type.v1 import debt_pb2, identity_pb2, money_pb2

CO_BORROWER = {
    0: debt_pb2.CO_BORROWER_ROLE_SOLE_DEBTOR,
    1: debt_pb2.CO_BORROWER_ROLE_IS_CO_BORROWER,
    2: debt_pb2.CO_BORROWER_ROLE_HAS_CO_BORROWER,
}
PERIODS = {
    "MONTHLY": debt_pb2.INSTALLMENT_CHARGE_PERIOD_MONTHLY,
    "QUARTERLY": debt_pb2.INSTALLMENT_CHARGE_PERIOD_QUARTERLY,
    "HALF-YEARLY": debt_pb2.INSTALLMENT_CHARGE_PERIOD_HALF_YEARLY,
    "YEARLY": debt_pb2.INSTALLMENT_CHARGE_PERIOD_YEARLY,
}


def _money(loan: dict[str, Any], name: str) -> money_pb2.Money | None:
    return money_pb2.Money(minor_units=int(loan[name])) if name in loan else None


def _charges(loan: dict[str, Any]) -> debt_pb2.InstallmentCharges | None:
    if "installmentCharges" not in loan:
        return None
    return debt_pb2.InstallmentCharges(
        monthly_amount=_money(loan, "installmentCharges"),
        period=PERIODS.get(str(loan.get("installmentChargePeriod", "")), 0),
    )


def debt(customer_id: str, loan: dict[str, Any]) -> ingest_pb2.Debt:
    """One NOGI loan as a debt to register. Missing fields stay unset, so the registry names them."""
    message = ingest_pb2.Debt(
        account_id=str(loan.get("accountID", "")), debtor=identity_pb2.NationalIdentityNumber(value=customer_id)
    )
    if "coBorrower" in loan:
        message.co_borrower_role = CO_BORROWER.get(int(loan["coBorrower"]), 0)
    if "timestamp" in loan:
        message.extract_time.FromDatetime(datetime.fromisoformat(str(loan["timestamp"]).replace("Z", "+00:00")))
    kind = loan.get("type")
    rate = {"nominal_interest_rate_bp": int(loan["nominalInterestRate"])} if "nominalInterestRate" in loan else {}
    if kind == "repaymentLoan":
        term = {"remaining_term_months": int(loan["terms"])} if "terms" in loan else {}
        message.repayment_loan.CopyFrom(
            debt_pb2.RepaymentLoan(
                original_balance=_money(loan, "originalBalance"),
                balance=_money(loan, "balance"),
                installment_charges=_charges(loan),
                **term,
                **rate,
            )
        )
    elif kind == "creditFacility":
        message.credit_facility.CopyFrom(
            debt_pb2.CreditFacility(
                credit_limit=_money(loan, "creditLimit"),
                interest_bearing_balance=_money(loan, "interestBearingBalance"),
                non_interest_bearing_balance=_money(loan, "nonInterestBearingBalance"),
                installment_charges=_charges(loan),
                **rate,
            )
        )
    elif kind == "chargeCard":
        message.charge_card.CopyFrom(
            debt_pb2.ChargeCard(
                interest_bearing_balance=_money(loan, "interestBearingBalance"),
                non_interest_bearing_balance=_money(loan, "nonInterestBearingBalance"),
            )
        )
    return message


def changes(delivery: dict[str, Any]) -> Iterator[ingest_pb2.DebtChange]:
    for customer in delivery.get("customers", []):
        for loan in customer.get("loans", []):
            yield ingest_pb2.DebtChange(register=debt(str(customer.get("customerID", "")), loan))
