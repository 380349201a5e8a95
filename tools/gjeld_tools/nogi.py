"""The delivery format Norwegian banks already produce for Norsk Gjeldsinformasjon (NOGI-FORMAT.md),
both ways: a NOGI file read, loan by loan, into gjeld's contract, and registered debts written back
as a NOGI delivery. Field paths in the registry's answers are translated back to NOGI's names, so a
bank's integration team reads every error in the terms of the file it sent.

Files are read as a stream (ijson), so a national-size file never has to fit in memory."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO

import ijson
from gjeld.ingest.v1 import ingest_pb2
from gjeld.type.v1 import debt_pb2, identity_pb2, money_pb2
from gjeld_shared.nogi import CO_BORROWER, PERIODS, TYPES, loan_of

# Our field names (the last parts of a violation's path) and NOGI's.
FIELD_NAMES = {
    "account_id": "accountID",
    "co_borrower_role": "coBorrower",
    "extract_time": "timestamp",
    "terms": "type",
    "original_balance": "originalBalance",
    "balance": "balance",
    "remaining_term_months": "terms",
    "credit_limit": "creditLimit",
    "interest_bearing_balance": "interestBearingBalance",
    "non_interest_bearing_balance": "nonInterestBearingBalance",
    "nominal_interest_rate_bp": "nominalInterestRate",
    "installment_charges": "installmentCharges",
}


@dataclass(frozen=True)
class Loan:
    """One loan of a NOGI file, where it stands in the file, and as a debt to register."""

    customer: int  # index in `customers`
    loan: int  # index in that customer's `loans`
    financial_institution: str
    debt: ingest_pb2.Debt


def _money(loan: dict[str, Any], name: str) -> money_pb2.Money | None:
    return money_pb2.Money(minor_units=int(loan[name])) if name in loan else None


def _charges(loan: dict[str, Any]) -> debt_pb2.InstallmentCharges | None:
    if "installmentCharges" not in loan:
        return None
    return debt_pb2.InstallmentCharges(
        monthly_amount=_money(loan, "installmentCharges"),
        period=PERIODS.get(
            str(loan.get("installmentChargePeriod", "")), debt_pb2.INSTALLMENT_CHARGE_PERIOD_UNSPECIFIED
        ),
    )


def debt(customer_id: str, loan: dict[str, Any]) -> ingest_pb2.Debt:
    """One NOGI loan as a debt to register. Missing fields stay unset, so the registry names them."""
    message = ingest_pb2.Debt(
        account_id=str(loan.get("accountID", "")), debtor=identity_pb2.NationalIdentityNumber(value=customer_id)
    )
    if "coBorrower" in loan:
        message.co_borrower_role = CO_BORROWER.get(int(loan["coBorrower"]), debt_pb2.CO_BORROWER_ROLE_UNSPECIFIED)
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


def loans(customers: Iterable[dict[str, Any]]) -> Iterator[Loan]:
    for c, customer in enumerate(customers):
        customer_id = str(customer.get("customerID", ""))
        institution = str(customer.get("financialInstitutionID", ""))
        for n, loan in enumerate(customer.get("loans", [])):
            yield Loan(c, n, institution, debt(customer_id, loan))


def changes(delivery: dict[str, Any]) -> Iterator[ingest_pb2.DebtChange]:
    """Every loan of a parsed delivery as a change registering it."""
    for loan in loans(delivery.get("customers", [])):
        yield ingest_pb2.DebtChange(register=loan.debt)


def provider(file: BinaryIO) -> str | None:
    """The delivering provider's organisation number (from `providerID`, `9908:<number>`), read from the top."""
    value = next(ijson.items(file, "providerID"), None)
    file.seek(0)
    return str(value).rsplit(":", 1)[-1] if value else None


def read(file: BinaryIO) -> Iterator[Loan]:
    """The loans of a NOGI file, one customer in memory at a time."""
    return loans(ijson.items(file, "customers.item", use_float=True))


def location(path: str, customer: int, loan: int) -> str:
    """A field path from the registry (`debts[17].credit_facility.credit_limit.minor_units`) in NOGI's terms
    (`customers[3].loans[1].creditLimit`), for the loan at `customers[customer].loans[loan]`."""
    here = f"customers[{customer}].loans[{loan}]"
    rest = re.sub(r"^(debts|changes)\[\d+\](\.register)?\.?", "", path)
    if rest.startswith("debtor"):
        return f"customers[{customer}].customerID"
    parts = [p for p in rest.split(".") if p and p not in TYPES and p not in ("minor_units", "monthly_amount")]
    return f"{here}.{FIELD_NAMES.get(parts[0], parts[0])}" if parts else here


def delivery(provider_number: str, debts: Iterable[ingest_pb2.Debt]) -> dict[str, Any]:
    """Registered debts (with debtor and creditor, as ListDebts gives them) as a NOGI delivery."""
    customers: dict[tuple[str, str], dict[str, Any]] = {}
    for message in debts:
        key = (message.debtor.value, message.creditor.organization_number.value)
        customer = customers.setdefault(key, {"customerID": key[0], "financialInstitutionID": key[1], "loans": []})
        customer["loans"].append(loan_of(message))
    return {"providerID": f"9908:{provider_number}", "customers": list(customers.values())}
