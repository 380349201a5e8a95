"""Between the contract's messages and ingest's domain: reading a reported debt field
by field (so each missing or bad field is named), and writing registered debts back."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2
from gjeld.type.v1 import debt_pb2, identity_pb2, money_pb2
from gjeld_shared import identity_numbers
from gjeld_shared.errors import Violations
from gjeld_shared.institutions import InstitutionDirectory, institution_to_proto
from gjeld_shared.timestamps import from_proto, to_proto

from . import domain
from .domain import (
    ChargeCard,
    CoBorrowerRole,
    CorrectionEvent,
    CorrectionEventType,
    CorrectionRequest,
    CorrectionState,
    CreditFacility,
    DebtType,
    Delivery,
    DeliveryKind,
    Handover,
    HandoverState,
    InstallmentChargePeriod,
    InstallmentCharges,
    Part,
    RegisteredDebt,
    Rejection,
    RepaymentLoan,
    Strictness,
    Terms,
)

ROLE_FROM_PROTO = {
    debt_pb2.CO_BORROWER_ROLE_SOLE_DEBTOR: CoBorrowerRole.SOLE_DEBTOR,
    debt_pb2.CO_BORROWER_ROLE_HAS_CO_BORROWER: CoBorrowerRole.HAS_CO_BORROWER,
    debt_pb2.CO_BORROWER_ROLE_IS_CO_BORROWER: CoBorrowerRole.IS_CO_BORROWER,
}
ROLE_TO_PROTO = {v: k for k, v in ROLE_FROM_PROTO.items()}
PERIOD_FROM_PROTO = {
    debt_pb2.INSTALLMENT_CHARGE_PERIOD_MONTHLY: InstallmentChargePeriod.MONTHLY,
    debt_pb2.INSTALLMENT_CHARGE_PERIOD_QUARTERLY: InstallmentChargePeriod.QUARTERLY,
    debt_pb2.INSTALLMENT_CHARGE_PERIOD_HALF_YEARLY: InstallmentChargePeriod.HALF_YEARLY,
    debt_pb2.INSTALLMENT_CHARGE_PERIOD_YEARLY: InstallmentChargePeriod.YEARLY,
}
PERIOD_TO_PROTO: dict[InstallmentChargePeriod | None, debt_pb2.InstallmentChargePeriod.ValueType] = {
    InstallmentChargePeriod.MONTHLY: debt_pb2.INSTALLMENT_CHARGE_PERIOD_MONTHLY,
    InstallmentChargePeriod.QUARTERLY: debt_pb2.INSTALLMENT_CHARGE_PERIOD_QUARTERLY,
    InstallmentChargePeriod.HALF_YEARLY: debt_pb2.INSTALLMENT_CHARGE_PERIOD_HALF_YEARLY,
    InstallmentChargePeriod.YEARLY: debt_pb2.INSTALLMENT_CHARGE_PERIOD_YEARLY,
}


# The fields each type of debt must carry (DOM-1), by their names in the contract.
REQUIRED = {
    "repayment_loan": (
        "original_balance",
        "balance",
        "remaining_term_months",
        "nominal_interest_rate_bp",
        "installment_charges",
    ),
    "credit_facility": (
        "credit_limit",
        "interest_bearing_balance",
        "non_interest_bearing_balance",
        "nominal_interest_rate_bp",
        "installment_charges",
    ),
    "charge_card": ("interest_bearing_balance", "non_interest_bearing_balance"),
}


def _charges(terms: Any) -> InstallmentCharges:
    charges = terms.installment_charges
    return InstallmentCharges(charges.monthly_amount.minor_units, PERIOD_FROM_PROTO.get(charges.period))


def _effective(terms: Any) -> int | None:
    return int(terms.effective_interest_rate_bp) if terms.HasField("effective_interest_rate_bp") else None


def _terms(message: ingest_pb2.Debt, path: str, violations: Violations) -> Terms | None:
    """The debt's terms, or None with every missing field named. Unset fields read as zero, so the value rules
    run on what was sent even when a field is missing: the institution learns of every problem at once."""
    kind = message.WhichOneof("terms")
    if kind is None:
        violations.add(f"{path}.terms", "one of repayment_loan, credit_facility or charge_card is required")
        return None
    sent = getattr(message, kind)
    missing = [name for name in REQUIRED[kind] if not sent.HasField(name)]
    if kind != "charge_card" and "installment_charges" not in missing:
        if not sent.installment_charges.HasField("monthly_amount"):
            missing.append("installment_charges.monthly_amount")
    for name in missing:
        violations.add(f"{path}.{kind}.{name}", "is required")
    terms: Terms
    if kind == "credit_facility":
        terms = CreditFacility(
            sent.credit_limit.minor_units,
            sent.interest_bearing_balance.minor_units,
            sent.non_interest_bearing_balance.minor_units,
            sent.nominal_interest_rate_bp,
            _charges(sent),
            _effective(sent),
        )
    elif kind == "repayment_loan":
        terms = RepaymentLoan(
            sent.original_balance.minor_units,
            sent.balance.minor_units,
            sent.remaining_term_months,
            sent.nominal_interest_rate_bp,
            _charges(sent),
            _effective(sent),
        )
    else:
        terms = ChargeCard(sent.interest_bearing_balance.minor_units, sent.non_interest_bearing_balance.minor_units)
    for field, description in domain.check_terms(terms):
        violations.add(f"{path}.{field}", description)
    return None if missing else terms


class Reading:
    """What reading one delivery remembers from record to record, bounded so that memory stays flat: the
    identity numbers already found valid (a person has about two debts, usually delivered together) and the
    extract times already converted (most records of a snapshot share one)."""

    CAPACITY = 10_000  # debts of one person arrive together: a small memory suffices, and bounds memory

    def __init__(self, now: datetime) -> None:
        self.now = now
        self._valid: set[str] = set()
        self._times: dict[tuple[int, int], datetime] = {}

    def debtor(self, message: identity_pb2.NationalIdentityNumber, path: str, violations: Violations) -> str:
        value: str = message.value
        if value in self._valid:
            return value
        try:
            identity_numbers.validate(value)
        except identity_numbers.InvalidIdentityNumber as invalid:
            violations.add(f"{path}.value", str(invalid))
            return ""
        if len(self._valid) >= self.CAPACITY:
            self._valid.clear()
        self._valid.add(value)
        return value

    def time(self, message: Any, path: str, violations: Violations) -> datetime | None:
        key = (message.seconds, message.nanos)
        known = self._times.get(key)
        if known is None:
            if len(self._times) >= self.CAPACITY:
                self._times.clear()
            try:
                known = self._times[key] = from_proto(message)
            except (ValueError, OverflowError):
                violations.add(path, "is not a valid time (years 1 to 9999)")
                return None
        return known


def debt_from_proto(
    message: ingest_pb2.Debt, path: str, violations: Violations, reading: Reading
) -> domain.Debt | None:
    """The reported debt, or None with violations recorded for every bad field."""
    before = len(violations.items)
    for field, description in domain.check_account_id(message.account_id):
        violations.add(f"{path}.{field}", description)
    debtor = reading.debtor(message.debtor, f"{path}.debtor", violations)
    role = ROLE_FROM_PROTO.get(message.co_borrower_role)
    if role is None:
        violations.add(f"{path}.co_borrower_role", "is required: sole debtor, has co-borrower or is co-borrower")
    extract_time = None
    if not message.HasField("extract_time"):
        violations.add(f"{path}.extract_time", "is required")
    else:
        extract_time = reading.time(message.extract_time, f"{path}.extract_time", violations)
    if extract_time is not None:
        for field, description in domain.check_extract_time(extract_time, reading.now):
            violations.add(f"{path}.{field}", description)
    terms = _terms(message, path, violations)
    if len(violations.items) > before or terms is None or role is None or extract_time is None:
        return None
    return domain.Debt(message.account_id, debtor, role, extract_time, terms)


def key_from_proto(
    message: ingest_pb2.DebtKey, path: str, violations: Violations, reading: Reading
) -> domain.DebtKey | None:
    before = len(violations.items)
    for field, description in domain.check_account_id(message.account_id):
        violations.add(f"{path}.{field}", description)
    debtor = reading.debtor(message.debtor, f"{path}.debtor", violations)
    close_time = None
    if message.HasField("close_time"):
        close_time = reading.time(message.close_time, f"{path}.close_time", violations)
        if close_time is not None and domain.check_extract_time(close_time, reading.now):
            violations.add(f"{path}.close_time", "must not be in the future")
    return None if len(violations.items) > before else domain.DebtKey(message.account_id, debtor, close_time)


def _record(part: Part, violations: Violations, before: int, position: int) -> bool:
    """True if the record read cleanly; else its violations become a rejection of the part."""
    if len(violations.items) == before:
        return True
    part.rejections.append(Rejection(position, tuple((v.field, v.description) for v in violations.items[before:])))
    return False


def changes_part(changes: Sequence[ingest_pb2.DebtChange], offset: int, content: bytes, reading: Reading) -> Part:
    """One message of changes, read record by record; positions count from `offset`."""
    part, violations = Part(content, len(changes)), Violations()
    for i, change in enumerate(changes, offset):
        before = len(violations.items)
        kind = change.WhichOneof("change")
        if kind == "register":
            debt = debt_from_proto(change.register, f"changes[{i}].register", violations, reading)
            if _record(part, violations, before, i) and debt is not None:
                part.registrations.append((i, debt))
        elif kind == "close":
            key = key_from_proto(change.close, f"changes[{i}].close", violations, reading)
            if _record(part, violations, before, i) and key is not None:
                part.closures.append((i, key))
        else:
            violations.add(f"changes[{i}].change", "one of register or close is required")
            _record(part, violations, before, i)
    return part


def snapshot_part(debts: Sequence[ingest_pb2.Debt], offset: int, content: bytes, reading: Reading) -> Part:
    """One message of a snapshot, read debt by debt; positions count from `offset`."""
    part, violations = Part(content, len(debts)), Violations()
    for i, message in enumerate(debts, offset):
        before = len(violations.items)
        debt = debt_from_proto(message, f"debts[{i}]", violations, reading)
        if _record(part, violations, before, i) and debt is not None:
            part.registrations.append((i, debt))
    return part


def _money(amount: int) -> money_pb2.Money:
    return money_pb2.Money(minor_units=amount)


def _put(money: money_pb2.Money, amount: int | None) -> None:
    """An amount into a message's Money field: present, and empty when the amount is unknown."""
    money.SetInParent()
    if amount is not None:
        money.minor_units = amount


