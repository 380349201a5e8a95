"""Disclosure rules, without I/O (DOM-5, DOM-9, DOM-10, DOM-13).

What a lender receives is built from the register's debts by copying amounts,
type, co-borrower flag and freshness into a message that has no creditor field:
a creditor's name or number cannot reach a lender through it (DOM-5).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable

from gjeld.ingest.v1 import ingest_pb2
from gjeld.lookup.v1 import lookup_pb2
from gjeld.type.v1 import debt_pb2, money_pb2


class Purpose(enum.Enum):
    CREDIT_ASSESSMENT = "credit_assessment"
    SUBJECT_ACCESS = "subject_access"


PURPOSE_WORDS = {
    Purpose.CREDIT_ASSESSMENT: "Credit assessment of a loan application, with your consent",
    Purpose.SUBJECT_ACCESS: "Your own view of your debt",
}
SOURCE = "gjeld, the register of unsecured debt, as reported by your creditors"

_TYPES = {
    "repayment_loan": debt_pb2.DEBT_TYPE_REPAYMENT_LOAN,
    "credit_facility": debt_pb2.DEBT_TYPE_CREDIT_FACILITY,
    "charge_card": debt_pb2.DEBT_TYPE_CHARGE_CARD,
}


def for_lender(debt: ingest_pb2.Debt) -> debt_pb2.DisclosedDebt:
    """The debt as a lender may see it: no creditor, no account id (DOM-5)."""
    disclosed = debt_pb2.DisclosedDebt(co_borrower_role=debt.co_borrower_role, confirm_time=debt.confirm_time)
    kind = debt.WhichOneof("terms")
    if kind is not None:
        getattr(disclosed, kind).CopyFrom(getattr(debt, kind))
    return disclosed


def for_subject(debt: ingest_pb2.Debt) -> lookup_pb2.OwnDebt:
    """The debt as its debtor sees it: with the creditor."""
    own = lookup_pb2.OwnDebt(
        creditor=debt.creditor,
        account_id=debt.account_id,
        co_borrower_role=debt.co_borrower_role,
        confirm_time=debt.confirm_time,
    )
    kind = debt.WhichOneof("terms")
    if kind is not None:
        getattr(own, kind).CopyFrom(getattr(debt, kind))
    return own


def _figures(debt: debt_pb2.DisclosedDebt | lookup_pb2.OwnDebt) -> tuple[int, int, int]:
    """(debt type, balance, credit limit) of one debt; balance per DOM-2."""
    kind = debt.WhichOneof("terms")
    if kind == "repayment_loan":
        return _TYPES[kind], debt.repayment_loan.balance.minor_units, 0
    if kind == "credit_facility":
        f = debt.credit_facility
        return (
            _TYPES[kind],
            f.interest_bearing_balance.minor_units + f.non_interest_bearing_balance.minor_units,
            f.credit_limit.minor_units,
        )
    if kind == "charge_card":
        c = debt.charge_card
        return _TYPES[kind], c.interest_bearing_balance.minor_units + c.non_interest_bearing_balance.minor_units, 0
    return debt_pb2.DEBT_TYPE_UNSPECIFIED, 0, 0


def totals(debts: Iterable[debt_pb2.DisclosedDebt | lookup_pb2.OwnDebt]) -> list[debt_pb2.DebtTotal]:
    """Count, balance and credit limit per debt type, in type order."""
    sums: dict[int, list[int]] = {}
    for debt in debts:
        kind, balance, limit = _figures(debt)
        entry = sums.setdefault(kind, [0, 0, 0])
        entry[0] += 1
        entry[1] += balance
        entry[2] += limit
    return [
        debt_pb2.DebtTotal(
            debt_type=kind,
            debt_count=count,
            balance=money_pb2.Money(minor_units=balance),
            credit_limit=money_pb2.Money(minor_units=limit),
        )
        for kind, (count, balance, limit) in sorted(sums.items())
    ]
