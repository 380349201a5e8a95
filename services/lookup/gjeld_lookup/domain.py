"""Disclosure rules and lookup's own types, plain Python without I/O (DOM-5, DOM-9, DOM-10, DOM-12, DOM-13).

A debt as a lender receives it (`LenderDebt`) has no creditor attribute at all: a creditor's name or number
cannot reach a lender through it (DOM-5), by type. Creditors are known to a lender only by their number within
one answer. Only the subject's own view (`OwnDebt`) names them.

Each purpose is a legal basis (DOM-9): a lender's credit assessment or its presentation of the subject's own debt,
each with a consent of that scope (DOM-10); a credit bureau under its own licence, which sends its own copy letters
(DOM-13); the subject themself.

The protobuf messages of the other services and of lookup's own contract are converted at the edges: ingest's and
the creditors' answers in the adapters that receive them, lookup's answers in `convert`.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta


class Purpose(enum.Enum):
    CREDIT_ASSESSMENT = "credit_assessment"
    SUBJECT_ACCESS = "subject_access"
    PRESENTATION = "presentation"
    CREDIT_BUREAU = "credit_bureau"
    # A quarterly score-model package to an institution about its own customers (DOM-11): no copy letter.
    SCORE_MODEL = "score_model"


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


class DebtType(enum.Enum):
    """The three types of unsecured debt (DOM-1), in the order totals are given."""

    REPAYMENT_LOAN = 1
    CREDIT_FACILITY = 2
    CHARGE_CARD = 3


class CoBorrowerRole(enum.Enum):
    """DOM-3: a joint debt is flagged, the other borrower never named."""

    UNSPECIFIED = 0
    SOLE_DEBTOR = 1
    HAS_CO_BORROWER = 2
    IS_CO_BORROWER = 3


class ChargePeriod(enum.Enum):
    UNSPECIFIED = 0
    MONTHLY = 1
    QUARTERLY = 2
    HALF_YEARLY = 3
    YEARLY = 4


@dataclass(frozen=True)
class InstallmentCharges:
    monthly_amount: int  # øre (DOM-2)
    period: ChargePeriod


@dataclass(frozen=True)
class RepaymentLoan:
    original_balance: int
    balance: int
    remaining_term_months: int | None = None
    nominal_interest_rate_bp: int | None = None
    effective_interest_rate_bp: int | None = None
    installment_charges: InstallmentCharges | None = None


@dataclass(frozen=True)
class CreditFacility:
    credit_limit: int
    interest_bearing_balance: int
    non_interest_bearing_balance: int
    nominal_interest_rate_bp: int | None = None
    effective_interest_rate_bp: int | None = None
    installment_charges: InstallmentCharges | None = None


@dataclass(frozen=True)
class ChargeCard:
    interest_bearing_balance: int
    non_interest_bearing_balance: int


Terms = RepaymentLoan | CreditFacility | ChargeCard


@dataclass(frozen=True)
class Debt:
    """One debt of the subject as the register or a creditor answering live holds it: with its creditor."""

    creditor: str  # organisation number
    account_id: str
    role: CoBorrowerRole
    terms: Terms
    confirm_time: datetime | None  # when the creditor last confirmed it
    disputed: bool = False  # the debtor's correction request about it is open (DOM-14)


@dataclass(frozen=True)
class LenderDebt:
    """A debt as a lender or a bureau receives it: no creditor, no account (DOM-5); the creditor only by number."""

    creditor_number: int
    role: CoBorrowerRole
    terms: Terms
    confirm_time: datetime | None
    disputed: bool = False
    stale: bool = False


@dataclass(frozen=True)
class OwnDebt:
    """A debt as its debtor sees it: with the creditor and the account."""

    creditor: str
    account_id: str
    role: CoBorrowerRole
    terms: Terms
    confirm_time: datetime | None
    disputed: bool = False
    stale: bool = False


@dataclass(frozen=True)
class Staleness:
    """The operator's policy on data its creditor has not confirmed for a while (DOM-8: a missed daily snapshot is
    never read as "the old data still holds"): marked stale after `mark_after`, and no longer shown to lenders after
    `withhold_after` (None: always shown, marked). The subject always sees their own, marked."""

    mark_after: timedelta = timedelta(hours=36)
    withhold_after: timedelta | None = timedelta(days=7)

    def stale(self, debt: Debt, now: datetime) -> bool:
        return debt.confirm_time is None or debt.confirm_time < now - self.mark_after

    def withheld(self, debt: Debt, now: datetime) -> bool:
        if self.withhold_after is None:
            return False
        return debt.confirm_time is None or debt.confirm_time < now - self.withhold_after


@dataclass(frozen=True)
class Total:
    """Count, balance and credit limit of one type of debt."""

    debt_type: DebtType
    count: int
    balance: int
    credit_limit: int


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
    debts: list[Debt] = field(default_factory=list)

    def confirm_time(self) -> datetime | None:
        """When the creditor last confirmed all of its data about the subject: its oldest debt's confirm time."""
        times = [d.confirm_time for d in self.debts if d.confirm_time is not None]
        return min(times) if times else None


@dataclass(frozen=True)
class CreditorStatus:
    """How fresh one creditor's part of an answer is: to a lender by number, to the subject by name."""

    number: int
    organization_number: str
    answer: Answer
    confirm_time: datetime | None


