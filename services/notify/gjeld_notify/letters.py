"""Rendering copy letters (gjenpart, DOM-13) and the outcomes of correction requests (DOM-14) as a person reads
them: the text of a digital message, and a letter as a PDF with the addressee's name and address in the envelope
window.

A notice may tell of several lookups by the same recipient for the same application (merged so that a person is
not flooded); each gets its own section with the figures that recipient got."""

from __future__ import annotations

import base64
import gettext
import json
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from gjeld.notify.v1 import notify_pb2
from gjeld.type.v1 import debt_pb2, identity_pb2
from gjeld_shared import translations as translations_
from gjeld_shared.timestamps import from_proto
from gjeld_shared.translations import LOCALES, N_, catalogue

from .domain import Contact, Message, Notice

# The languages letters are written in: Norwegian bokmål unless the person chose English. The English text is in
# the code (the message ids); every other language is a gettext catalogue under locale/ (`make translations`
# checks that none lacks a message).
LANGUAGES = ("nb", "en")
DEFAULT_LANGUAGE = "nb"
CATALOGUES = Path(__file__).parent / "locale"
DOMAIN = "gjeld_notify"


TYPE_NAMES = {
    debt_pb2.DEBT_TYPE_REPAYMENT_LOAN: N_("Repayment loans"),
    debt_pb2.DEBT_TYPE_CREDIT_FACILITY: N_("Credit facilities"),
    debt_pb2.DEBT_TYPE_CHARGE_CARD: N_("Charge cards"),
}
OTHER = N_("Other")
ROLE_NAMES = {
    debt_pb2.CO_BORROWER_ROLE_SOLE_DEBTOR: N_("sole debtor"),
    debt_pb2.CO_BORROWER_ROLE_HAS_CO_BORROWER: N_("joint, you are the primary debtor"),
    debt_pb2.CO_BORROWER_ROLE_IS_CO_BORROWER: N_("joint, you are the co-borrower"),
}
# What lookup says of its purposes and its source (lookup's PURPOSE_WORDS and SOURCE), translated here.
CARRIED = (
    N_("Credit assessment of a loan application, with your consent"),
    N_("Your own view of your debt"),
    N_("Showing you your own debt in their service, with your consent"),
    N_("A credit report by a licensed credit bureau"),
    N_("gjeld, the register of unsecured debt, as reported by your creditors"),
)


