"""The register's rules about debts and deliveries, without I/O (DOM-1 to DOM-8).

The debt types are slotted, not frozen, dataclasses: millions of them are built on every day's
snapshots, and a frozen dataclass costs four times as much to build. Nothing mutates them.

Attribute names follow the contract's field names, so that a rule's violation
names the field the institution sent.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

MAX_RATE_BP = 100_00 * 10  # 1000 %: higher is a unit error (percent sent as basis points × 100, say)
MAX_TERM_MONTHS = 100 * 12
MAX_ACCOUNT_ID_LENGTH = 64
# A repayment loan's balance may grow past the amount lent (accrued interest and fees, DOM-2), but not to
# more than this many times it: beyond that the amounts are in the wrong unit (kroner sent as øre, say).
MAX_LOAN_GROWTH = 2
# The request ids of the deliveries the registry fetches itself (a day's snapshot: `registry:daily-<day>`); an
# institution's own may not begin so, or one could pass for the day's fetch and stop it.
REGISTRY_REQUEST = "registry:"
# How far an extract time may lie ahead of the registry's clock (clock skew); further is an error.
EXTRACT_TIME_SKEW = timedelta(minutes=5)


class DeliveryKind(enum.Enum):
    CHANGES = "changes"
    SNAPSHOT = "snapshot"  # replaces all of the institution's data (DOM-8)


class Strictness(enum.Enum):
    ALL_OR_NOTHING = "all_or_nothing"  # one bad record refuses the delivery (the Norwegian registry's rule)
    PARTIAL = "partial"  # the good records are registered, each bad one is reported back


class DebtType(enum.Enum):
    REPAYMENT_LOAN = "repayment_loan"
    CREDIT_FACILITY = "credit_facility"
    CHARGE_CARD = "charge_card"


class CoBorrowerRole(enum.Enum):
    """DOM-3: a joint debt is flagged; the other borrower is never named."""

    SOLE_DEBTOR = "sole_debtor"
    HAS_CO_BORROWER = "has_co_borrower"
    IS_CO_BORROWER = "is_co_borrower"


class InstallmentChargePeriod(enum.Enum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"


@dataclass(slots=True)
class InstallmentCharges:
    monthly_amount: int
    period: InstallmentChargePeriod | None = None  # optional in the contract and in the NOGI format


@dataclass(slots=True)
class RepaymentLoan:
    original_balance: int
    balance: int
    remaining_term_months: int
    nominal_interest_rate_bp: int
    installment_charges: InstallmentCharges
    effective_interest_rate_bp: int | None = None
    debt_type = DebtType.REPAYMENT_LOAN


@dataclass(slots=True)
class CreditFacility:
    credit_limit: int
    interest_bearing_balance: int
    non_interest_bearing_balance: int
    nominal_interest_rate_bp: int
    installment_charges: InstallmentCharges
    effective_interest_rate_bp: int | None = None
    debt_type = DebtType.CREDIT_FACILITY


@dataclass(slots=True)
class ChargeCard:
    interest_bearing_balance: int
    non_interest_bearing_balance: int
    debt_type = DebtType.CHARGE_CARD


Terms = RepaymentLoan | CreditFacility | ChargeCard


@dataclass(slots=True)
class DebtKey:
    """One debt of one debtor within the reporting institution."""

    account_id: str
    debtor: str = field(repr=False)
    close_time: datetime | None = None  # when it was closed at the institution (a close); unset: when received


@dataclass(slots=True)
class Debt:
    """A debt as reported: the register keeps only the latest of these per key (DOM-7)."""

    account_id: str
    debtor: str = field(repr=False)
    co_borrower_role: CoBorrowerRole
    extract_time: datetime
    terms: Terms


@dataclass(frozen=True)
class RegisteredDebt:
    """A debt as the register holds it: with its creditor and when the creditor last confirmed it."""

    creditor: str
    account_id: str
    co_borrower_role: CoBorrowerRole
    extract_time: datetime
    terms: Terms
    confirm_time: datetime
    debtor: str | None = field(default=None, repr=False)
    disputed: bool = False  # an open correction request is about it (DOM-14)


def balance(terms: Terms) -> int:
    """The debt's total balance: principal, accrued interest and fees (DOM-2)."""
    if isinstance(terms, RepaymentLoan):
        return terms.balance
    return terms.interest_bearing_balance + terms.non_interest_bearing_balance