@dataclass(frozen=True)
class Gathered:
    """A subject's debt from every creditor, with how many live creditors answered and how many did not."""

    parts: list[CreditorPart]
    answered: int
    missing: int

    def statuses(self) -> list[CreditorStatus]:
        return [
            CreditorStatus(number, part.organization_number, part.answer, part.confirm_time())
            for number, part in enumerate(self.parts, start=1)
        ]


def gather(registered: Sequence[Debt], live: Iterable[str], answers: Mapping[str, Sequence[Debt]]) -> Gathered:
    """Combine the register with live answers: a live answer replaces that creditor's registered debts; a live
    creditor that did not answer is represented by its registered data (never by nothing, DOM-8's spirit). A debt the
    debtor disputes stays disputed when its creditor answers live (DOM-14)."""
    live = set(live)
    disputed = {(d.creditor, d.account_id) for d in registered if d.disputed}
    by_creditor: dict[str, CreditorPart] = {}
    for debt in registered:
        if debt.creditor not in answers:
            answer = Answer.MISSING if debt.creditor in live else Answer.REGISTERED
            by_creditor.setdefault(debt.creditor, CreditorPart(debt.creditor, answer)).debts.append(debt)
    for number, debts in answers.items():
        if debts:
            marked = [replace(d, disputed=True) if (number, d.account_id) in disputed else d for d in debts]
            by_creditor[number] = CreditorPart(number, Answer.LIVE, marked)
    parts = [by_creditor[n] for n in sorted(by_creditor)]
    answered = len(live & set(answers))
    return Gathered(parts, answered, len(live) - answered)


# The policy where none is configured (the settings' defaults).
DEFAULT_STALENESS = Staleness()


def for_lender(
    gathered: Gathered, now: datetime, staleness: Staleness = DEFAULT_STALENESS
) -> tuple[list[LenderDebt], int]:
    """Every debt as a lender may see it: each creditor replaced by its number within this answer (DOM-5), stale
    ones marked; and how many were withheld as too old to show (DOM-8)."""
    shown, withheld = [], 0
    for number, part in enumerate(gathered.parts, start=1):
        for debt in part.debts:
            if staleness.withheld(debt, now):
                withheld += 1
                continue
            stale = staleness.stale(debt, now)
            shown.append(LenderDebt(number, debt.role, debt.terms, debt.confirm_time, debt.disputed, stale))
    return shown, withheld


def for_subject(gathered: Gathered, now: datetime, staleness: Staleness = DEFAULT_STALENESS) -> list[OwnDebt]:
    """Every debt as its debtor sees it: with the creditor, stale ones marked (never withheld from them)."""
    return [
        OwnDebt(
            debt.creditor,
            debt.account_id,
            debt.role,
            debt.terms,
            debt.confirm_time,
            debt.disputed,
            staleness.stale(debt, now),
        )
        for part in gathered.parts
        for debt in part.debts
    ]


def figures(terms: Terms) -> tuple[DebtType, int, int]:
    """(debt type, balance, credit limit) of one debt; balance per DOM-2."""
    if isinstance(terms, RepaymentLoan):
        return DebtType.REPAYMENT_LOAN, terms.balance, 0
    if isinstance(terms, CreditFacility):
        used = terms.interest_bearing_balance + terms.non_interest_bearing_balance
        return DebtType.CREDIT_FACILITY, used, terms.credit_limit
    return DebtType.CHARGE_CARD, terms.interest_bearing_balance + terms.non_interest_bearing_balance, 0


def totals(debts: Iterable[LenderDebt | OwnDebt]) -> list[Total]:
    """Count, balance and credit limit per debt type, in type order."""
    sums: dict[DebtType, list[int]] = {}
    for debt in debts:
        kind, balance, limit = figures(debt.terms)
        entry = sums.setdefault(kind, [0, 0, 0])
        entry[0] += 1
        entry[1] += balance
        entry[2] += limit
    return [Total(kind, *sums[kind]) for kind in DebtType if kind in sums]


@dataclass(frozen=True)
class Disclosure:
    """The record of one disclosure: who received what about the subject, when, on which legal basis."""

    id: uuid.UUID
    recipient: str | None  # organisation number; None when the subject looked at their own debt
    purpose: Purpose
    consent_id: str | None
    disclose_time: datetime
    debt_count: int
    application_reference: str
    trace_id: str
    credit_blocked: bool
    # When the register was read for it (a correction is told to those who read before its fix, DOM-14).
    read_time: datetime | None = None


@dataclass(frozen=True)
class CopyLetter:
    """What the subject is told of a disclosure to a lender (DOM-13): the same information the lender got."""

    recipient: str
    disclose_time: datetime
    purpose: Purpose
    application_reference: str
    debts: list[LenderDebt]
    totals: list[Total]
    credit_blocked: bool
    creditors_answered: int
    creditors_missing: int
    identity_theft_flag: bool = False  # the subject is also alerted at once


@dataclass(frozen=True)
class SetAsideLetter:
    """A copy letter the relay gave up handing to notify, as an operator sees it: never its content or subject."""

    disclosure_id: uuid.UUID
    attempts: int
    last_error: str  # the error's kind only
    fail_time: datetime | None  # None once an operator has put it back