def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of a language (English: the message ids themselves)."""
    return catalogue(CATALOGUES, DOMAIN, language, LOCALES[language])


def kroner(minor_units: int, language: str = "en") -> str:
    """An amount in øre, as kroner are written in Norway."""
    return Writer(language).kroner(minor_units)


class Writer:
    """Letters in one language: its words, its money and its dates."""

    def __init__(self, language: str = DEFAULT_LANGUAGE) -> None:
        self.language = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._: Callable[[str], str] = translations(self.language).gettext

    def kroner(self, minor_units: int) -> str:
        return translations_.kroner(minor_units, self.language)

    def moment(self, when: datetime) -> str:
        """A time as a person in Norway reads it."""
        return translations_.moment(when, self.language)

    def _debt_line(self, debt: debt_pb2.DisclosedDebt) -> str:
        _ = self._
        kind = debt.WhichOneof("terms")
        role = _(ROLE_NAMES[debt.co_borrower_role]) if debt.co_borrower_role in ROLE_NAMES else ""
        if kind == "repayment_loan":
            t = debt.repayment_loan
            return _(
                "Repayment loan: balance {balance} of {original}, {months} months left, nominal rate {rate} % ({role})"
            ).format(
                balance=self.kroner(t.balance.minor_units),
                original=self.kroner(t.original_balance.minor_units),
                months=t.remaining_term_months,
                rate=self._rate(t.nominal_interest_rate_bp),
                role=role,
            )
        if kind == "credit_facility":
            f = debt.credit_facility
            used = f.interest_bearing_balance.minor_units + f.non_interest_bearing_balance.minor_units
            return _("Credit facility: limit {limit}, balance {balance}, nominal rate {rate} % ({role})").format(
                limit=self.kroner(f.credit_limit.minor_units),
                balance=self.kroner(used),
                rate=self._rate(f.nominal_interest_rate_bp),
                role=role,
            )
        c = debt.charge_card
        used = c.interest_bearing_balance.minor_units + c.non_interest_bearing_balance.minor_units
        return _("Charge card: balance {balance} ({role})").format(balance=self.kroner(used), role=role)

    def _rate(self, basis_points: int) -> str:
        return translations_.rate(basis_points, self.language)

    def who_asked(self, recipient: identity_pb2.Institution) -> list[str]:
        """Who asked, as DOM-13 requires: name, organisation number, address and phone."""
        _ = self._
        return [
            "  "
            + _("{name} (organisation number {number})").format(
                name=recipient.name, number=recipient.organization_number.value
            ),
            *(f"  {line}" for line in recipient.postal_address),
            *(["  " + _("Telephone: {phone}").format(phone=recipient.phone)] if recipient.phone else []),
        ]

    def _reference(self, letter: notify_pb2.CopyLetter) -> list[str]:
        if not letter.application_reference:
            return []
        return [self._("Their reference: {reference}").format(reference=letter.application_reference)]

    def _blocked(self, letter: notify_pb2.CopyLetter) -> str:
        """The notice of a lookup that the subject's credit block stopped (DOM-12)."""
        _ = self._
        lines = [
            _("YOUR CREDIT BLOCK STOPPED A LOOKUP OF YOUR DEBT"),
            "",
            _("On {when}, this institution asked for information about your unsecured debt:").format(
                when=self.moment(from_proto(letter.disclose_time))
            ),
            *self.who_asked(letter.recipient),
            "",
            _("Purpose they gave: {purpose}").format(purpose=_(letter.purpose)),
            *self._reference(letter),
            "",
            _("You have a credit block, so they were told only that, and nothing about your debt."),
            _("You can lift the block in the registry if you want lenders to see your debt."),
        ]
        return "\n".join(lines) + "\n"

    def render(self, letter: notify_pb2.CopyLetter) -> str:
        """One letter's section: the title first."""
        if letter.credit_blocked:
            return self._blocked(letter)
        _ = self._
        lines = [
            _("COPY LETTER (GJENPART): YOUR DEBT INFORMATION WAS DISCLOSED"),
            "",
            _("On {when}, information about your unsecured debt was disclosed to:").format(
                when=self.moment(from_proto(letter.disclose_time))
            ),
            *self.who_asked(letter.recipient),
            "",
            _("Purpose: {purpose}").format(purpose=_(letter.purpose)),
            *self._reference(letter),
            _("Source: {source}").format(source=_(letter.source)),
            "",
            _("What they received (creditors' names are never disclosed to them):"),
            *(f"  - {self._debt_line(d)}" for d in letter.debts),
            *(["  " + _("(no registered unsecured debt)")] if not letter.debts else []),
            "",
            _("Totals:"),
            *(
                "  "
                + _("{kind}: {count}, balance {balance}").format(
                    kind=_(TYPE_NAMES.get(t.debt_type, OTHER)),
                    count=t.debt_count,
                    balance=self.kroner(t.balance.minor_units),
                )
                for t in letter.totals
            ),
            *(
                [
                    _("Creditors asked live: {answered} answered, {missing} did not").format(
                        answered=letter.creditors_answered, missing=letter.creditors_missing
                    )
                ]
                if letter.creditors_answered or letter.creditors_missing
                else []
            ),
            # DOM-13: the same information the asker got, the warning of the subject's flag included.
            *(
                ["", _("They were also told of your identity-theft flag, and to verify your identity carefully.")]
                if letter.identity_theft_flag
                else []
            ),
            "",
            _("If you did not consent to this, or the information is wrong, you can withdraw your consent"),
            _("and ask for a correction in the registry."),
        ]
        return "\n".join(lines) + "\n"

    def outcome(self, outcome: notify_pb2.CorrectionOutcome) -> str:
        """What became of the subject's correction request (DOM-14), and who was told."""
        _ = self._
        creditor = outcome.creditor
        lines = [
            _("YOUR REQUEST FOR A CORRECTION HAS BEEN CORRECTED")
            if outcome.corrected
            else _("YOUR REQUEST FOR A CORRECTION HAS BEEN REJECTED"),
            "",
            _("You asked {name} (organisation number {number}) to correct your debt on account {account}.").format(
                name=creditor.name, number=creditor.organization_number.value, account=outcome.account_id
            ),
            _("It was answered on {when}.").format(when=self.moment(from_proto(outcome.resolve_time))),
            *(
                [
                    _("It was answered by {name}, where the error arose.").format(name=outcome.answered_by.name),
                ]
                if outcome.HasField("answered_by")
                else []
            ),
            "",
        ]
        if outcome.answer:
            lines += [_("Their answer:"), *(f"  {line}" for line in outcome.answer.splitlines()), ""]
        if outcome.corrected:
            lines.append(_("The register now holds the corrected information."))
            if outcome.told:
                lines.append(_("These recipients of the wrong information have been told of the correction:"))
                lines += [
                    "  "
                    + _("{name} (organisation number {number})").format(
                        name=told.name, number=told.organization_number.value
                    )
                    for told in outcome.told
                ]
            else:
                lines.append(_("No one received the wrong information from the registry."))
        else:
            lines += [
                _("The information stays as it is."),
                _("If you disagree, you can complain to the Norwegian Data Protection Authority (Datatilsynet)."),
            ]
        return "\n".join(lines) + "\n"

    def title(self, sections: Sequence[str]) -> str:
        title = sections[0].splitlines()[0]
        if len(sections) > 1:
            title = self._("{title} ({count} LOOKUPS FOR THE SAME APPLICATION)").format(
                title=title, count=len(sections)
            )
        return title