def terms_to_proto(terms: Terms, target: Any) -> None:
    """Write the terms into the message's `terms` oneof (ingest Debt, or any message with the same oneof), field by
    field in place (no message built to be copied)."""
    if isinstance(terms, ChargeCard):
        card = target.charge_card
        _put(card.interest_bearing_balance, terms.interest_bearing_balance)
        _put(card.non_interest_bearing_balance, terms.non_interest_bearing_balance)
        return
    if isinstance(terms, RepaymentLoan):
        loan = target.repayment_loan
        _put(loan.original_balance, terms.original_balance)
        _put(loan.balance, terms.balance)
        if terms.remaining_term_months is not None:
            loan.remaining_term_months = terms.remaining_term_months
    else:
        loan = target.credit_facility
        _put(loan.credit_limit, terms.credit_limit)
        _put(loan.interest_bearing_balance, terms.interest_bearing_balance)
        _put(loan.non_interest_bearing_balance, terms.non_interest_bearing_balance)
    if terms.nominal_interest_rate_bp is not None:
        loan.nominal_interest_rate_bp = terms.nominal_interest_rate_bp
    if terms.effective_interest_rate_bp is not None:
        loan.effective_interest_rate_bp = terms.effective_interest_rate_bp
    charges = loan.installment_charges
    _put(charges.monthly_amount, terms.installment_charges.monthly_amount)
    charges.period = PERIOD_TO_PROTO.get(
        terms.installment_charges.period, debt_pb2.INSTALLMENT_CHARGE_PERIOD_UNSPECIFIED
    )


