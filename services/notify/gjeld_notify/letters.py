"""Rendering a copy letter (gjenpart, DOM-13) as the text a person reads."""

from __future__ import annotations

from gjeld.notify.v1 import notify_pb2
from gjeld.type.v1 import debt_pb2
from gjeld_shared.timestamps import from_proto

TYPE_NAMES = {
    debt_pb2.DEBT_TYPE_REPAYMENT_LOAN: "Repayment loans",
    debt_pb2.DEBT_TYPE_CREDIT_FACILITY: "Credit facilities",
    debt_pb2.DEBT_TYPE_CHARGE_CARD: "Charge cards",
}
ROLE_NAMES = {
    debt_pb2.CO_BORROWER_ROLE_SOLE_DEBTOR: "sole debtor",
    debt_pb2.CO_BORROWER_ROLE_HAS_CO_BORROWER: "joint, you are the primary debtor",
    debt_pb2.CO_BORROWER_ROLE_IS_CO_BORROWER: "joint, you are the co-borrower",
}


def kroner(minor_units: int) -> str:
    whole, ore = divmod(minor_units, 100)
    return f"NOK {whole:,}.{ore:02d}".replace(",", " ")


def _debt_line(debt: debt_pb2.DisclosedDebt) -> str:
    kind = debt.WhichOneof("terms")
    role = ROLE_NAMES.get(debt.co_borrower_role, "")
    if kind == "repayment_loan":
        t = debt.repayment_loan
        return (
            f"Repayment loan: balance {kroner(t.balance.minor_units)} of {kroner(t.original_balance.minor_units)},"
            f" {t.remaining_term_months} months left, nominal rate {t.nominal_interest_rate_bp / 100:.2f} % ({role})"
        )
    if kind == "credit_facility":
        f = debt.credit_facility
        used = f.interest_bearing_balance.minor_units + f.non_interest_bearing_balance.minor_units
        return (
            f"Credit facility: limit {kroner(f.credit_limit.minor_units)}, balance {kroner(used)},"
            f" nominal rate {f.nominal_interest_rate_bp / 100:.2f} % ({role})"
        )
    c = debt.charge_card
    used = c.interest_bearing_balance.minor_units + c.non_interest_bearing_balance.minor_units
    return f"Charge card: balance {kroner(used)} ({role})"


def render(letter: notify_pb2.CopyLetter) -> str:
    recipient = letter.recipient
    when = from_proto(letter.disclose_time).strftime("%d.%m.%Y %H:%M UTC")
    lines = [
        "COPY LETTER (GJENPART): YOUR DEBT INFORMATION WAS DISCLOSED",
        "",
        f"On {when}, information about your unsecured debt was disclosed to:",
        f"  {recipient.name} (organisation number {recipient.organization_number.value})",
        *(f"  {line}" for line in recipient.postal_address),
        *([f"  Telephone: {recipient.phone}"] if recipient.phone else []),
        "",
        f"Purpose: {letter.purpose}",
        *([f"Their reference: {letter.application_reference}"] if letter.application_reference else []),
        f"Source: {letter.source}",
        "",
        "What they received (creditors' names are never disclosed to them):",
        *(f"  - {_debt_line(d)}" for d in letter.debts),
        *(["  (no registered unsecured debt)"] if not letter.debts else []),
        "",
        "Totals:",
        *(
            f"  {TYPE_NAMES.get(t.debt_type, 'Other')}: {t.debt_count}, balance {kroner(t.balance.minor_units)}"
            for t in letter.totals
        ),
        "",
        "If you did not consent to this, or the information is wrong, you can withdraw your consent",
        "and ask for a correction in the registry.",
    ]
    return "\n".join(lines) + "\n"