def check_account_id(account_id: str) -> list[tuple[str, str]]:
    if not account_id.strip():
        return [("account_id", "is required")]
    if len(account_id) > MAX_ACCOUNT_ID_LENGTH:
        return [("account_id", f"must be at most {MAX_ACCOUNT_ID_LENGTH} characters")]
    return []


def _amounts(terms: Terms) -> tuple[tuple[str, int], ...]:
    if isinstance(terms, CreditFacility):
        return (
            ("credit_limit", terms.credit_limit),
            ("interest_bearing_balance", terms.interest_bearing_balance),
            ("non_interest_bearing_balance", terms.non_interest_bearing_balance),
        )
    if isinstance(terms, RepaymentLoan):
        return (("original_balance", terms.original_balance), ("balance", terms.balance))
    return (
        ("interest_bearing_balance", terms.interest_bearing_balance),
        ("non_interest_bearing_balance", terms.non_interest_bearing_balance),
    )


def _plainly_valid(terms: Terms) -> bool:
    """The common case in one expression (every debt of every day's snapshot passes here); anything it does
    not vouch for gets the detailed checks below, which name each problem."""
    if isinstance(terms, CreditFacility):
        return (
            terms.credit_limit >= 0
            and terms.interest_bearing_balance >= 0
            and terms.non_interest_bearing_balance >= 0
            and 0 <= terms.nominal_interest_rate_bp <= MAX_RATE_BP
            and terms.effective_interest_rate_bp is None
            and terms.installment_charges.monthly_amount >= 0
        )
    if isinstance(terms, RepaymentLoan):
        return (
            0 <= terms.balance <= MAX_LOAN_GROWTH * terms.original_balance
            and 0 <= terms.remaining_term_months <= MAX_TERM_MONTHS
            and 0 <= terms.nominal_interest_rate_bp <= MAX_RATE_BP
            and terms.effective_interest_rate_bp is None
            and terms.installment_charges.monthly_amount >= 0
        )
    return terms.interest_bearing_balance >= 0 and terms.non_interest_bearing_balance >= 0


def check_terms(terms: Terms) -> list[tuple[str, str]]:
    """Value rules for a debt's terms; each violation is (field path under the terms, description).

    A credit facility's balance over its limit is allowed: overdrafts and accrued interest happen, and
    refusing them would understate what the person owes."""
    if _plainly_valid(terms):
        return []
    prefix = terms.debt_type.value
    problems: list[tuple[str, str]] = []
    for name, amount in _amounts(terms):
        if amount < 0:
            # DOM-2: a negative balance is reported as zero, so a negative amount is an error.
            problems.append((f"{prefix}.{name}.minor_units", "must not be negative (report a negative balance as 0)"))
    if isinstance(terms, ChargeCard):
        return problems
    for name, rate in (
        ("nominal_interest_rate_bp", terms.nominal_interest_rate_bp),
        ("effective_interest_rate_bp", terms.effective_interest_rate_bp),
    ):
        if rate is not None and not 0 <= rate <= MAX_RATE_BP:
            problems.append((f"{prefix}.{name}", f"must be between 0 and {MAX_RATE_BP} basis points"))
    if terms.installment_charges.monthly_amount < 0:
        problems.append((f"{prefix}.installment_charges.monthly_amount.minor_units", "must not be negative"))
    if isinstance(terms, RepaymentLoan):
        if not 0 <= terms.remaining_term_months <= MAX_TERM_MONTHS:
            problems.append((f"{prefix}.remaining_term_months", f"must be between 0 and {MAX_TERM_MONTHS}"))
        if terms.balance > MAX_LOAN_GROWTH * terms.original_balance:
            problems.append(
                (f"{prefix}.balance.minor_units", f"must not exceed {MAX_LOAN_GROWTH} times the original balance")
            )
    return problems


def check_extract_time(extract_time: datetime, now: datetime) -> list[tuple[str, str]]:
    """An extract time in the future would make the data look fresher than it is."""
    if extract_time > now + EXTRACT_TIME_SKEW:
        return [("extract_time", "must not be in the future")]
    return []