def debt_to_proto(debt: RegisteredDebt, directory: InstitutionDirectory | None) -> ingest_pb2.Debt:
    """A registered debt in the contract; its creditor named from the directory, or by number alone without one
    (an extract's reader numbers creditors and names none)."""
    message = ingest_pb2.Debt(
        account_id=debt.account_id,
        co_borrower_role=ROLE_TO_PROTO[debt.co_borrower_role],
        extract_time=to_proto(debt.extract_time),
        confirm_time=to_proto(debt.confirm_time),
        disputed=debt.disputed,
    )
    if directory is None:
        message.creditor.organization_number.value = debt.creditor
    else:
        message.creditor.CopyFrom(institution_to_proto(directory.get(debt.creditor)))
    if debt.debtor is not None:
        message.debtor.value = debt.debtor
    terms_to_proto(debt.terms, message)
    return message


KIND_TO_PROTO = {
    DeliveryKind.CHANGES: ingest_pb2.DELIVERY_KIND_CHANGES,
    DeliveryKind.SNAPSHOT: ingest_pb2.DELIVERY_KIND_SNAPSHOT,
}
STRICTNESS_FROM_PROTO = {
    ingest_pb2.STRICTNESS_UNSPECIFIED: Strictness.ALL_OR_NOTHING,
    ingest_pb2.STRICTNESS_ALL_OR_NOTHING: Strictness.ALL_OR_NOTHING,
    ingest_pb2.STRICTNESS_PARTIAL: Strictness.PARTIAL,
}
STRICTNESS_TO_PROTO = {
    Strictness.ALL_OR_NOTHING: ingest_pb2.STRICTNESS_ALL_OR_NOTHING,
    Strictness.PARTIAL: ingest_pb2.STRICTNESS_PARTIAL,
}
HANDOVER_STATE_TO_PROTO = {
    HandoverState.PROPOSED: ingest_pb2.HANDOVER_STATE_PROPOSED,
    HandoverState.COMPLETED: ingest_pb2.HANDOVER_STATE_COMPLETED,
}


