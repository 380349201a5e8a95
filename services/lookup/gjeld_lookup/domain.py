"""Disclosure rules, without I/O (DOM-5, DOM-9, DOM-10, DOM-12, DOM-13).

What a lender receives is built from the register's debts by copying amounts,
type, co-borrower flag and freshness into a message that has no creditor field:
a creditor's name or number cannot reach a lender through it (DOM-5). Creditors
are known to a lender only by their number within one answer.

Each purpose is a legal basis (DOM-9): a lender's credit assessment or its
presentation of the subject's own debt, each with a consent of that scope
(DOM-10); a credit bureau under its own licence, which sends its own copy letters
(DOM-13); the subject themself.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from gjeld.ingest.v1 import ingest_pb2
from gjeld.lookup.v1 import lookup_pb2
from gjeld.type.v1 import debt_pb2, money_pb2


class Purpose(enum.Enum):
    CREDIT_ASSESSMENT = "credit_assessment"
    SUBJECT_ACCESS = "subject_access"
    PRESENTATION = "presentation"
    CREDIT_BUREAU = "credit_bureau"


PURPOSE_WORDS = {
    Purpose.CREDIT_ASSESSMENT: "Credit assessment of a loan application, with your consent",
    Purpose.SUBJECT_ACCESS: "Your own view of your debt",
    Purpose.PRESENTATION: "Showing you your own debt in their service, with your consent",
    Purpose.CREDIT_BUREAU: "A credit report by a licensed credit bureau",
}
# The consent scope each purpose needs (DOM-10); a purpose absent here needs none.
CONSENT_SCOPE = {Purpose.CREDIT_ASSESSMENT: "processing", Purpose.PRESENTATION: "presentation"}
# Purposes for which the registry sends the subject a copy letter (DOM-13): a credit bureau sends its own.
COPY_LETTER = frozenset({Purpose.CREDIT_ASSESSMENT, Purpose.PRESENTATION})
SOURCE = "gjeld, the register of unsecured debt, as reported by your creditors"

_TYPES = {
    "repayment_loan": debt_pb2.DEBT_TYPE_REPAYMENT_LOAN,
    "credit_facility": debt_pb2.DEBT_TYPE_CREDIT_FACILITY,
    "charge_card": debt_pb2.DEBT_TYPE_CHARGE_CARD,
}


class Answer(enum.Enum):
    """Where one creditor's part of an answer came from."""

    LIVE = "live"  # it answered live within the wait
    REGISTERED = "registered"  # it does not answer live: its registered data
    MISSING = "missing"  # it answers live but did not in time: its registered data instead


@dataclass
class CreditorPart:
    """One creditor's part of an answer: its debts of the subject and how fresh they are."""

    organization_number: str
    answer: Answer
    debts: list[ingest_pb2.Debt] = field(default_factory=list)

    def confirm_time(self) -> datetime | None:
        """When the creditor last confirmed all of its data about the subject: its oldest debt's confirm time."""
        times = [d.confirm_time.ToDatetime() for d in self.debts if d.HasField("confirm_time")]
        return min(times) if times else None


@dataclass(frozen=True)
class Gathered:
    """A subject's debt from every creditor, with how many live creditors answered and how many did not."""

    parts: list[CreditorPart]
    answered: int
    missing: int


def gather(
    registered: Sequence[ingest_pb2.Debt], live: Iterable[str], answers: Mapping[str, Sequence[ingest_pb2.Debt]]
) -> Gathered:
    """Combine the register with live answers: a live answer replaces that creditor's registered debts; a live
    creditor that did not answer is represented by its registered data (never by nothing, DOM-8's spirit)."""
    live = set(live)
    by_creditor: dict[str, CreditorPart] = {}
    for debt in registered:
        number = debt.creditor.organization_number.value
        if number not in answers:
            answer = Answer.MISSING if number in live else Answer.REGISTERED
            by_creditor.setdefault(number, CreditorPart(number, answer)).debts.append(debt)
    for number, debts in answers.items():
        if debts:
            by_creditor[number] = CreditorPart(number, Answer.LIVE, list(debts))
    parts = [by_creditor[n] for n in sorted(by_creditor)]
    answered = len(live & set(answers))
    return Gathered(parts, answered, len(live) - answered)


def for_lender(debt: ingest_pb2.Debt, creditor_number: int = 0) -> debt_pb2.DisclosedDebt:
    """The debt as a lender may see it: no creditor, no account id (DOM-5); the creditor only by number."""
    disclosed = debt_pb2.DisclosedDebt(
        co_borrower_role=debt.co_borrower_role, confirm_time=debt.confirm_time, creditor_number=creditor_number
    )
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


def _figures(debt: debt_pb2.DisclosedDebt | lookup_pb2.OwnDebt) -> tuple[debt_pb2.DebtType.ValueType, int, int]:
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
    sums: dict[debt_pb2.DebtType.ValueType, list[int]] = {}
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