@dataclass(frozen=True)
class Delivery:
    """The receipt for one delivery: what it did to the institution's data."""

    id: uuid.UUID
    request_id: str
    kind: DeliveryKind
    strictness: Strictness
    content_digest: bytes = field(repr=False)
    record_count: int
    registered_count: int
    closed_count: int
    unknown_close_count: int
    rejected_count: int
    absent_count: int
    receive_time: datetime
    complete_time: datetime | None
    outdated_count: int = 0  # records older than what the registry held for their debt, left out (DOM-7)


@dataclass(frozen=True)
class Rejection:
    """One record left out of a partially accepted delivery: (field path, description) for each bad field."""

    index: int
    violations: tuple[tuple[str, str], ...]


class HandoverState(enum.Enum):
    PROPOSED = "proposed"
    COMPLETED = "completed"


@dataclass(frozen=True)
class Handover:
    """Debts moving from one institution to another (merger, sale of a portfolio)."""

    id: uuid.UUID
    giver: str
    receiver: str
    account_ids: tuple[str, ...]  # empty: the whole portfolio
    state: HandoverState
    moved_count: int
    create_time: datetime
    complete_time: datetime | None


@dataclass(frozen=True)
class DeliveryHeader:
    """What the first message of a delivery says about the whole of it."""

    kind: DeliveryKind
    request_id: str
    strictness: Strictness
    extract_time: datetime | None = None  # snapshots: when the institution extracted it

    def fingerprint(self) -> bytes:
        extract = self.extract_time.isoformat() if self.extract_time else ""
        return f"{self.kind.value}|{self.strictness.value}|{extract}|".encode()


@dataclass
class Part:
    """One message of a delivery, read and checked: its good records and its rejected ones, by position."""

    content: bytes  # the message as sent, for the retry check
    record_count: int
    registrations: list[tuple[int, Debt]] = field(default_factory=list)
    closures: list[tuple[int, DebtKey]] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)


# --- correction requests (DOM-14) ---------------------------------------------------------------------------------

MAX_CORRECTION_TEXT = 2000
# The owner is reminded this long before the deadline (one month from the request, GDPR art. 12(3)).
CORRECTION_REMIND_BEFORE = timedelta(days=7)


class CorrectionState(enum.Enum):
    OPEN = "open"  # with its owner to answer; the debt is disputed
    AWAITING_FIX = "awaiting_fix"  # the owner said corrected; the creditor's next delivery carries the fix
    CORRECTED = "corrected"
    REJECTED = "rejected"

    @property
    def unresolved(self) -> bool:
        """The debt is marked disputed in every lookup and own view while its request is unresolved."""
        return self in (CorrectionState.OPEN, CorrectionState.AWAITING_FIX)


class CorrectionEventType(enum.Enum):
    RECEIVED = "received"  # made to the feed's institution, or forwarded to it
    FORWARDED = "forwarded"  # the feed's institution forwarded it away
    AWAITING_FIX = "awaiting_fix"
    CORRECTED = "corrected"
    REJECTED = "rejected"
    REMINDER = "reminder"


# lookup's feed of resolved requests, beside the institutions' feeds (keyed by organisation number).
OUTCOMES_FEED = "outcomes"


@dataclass(frozen=True)
class CorrectionRequest:
    """A person's request to correct one of their debts, as it stands."""

    id: uuid.UUID
    creditor: str
    account_id: str
    debt_type: DebtType
    state: CorrectionState
    owner: str
    forwarded_by: str | None
    create_time: datetime
    due_time: datetime
    resolve_time: datetime | None
    fix_time: datetime | None  # since when the register holds the fix (corrected requests)
    fix_delivery_id: uuid.UUID | None
    wrong_since: datetime | None
    debt_register_time: datetime | None
    debtor: str | None = field(default=None, repr=False)  # for the person and the owner only
    reason: str | None = field(default=None, repr=False)
    answer: str = field(default="", repr=False)


@dataclass(frozen=True)
class CorrectionEvent:
    position: int
    type: CorrectionEventType
    event_time: datetime
    request: CorrectionRequest


@dataclass(frozen=True)
class Corrected:
    """The owner's answer: corrected, by a delivery it names or by the creditor's next one."""

    delivery_id: uuid.UUID | None
    wrong_since: datetime | None
    description: str


@dataclass(frozen=True)
class Rejected:
    reason: str


@dataclass(frozen=True)
class Forwarded:
    institution: str


CorrectionAnswer = Corrected | Rejected | Forwarded