def delivery_to_proto(delivery: Delivery) -> ingest_pb2.Delivery:
    message = ingest_pb2.Delivery(
        id=str(delivery.id),
        request_id=delivery.request_id,
        kind=KIND_TO_PROTO[delivery.kind],
        strictness=STRICTNESS_TO_PROTO[delivery.strictness],
        record_count=delivery.record_count,
        registered_count=delivery.registered_count,
        closed_count=delivery.closed_count,
        unknown_close_count=delivery.unknown_close_count,
        rejected_count=delivery.rejected_count,
        absent_count=delivery.absent_count,
        outdated_count=delivery.outdated_count,
        receive_time=to_proto(delivery.receive_time),
    )
    if delivery.complete_time is not None:
        message.complete_time.CopyFrom(to_proto(delivery.complete_time))
    return message


def rejection_to_proto(rejection: Rejection) -> ingest_pb2.RecordRejection:
    return ingest_pb2.RecordRejection(
        index=rejection.index,
        violations=[ingest_pb2.FieldViolation(field=f, description=d) for f, d in rejection.violations],
    )


def handover_to_proto(handover: Handover) -> ingest_pb2.Handover:
    message = ingest_pb2.Handover(
        id=str(handover.id),
        giver=identity_pb2.OrganizationNumber(value=handover.giver),
        receiver=identity_pb2.OrganizationNumber(value=handover.receiver),
        account_ids=list(handover.account_ids),
        state=HANDOVER_STATE_TO_PROTO[handover.state],
        moved_count=handover.moved_count,
        create_time=to_proto(handover.create_time),
    )
    if handover.complete_time is not None:
        message.complete_time.CopyFrom(to_proto(handover.complete_time))
    return message


