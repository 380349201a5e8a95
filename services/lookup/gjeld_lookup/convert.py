"""lookup's domain types to and from the contracts' messages: lookup's answers and records, the copy letters it
hands to notify, and the debts ingest and the creditors answer with (read in the adapters that receive them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from gjeld.ingest.v1 import ingest_pb2
from gjeld.lookup.v1 import lookup_pb2, lookup_service_pb2
from gjeld.notify.v1 import notify_pb2
from gjeld.type.v1 import debt_pb2, identity_pb2, money_pb2
from gjeld_shared.institutions import InstitutionDirectory, institution_to_proto
from gjeld_shared.timestamps import from_proto, to_proto
from google.protobuf.timestamp_pb2 import Timestamp

from .domain import (
    PURPOSE_WORDS,
    SOURCE,
    Answer,
    ChargeCard,
    ChargePeriod,
    CoBorrowerRole,
    CopyLetter,
    CreditFacility,
    CreditorStatus,
    Debt,
    DebtType,
    Disclosure,
    InstallmentCharges,
    LenderDebt,
    OwnDebt,
    Purpose,
    RepaymentLoan,
    SetAsideLetter,
    Terms,
    Total,
)

PURPOSE_TO_PROTO = {
    Purpose.CREDIT_ASSESSMENT: lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT,
    Purpose.SUBJECT_ACCESS: lookup_pb2.DISCLOSURE_PURPOSE_SUBJECT_ACCESS,
    Purpose.PRESENTATION: lookup_pb2.DISCLOSURE_PURPOSE_PRESENTATION,
    Purpose.CREDIT_BUREAU: lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_BUREAU,
    Purpose.SCORE_MODEL: lookup_pb2.DISCLOSURE_PURPOSE_SCORE_MODEL,
}
ANSWER_TO_PROTO = {
    Answer.LIVE: lookup_pb2.CREDITOR_ANSWER_LIVE,
    Answer.REGISTERED: lookup_pb2.CREDITOR_ANSWER_REGISTERED,
    Answer.MISSING: lookup_pb2.CREDITOR_ANSWER_MISSING,
}
ANSWER_FROM_PROTO = {value: answer for answer, value in ANSWER_TO_PROTO.items()}

TermsMessage = debt_pb2.RepaymentLoan | debt_pb2.CreditFacility | debt_pb2.ChargeCard
WithTerms = ingest_pb2.Debt | debt_pb2.DisclosedDebt | lookup_pb2.OwnDebt


def _time(message: WithTerms | lookup_pb2.CreditorStatus) -> datetime | None:
    return from_proto(message.confirm_time) if message.HasField("confirm_time") else None


def _optional(message: TermsMessage, name: str) -> int | None:
    return int(getattr(message, name)) if message.HasField(name) else None  # type: ignore[arg-type]


def _charges(message: debt_pb2.RepaymentLoan | debt_pb2.CreditFacility) -> InstallmentCharges | None:
    if not message.HasField("installment_charges"):
        return None
    charges = message.installment_charges
    return InstallmentCharges(charges.monthly_amount.minor_units, ChargePeriod(charges.period))


def terms_from_proto(message: WithTerms) -> Terms | None:
    """The terms in a message's `terms` oneof, or None when it has none."""
    kind = message.WhichOneof("terms")
    if kind == "repayment_loan":
        loan = message.repayment_loan
        return RepaymentLoan(
            loan.original_balance.minor_units,
            loan.balance.minor_units,
            _optional(loan, "remaining_term_months"),
            _optional(loan, "nominal_interest_rate_bp"),
            _optional(loan, "effective_interest_rate_bp"),
            _charges(loan),
        )
    if kind == "credit_facility":
        facility = message.credit_facility
        return CreditFacility(
            facility.credit_limit.minor_units,
            facility.interest_bearing_balance.minor_units,
            facility.non_interest_bearing_balance.minor_units,
            _optional(facility, "nominal_interest_rate_bp"),
            _optional(facility, "effective_interest_rate_bp"),
            _charges(facility),
        )
    if kind == "charge_card":
        card = message.charge_card
        return ChargeCard(card.interest_bearing_balance.minor_units, card.non_interest_bearing_balance.minor_units)
    return None


def debt_from_proto(
    message: ingest_pb2.Debt, creditor: str | None = None, confirmed: datetime | None = None
) -> Debt | None:
    """A debt as ingest or a creditor answers with it (None without terms). A creditor answering live is about its
    own debts, as of when it answered: `creditor` and `confirmed` say so where the message does not."""
    terms = terms_from_proto(message)
    if terms is None:
        return None
    return Debt(
        creditor or message.creditor.organization_number.value,
        message.account_id,
        CoBorrowerRole(message.co_borrower_role),
        terms,
        confirmed or _time(message),
        message.disputed,
    )


def _money(amount: int) -> money_pb2.Money:
    return money_pb2.Money(minor_units=amount)


