"""Rendering copy letters (gjenpart, DOM-13) as a person reads them: the text of a digital message, and a
letter as a PDF with the addressee's name and address in the envelope window.

A notice may tell of several lookups by the same recipient for the same application (merged so that a person is
not flooded); each gets its own section with the figures that recipient got."""

from __future__ import annotations

from collections.abc import Sequence

from fpdf import FPDF
from fpdf.enums import XPos, YPos
from gjeld.notify.v1 import notify_pb2
from gjeld.type.v1 import debt_pb2
from gjeld_shared.timestamps import from_proto

from .domain import Contact, Message

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


def _who_asked(letter: notify_pb2.CopyLetter) -> list[str]:
    """Who asked, as DOM-13 requires: name, organisation number, address and phone."""
    recipient = letter.recipient
    return [
        f"  {recipient.name} (organisation number {recipient.organization_number.value})",
        *(f"  {line}" for line in recipient.postal_address),
        *([f"  Telephone: {recipient.phone}"] if recipient.phone else []),
    ]


def _blocked(letter: notify_pb2.CopyLetter) -> str:
    """The notice of a lookup that the subject's credit block stopped (DOM-12)."""
    when = from_proto(letter.disclose_time).strftime("%d.%m.%Y %H:%M UTC")
    lines = [
        "YOUR CREDIT BLOCK STOPPED A LOOKUP OF YOUR DEBT",
        "",
        f"On {when}, this institution asked for information about your unsecured debt:",
        *_who_asked(letter),
        "",
        f"Purpose they gave: {letter.purpose}",
        *([f"Their reference: {letter.application_reference}"] if letter.application_reference else []),
        "",
        "You have a credit block, so they were told only that, and nothing about your debt.",
        "You can lift the block in the registry if you want lenders to see your debt.",
    ]
    return "\n".join(lines) + "\n"


def render(letter: notify_pb2.CopyLetter) -> str:
    if letter.credit_blocked:
        return _blocked(letter)
    when = from_proto(letter.disclose_time).strftime("%d.%m.%Y %H:%M UTC")
    lines = [
        "COPY LETTER (GJENPART): YOUR DEBT INFORMATION WAS DISCLOSED",
        "",
        f"On {when}, information about your unsecured debt was disclosed to:",
        *_who_asked(letter),
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
        *(
            [f"Creditors asked live: {letter.creditors_answered} answered, {letter.creditors_missing} did not"]
            if letter.creditors_answered or letter.creditors_missing
            else []
        ),
        "",
        "If you did not consent to this, or the information is wrong, you can withdraw your consent",
        "and ask for a correction in the registry.",
    ]
    return "\n".join(lines) + "\n"


def _printable(text: str) -> str:
    """The PDF's built-in fonts cover Latin-1 (Norwegian letters included); anything else becomes '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")


def _pdf(addressee: Contact, title: str, text: str) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_margins(20, 20, 20)
    pdf.set_auto_page_break(True, margin=20)
    pdf.add_page()
    pdf.set_font("Helvetica", size=9)
    pdf.cell(text="gjeld - the register of unsecured debt")
    pdf.set_xy(20, 50)  # the envelope window
    pdf.set_font("Helvetica", size=11)
    for line in (addressee.name, *addressee.postal_address):
        pdf.cell(text=_printable(line))
        pdf.ln(5)
    pdf.set_y(90)
    pdf.set_font("Helvetica", "B", 12)
    pdf.multi_cell(0, 6, _printable(title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)
    pdf.set_font("Helvetica", size=10)
    for line in text.splitlines()[1:]:
        pdf.multi_cell(0, 5, _printable(line) or " ", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    return bytes(pdf.output())


def message(letters: Sequence[notify_pb2.CopyLetter], addressee: Contact) -> Message:
    """A notice of one or more lookups, as a digital message and as a letter."""
    sections = [render(letter) for letter in letters]
    title = sections[0].splitlines()[0]
    if len(letters) > 1:
        title = f"{title} ({len(letters)} LOOKUPS FOR THE SAME APPLICATION)"
    text = f"{title}\n" + "\n".join(section.split("\n", 1)[1] for section in sections)
    return Message(title, text, _pdf(addressee, title, text))