def _printable(text: str) -> str:
    """The PDF's built-in fonts cover Latin-1 (Norwegian letters included); anything else becomes '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")


def _pdf(writer: Writer, addressee: Contact, title: str, text: str) -> bytes:
    """The letter on A4: the sender's line, the address in the envelope's window, the title, then the text. Lines are
    laid out here, by characters, and each set at its place (fpdf's `text`): its cells and their line breaking
    measure every character, and took most of notify's CPU under load (issue 15)."""
    pdf = FPDF(format="A4")
    pdf.add_page()
    pdf.set_lang(writer.language)
    pdf.set_title(_printable(title))
    page = _Page(pdf)
    page.write([writer._("gjeld - the register of unsecured debt")], "", 9, 20, 5)
    page.write([addressee.name, *addressee.postal_address], "", 11, 54, 5)  # the envelope window
    page.write(_wrapped(title, TITLE_CHARACTERS), "B", 12, 94, 6)
    page.write([part for line in text.splitlines()[1:] for part in _wrapped(line, LINE_CHARACTERS)], "", 10, None, 5)
    return bytes(pdf.output())


@dataclass
class _Page:
    """Where the next line goes, in mm from the page's top (its baseline), with 20 mm margins and new pages."""

    pdf: FPDF
    y: float = 20.0

    def write(self, lines: Sequence[str], style: str, size: float, y: float | None, step: float) -> None:
        self.pdf.set_font("Helvetica", style, size)
        self.y = self.y + step if y is None else y
        for line in lines:
            if self.y > PAGE_BOTTOM:
                self.pdf.add_page()
                self.y = 20.0 + step
            if line.strip():
                self.pdf.text(20, self.y, _printable(line))
            self.y += step


PAGE_BOTTOM = 297 - 20
# What fits on a line of the letter's 170 mm: Helvetica 10 pt (and 12 pt bold for the title) with room to spare.
LINE_CHARACTERS = 90
TITLE_CHARACTERS = 68


def _wrapped(line: str, width: int) -> list[str]:
    """A line of the letter in the lines it takes, its indentation kept on each."""
    if len(line) <= width:
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    return textwrap.wrap(line, width, initial_indent="", subsequent_indent=indent + "  ") or [line]


def message_of(notice: Notice, addressee: Contact, language: str = DEFAULT_LANGUAGE) -> Message:
    """A notice as the person reads it: its copy letters, the outcome of their correction request, or an alert."""
    if notice.alert is not None:
        return alert(notice.alert, addressee, language)
    if notice.outcome is None:
        return message(notice.letters, addressee, language)
    writer = Writer(language)
    text = writer.outcome(notice.outcome)
    title = text.splitlines()[0]
    sms = writer._("gjeld: {title}. Log in to Min gjeld to read it.").format(title=title.capitalize())
    return Message(title, text, _pdf(writer, addressee, title, text), sms)


def message(letters: Sequence[notify_pb2.CopyLetter], addressee: Contact, language: str = DEFAULT_LANGUAGE) -> Message:
    """A notice of one or more lookups, as a digital message and as a letter, in the person's language."""
    writer = Writer(language)
    sections = [writer.render(letter) for letter in letters]
    title = writer.title(sections)
    text = f"{title}\n" + "\n".join(section.split("\n", 1)[1] for section in sections)
    sms = writer._("gjeld: {title}. Log in to Min gjeld to read it.").format(title=title.capitalize())
    return Message(title, text, _pdf(writer, addressee, title, text), sms)


def alert(flagged: notify_pb2.IdentityTheftAlert, addressee: Contact, language: str = DEFAULT_LANGUAGE) -> Message:
    """An alert of a lookup made while the subject's identity-theft flag stood: short, to be read at once; the text
    message says who looked and when (no debt data), the copy letter follows with what they were told."""
    writer = Writer(language)
    _, recipient, when = writer._, flagged.recipient, writer.moment(from_proto(flagged.disclose_time))
    title = _("SOMEONE LOOKED UP YOUR DEBT WHILE YOUR IDENTITY-THEFT FLAG STANDS")
    lines = [
        title,
        "",
        _("On {when}, this institution looked up your unsecured debt:").format(when=when),
        *writer.who_asked(recipient),
        "",
        _("You have placed an identity-theft flag, so they were told to verify the applicant's identity carefully."),
        _("If you have not applied for credit with them, contact them at once, and think of placing a credit block."),
        _("A copy letter with what they were told follows."),
    ]
    text = "\n".join(lines) + "\n"
    sms = _("gjeld: {name} looked up your debt on {when}. Not you? Contact them at once. See Min gjeld.").format(
        name=recipient.name, when=when
    )
    return Message(title, text, _pdf(writer, addressee, title, text), sms)


def message_to_bytes(message: Message) -> bytes:
    """A rendered letter, to keep (rendered once)."""
    return json.dumps(
        {
            "title": message.title,
            "text": message.text,
            "sms": message.sms,
            "pdf": base64.b64encode(message.pdf).decode(),
        }
    ).encode()


def message_from_bytes(data: bytes) -> Message:
    kept = json.loads(data)
    return Message(kept["title"], kept["text"], base64.b64decode(kept["pdf"]), kept["sms"])