def _charges_to_proto(charges: InstallmentCharges | None) -> debt_pb2.InstallmentCharges | None:
    if charges is None:
        return None
    return debt_pb2.InstallmentCharges(
        monthly_amount=_money(charges.monthly_amount),
        period=debt_pb2.InstallmentChargePeriod.ValueType(charges.period.value),
    )


def _fill(target: debt_pb2.DisclosedDebt | lookup_pb2.OwnDebt, terms: Terms) -> None:
    if isinstance(terms, RepaymentLoan):
        target.repayment_loan.CopyFrom(
            debt_pb2.RepaymentLoan(
                original_balance=_money(terms.original_balance),
                balance=_money(terms.balance),
                remaining_term_months=terms.remaining_term_months,
                nominal_interest_rate_bp=terms.nominal_interest_rate_bp,
                effective_interest_rate_bp=terms.effective_interest_rate_bp,
                installment_charges=_charges_to_proto(terms.installment_charges),
            )
        )
    elif isinstance(terms, CreditFacility):
        target.credit_facility.CopyFrom(
            debt_pb2.CreditFacility(
                credit_limit=_money(terms.credit_limit),
                interest_bearing_balance=_money(terms.interest_bearing_balance),
                non_interest_bearing_balance=_money(terms.non_interest_bearing_balance),
                nominal_interest_rate_bp=terms.nominal_interest_rate_bp,
                effective_interest_rate_bp=terms.effective_interest_rate_bp,
                installment_charges=_charges_to_proto(terms.installment_charges),
            )
        )
    else:
        target.charge_card.CopyFrom(
            debt_pb2.ChargeCard(
                interest_bearing_balance=_money(terms.interest_bearing_balance),
                non_interest_bearing_balance=_money(terms.non_interest_bearing_balance),
            )
        )


def _timestamp(moment: datetime | None) -> Timestamp | None:
    return to_proto(moment) if moment is not None else None


def lender_debt_to_proto(debt: LenderDebt) -> debt_pb2.DisclosedDebt:
    message = debt_pb2.DisclosedDebt(
        co_borrower_role=debt_pb2.CoBorrowerRole.ValueType(debt.role.value),
        creditor_number=debt.creditor_number,
        confirm_time=_timestamp(debt.confirm_time),
        disputed=debt.disputed,
        stale=debt.stale,
    )
    _fill(message, debt.terms)
    return message


def lender_debt_from_proto(message: debt_pb2.DisclosedDebt) -> LenderDebt:
    terms = terms_from_proto(message)
    assert terms is not None  # lookup wrote it, with terms
    return LenderDebt(
        message.creditor_number,
        CoBorrowerRole(message.co_borrower_role),
        terms,
        _time(message),
        message.disputed,
        message.stale,
    )


def own_debt_to_proto(debt: OwnDebt, directory: InstitutionDirectory) -> lookup_pb2.OwnDebt:
    message = lookup_pb2.OwnDebt(
        creditor=institution_to_proto(directory.get(debt.creditor)),
        account_id=debt.account_id,
        co_borrower_role=debt_pb2.CoBorrowerRole.ValueType(debt.role.value),
        confirm_time=_timestamp(debt.confirm_time),
        disputed=debt.disputed,
        stale=debt.stale,
    )
    _fill(message, debt.terms)
    return message


def total_to_proto(total: Total) -> debt_pb2.DebtTotal:
    return debt_pb2.DebtTotal(
        debt_type=debt_pb2.DebtType.ValueType(total.debt_type.value),
        debt_count=total.count,
        balance=_money(total.balance),
        credit_limit=_money(total.credit_limit),
    )


def total_from_proto(message: debt_pb2.DebtTotal) -> Total:
    return Total(
        DebtType(message.debt_type), message.debt_count, message.balance.minor_units, message.credit_limit.minor_units
    )


def creditor_status_to_proto(status: CreditorStatus) -> lookup_pb2.CreditorStatus:
    """A creditor's freshness as a lender sees it: by number."""
    return lookup_pb2.CreditorStatus(
        creditor_number=status.number,
        answer=ANSWER_TO_PROTO[status.answer],
        confirm_time=_timestamp(status.confirm_time),
    )


def creditor_status_from_proto(message: lookup_pb2.CreditorStatus) -> CreditorStatus:
    return CreditorStatus(message.creditor_number, "", ANSWER_FROM_PROTO[message.answer], _time(message))


def own_creditor_status_to_proto(
    status: CreditorStatus, directory: InstitutionDirectory
) -> lookup_pb2.OwnCreditorStatus:
    """A creditor's freshness as the subject sees it: by name."""
    return lookup_pb2.OwnCreditorStatus(
        creditor=institution_to_proto(directory.get(status.organization_number)),
        answer=ANSWER_TO_PROTO[status.answer],
        confirm_time=_timestamp(status.confirm_time),
    )