DEBT_TYPE_TO_PROTO = {
    DebtType.REPAYMENT_LOAN: debt_pb2.DEBT_TYPE_REPAYMENT_LOAN,
    DebtType.CREDIT_FACILITY: debt_pb2.DEBT_TYPE_CREDIT_FACILITY,
    DebtType.CHARGE_CARD: debt_pb2.DEBT_TYPE_CHARGE_CARD,
}
CORRECTION_STATE_TO_PROTO = {
    CorrectionState.OPEN: ingest_pb2.CORRECTION_STATE_OPEN,
    CorrectionState.AWAITING_FIX: ingest_pb2.CORRECTION_STATE_AWAITING_FIX,
    CorrectionState.CORRECTED: ingest_pb2.CORRECTION_STATE_CORRECTED,
    CorrectionState.REJECTED: ingest_pb2.CORRECTION_STATE_REJECTED,
}
CORRECTION_EVENT_TO_PROTO = {
    CorrectionEventType.RECEIVED: ingest_pb2.CORRECTION_EVENT_TYPE_RECEIVED,
    CorrectionEventType.FORWARDED: ingest_pb2.CORRECTION_EVENT_TYPE_FORWARDED,
    CorrectionEventType.AWAITING_FIX: ingest_pb2.CORRECTION_EVENT_TYPE_AWAITING_FIX,
    CorrectionEventType.CORRECTED: ingest_pb2.CORRECTION_EVENT_TYPE_CORRECTED,
    CorrectionEventType.REJECTED: ingest_pb2.CORRECTION_EVENT_TYPE_REJECTED,
    CorrectionEventType.REMINDER: ingest_pb2.CORRECTION_EVENT_TYPE_REMINDER,
}


def correction_to_proto(
    request: CorrectionRequest, directory: InstitutionDirectory | None = None
) -> ingest_pb2.CorrectionRequest:
    """A correction request in the contract: the debtor, reason and answer only where the request holds them (the
    domain leaves them out for operators); the creditor named only with a directory (the person's view)."""
    message = ingest_pb2.CorrectionRequest(
        id=str(request.id),
        account_id=request.account_id,
        debt_type=DEBT_TYPE_TO_PROTO[request.debt_type],
        state=CORRECTION_STATE_TO_PROTO[request.state],
        create_time=to_proto(request.create_time),
        due_time=to_proto(request.due_time),
        answer=request.answer,
    )
    message.creditor.value = request.creditor
    message.owner.value = request.owner
    if request.forwarded_by:
        message.forwarded_by.value = request.forwarded_by
    if request.debtor is not None:
        message.debtor.value = request.debtor
    if request.reason is not None:
        message.reason = request.reason
    if request.resolve_time is not None:
        message.resolve_time.CopyFrom(to_proto(request.resolve_time))
    if request.fix_time is not None:
        message.fix_time.CopyFrom(to_proto(request.fix_time))
    if request.fix_delivery_id is not None:
        message.fix_delivery_id = str(request.fix_delivery_id)
    if request.wrong_since is not None:
        message.wrong_since.CopyFrom(to_proto(request.wrong_since))
    if request.debt_register_time is not None:
        message.debt_register_time.CopyFrom(to_proto(request.debt_register_time))
    if directory is not None:
        message.creditor_institution.CopyFrom(institution_to_proto(directory.get(request.creditor)))
    return message


def correction_event_to_proto(event: CorrectionEvent) -> ingest_pb2.CorrectionEvent:
    return ingest_pb2.CorrectionEvent(
        position=event.position,
        type=CORRECTION_EVENT_TO_PROTO[event.type],
        event_time=to_proto(event.event_time),
        request=correction_to_proto(event.request),
    )


def statistics_cell_to_proto(row: Any) -> ingest_service_pb2.DebtStatisticsCell:
    """A published cell as kept (a suppressed one's figures NULL)."""
    if row.persons is None:
        return ingest_service_pb2.DebtStatisticsCell(cell=row.cell, suppressed=True)
    return ingest_service_pb2.DebtStatisticsCell(
        cell=row.cell,
        persons=row.persons,
        repayment_loans=row.repayment_loans,
        credit_facilities=row.credit_facilities,
        charge_cards=row.charge_cards,
        balance=_money(row.balance),
        credit_limit=_money(row.credit_limit),
    )
