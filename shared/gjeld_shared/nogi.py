"""The delivery format Norwegian banks already produce for Norsk Gjeldsinformasjon (NOGI-FORMAT.md): its names for
gjeld's values, and a registered debt written as a NOGI loan (the CLI's read-back, the score-model packages)."""

from __future__ import annotations

import functools
import time
from typing import Any

from gjeld.ingest.v1 import ingest_pb2
from gjeld.type.v1 import debt_pb2, money_pb2

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
TYPES = {"repayment_loan": "repaymentLoan", "credit_facility": "creditFacility", "charge_card": "chargeCard"}


def _iso(stamp: Any) -> str:
    """A Timestamp as NOGI writes it (ISO 8601, UTC, "Z"; microseconds only when it has them)."""
    return _iso_of(stamp.seconds, stamp.nanos)


@functools.lru_cache(maxsize=4096)
def _iso_of(seconds: int, nanos: int) -> str:
    """(Cached: a delivery's debts share a few extract times, and a package writes a million of them.)"""
    whole = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{whole}.{nanos // 1000:06d}Z" if nanos else f"{whole}Z"


_ROLES = {v: k for k, v in CO_BORROWER.items()}
_PERIOD_NAMES = {v: k for k, v in PERIODS.items()}


def _minor(amount: money_pb2.Money) -> int:
    return int(amount.minor_units)


def loan_of(message: ingest_pb2.Debt) -> dict[str, Any]:
    """A registered debt as a NOGI loan."""
    role = _ROLES[message.co_borrower_role]
    kind = message.WhichOneof("terms")
    loan: dict[str, Any] = {"type": TYPES[str(kind)], "accountID": message.account_id}
    loan["timestamp"] = _iso(message.extract_time)
    terms = getattr(message, str(kind))
    if kind == "repayment_loan":
        loan.update(
            originalBalance=_minor(terms.original_balance),
            balance=_minor(terms.balance),
            terms=terms.remaining_term_months,
        )
    elif kind == "credit_facility":
        loan["creditLimit"] = _minor(terms.credit_limit)
    if kind != "repayment_loan":
        loan.update(
            interestBearingBalance=_minor(terms.interest_bearing_balance),
            nonInterestBearingBalance=_minor(terms.non_interest_bearing_balance),
        )
    if kind != "charge_card":
        loan.update(
            nominalInterestRate=terms.nominal_interest_rate_bp,
            installmentCharges=_minor(terms.installment_charges.monthly_amount),
        )
        if terms.installment_charges.period in _PERIOD_NAMES:
            loan["installmentChargePeriod"] = _PERIOD_NAMES[terms.installment_charges.period]
    loan["coBorrower"] = role
    return loan