def disclosure_to_proto(disclosure: Disclosure, directory: InstitutionDirectory) -> lookup_pb2.Disclosure:
    message = lookup_pb2.Disclosure(
        id=str(disclosure.id),
        purpose=PURPOSE_TO_PROTO[disclosure.purpose],
        consent_id=disclosure.consent_id or "",
        disclose_time=to_proto(disclosure.disclose_time),
        debt_count=disclosure.debt_count,
        application_reference=disclosure.application_reference,
        trace_id=disclosure.trace_id,
        credit_blocked=disclosure.credit_blocked,
    )
    if disclosure.recipient:
        message.recipient.CopyFrom(institution_to_proto(directory.get(disclosure.recipient)))
    return message


def copy_letter_to_proto(letter: CopyLetter, directory: InstitutionDirectory) -> notify_pb2.CopyLetter:
    """The copy letter as notify's contract carries it, with the recipient's details for the subject (DOM-13)."""
    return notify_pb2.CopyLetter(
        recipient=institution_to_proto(directory.get(letter.recipient)),
        disclose_time=to_proto(letter.disclose_time),
        purpose=PURPOSE_WORDS[letter.purpose],
        source=SOURCE,
        application_reference=letter.application_reference,
        debts=[lender_debt_to_proto(d) for d in letter.debts],
        totals=[total_to_proto(t) for t in letter.totals],
        credit_blocked=letter.credit_blocked,
        creditors_answered=letter.creditors_answered,
        creditors_missing=letter.creditors_missing,
        identity_theft_flag=letter.identity_theft_flag,
    )


def lender_answer_to_proto(
    debts: Sequence[LenderDebt],
    totals: Sequence[Total],
    creditors: Sequence[CreditorStatus],
    credit_blocked: bool,
    answered: int,
    missing: int,
    withheld_stale: int = 0,
    identity_theft_flag: bool = False,
) -> lookup_service_pb2.LookUpDebtResponse:
    """What a lender receives, but for the disclosure record."""
    return lookup_service_pb2.LookUpDebtResponse(
        debts=[lender_debt_to_proto(d) for d in debts],
        totals=[total_to_proto(t) for t in totals],
        creditors=[creditor_status_to_proto(c) for c in creditors],
        credit_blocked=credit_blocked,
        creditors_answered=answered,
        creditors_missing=missing,
        withheld_stale_count=withheld_stale,
        identity_theft_flag=identity_theft_flag,
    )


def lender_answer_from_bytes(
    data: bytes,
) -> tuple[list[LenderDebt], list[Total], list[CreditorStatus], int, int, int, bool]:
    """What a lender received, as the disclosure record keeps it (for a retried lookup's answer)."""
    answer = lookup_service_pb2.LookUpDebtResponse.FromString(data)
    return (
        [lender_debt_from_proto(d) for d in answer.debts],
        [total_from_proto(t) for t in answer.totals],
        [creditor_status_from_proto(c) for c in answer.creditors],
        answer.creditors_answered,
        answer.creditors_missing,
        answer.withheld_stale_count,
        answer.identity_theft_flag,
    )


def set_aside_letter_to_proto(letter: SetAsideLetter) -> lookup_pb2.FailedCopyLetter:
    message = lookup_pb2.FailedCopyLetter(
        disclosure_id=str(letter.disclosure_id), attempts=letter.attempts, last_error=letter.last_error
    )
    if letter.fail_time is not None:
        message.fail_time.CopyFrom(to_proto(letter.fail_time))
    return message


EXTRACT_STATES = {
    "ordered": lookup_pb2.EXTRACT_ORDER_STATE_ORDERED,
    "cutting": lookup_pb2.EXTRACT_ORDER_STATE_ORDERED,
    "delivered": lookup_pb2.EXTRACT_ORDER_STATE_DELIVERED,
    "failed": lookup_pb2.EXTRACT_ORDER_STATE_FAILED,
    "deleted": lookup_pb2.EXTRACT_ORDER_STATE_DELETED,
}


def extract_order_to_proto(row: Any, manifest: lookup_pb2.ExtractManifest | None) -> lookup_pb2.ExtractOrder:
    order = lookup_pb2.ExtractOrder(
        id=str(row.id),
        institution=identity_pb2.OrganizationNumber(value=row.institution),
        quarter=row.quarter,
        state=EXTRACT_STATES[row.state],
        submit_time=to_proto(row.submit_time),
        listed_count=row.listed_count,
        invalid_count=row.invalid_count,
        duplicate_count=row.duplicate_count,
        customer_count=row.customer_count or 0,
        not_customer_count=row.not_customer_count or 0,
        failure=row.failure,
        deletion_confirmed=row.deletion_confirmed,
    )
    for name in ("remind_time", "delete_time"):
        if getattr(row, name) is not None:
            getattr(order, name).CopyFrom(to_proto(getattr(row, name)))
    if manifest is not None:
        order.manifest.CopyFrom(manifest)
    return order


def copy_letter_from_bytes(content: bytes) -> notify_pb2.CopyLetter:
    """A copy letter as the outbox keeps it (notify's message); DecodeError when it cannot be read."""
    return notify_pb2.CopyLetter.FromString(content)
