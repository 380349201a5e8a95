"""What the pages show, taken from the services' answers: plain values for the templates to lay out."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from gjeld.consent.v1 import consent_pb2
from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2
from gjeld.lookup.v1 import lookup_pb2, lookup_service_pb2
from gjeld.type.v1 import debt_pb2
from gjeld_shared.counties import COUNTIES
from gjeld_shared.timestamps import from_proto
from gjeld_shared.translations import N_, NORWAY

TYPE_NAMES = {
    debt_pb2.DEBT_TYPE_REPAYMENT_LOAN: N_("Repayment loans"),
    debt_pb2.DEBT_TYPE_CREDIT_FACILITY: N_("Credit facilities"),
    debt_pb2.DEBT_TYPE_CHARGE_CARD: N_("Charge cards"),
}
KIND_NAMES = {
    "repayment_loan": N_("Repayment loan"),
    "credit_facility": N_("Credit facility"),
    "charge_card": N_("Charge card"),
}
ROLE_NAMES = {
    debt_pb2.CO_BORROWER_ROLE_SOLE_DEBTOR: N_("Only you"),
    debt_pb2.CO_BORROWER_ROLE_HAS_CO_BORROWER: N_("Joint: you are the primary debtor"),
    debt_pb2.CO_BORROWER_ROLE_IS_CO_BORROWER: N_("Joint: you are the co-borrower"),
}
ANSWER_NAMES = {
    lookup_pb2.CREDITOR_ANSWER_LIVE: N_("Answered just now"),
    lookup_pb2.CREDITOR_ANSWER_REGISTERED: N_("As last reported"),
    lookup_pb2.CREDITOR_ANSWER_MISSING: N_("Did not answer in time: as last reported"),
}
PURPOSE_NAMES = {
    lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT: N_("Credit assessment, with your consent"),
    lookup_pb2.DISCLOSURE_PURPOSE_SUBJECT_ACCESS: N_("You looked at your own debt"),
    lookup_pb2.DISCLOSURE_PURPOSE_PRESENTATION: N_("Shown to you in their service, with your consent"),
    lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_BUREAU: N_("A credit report by a credit bureau"),
    lookup_pb2.DISCLOSURE_PURPOSE_SCORE_MODEL: N_("A quarterly extract about their own customers, for credit scoring"),
}
SCOPE_NAMES = {
    consent_pb2.CONSENT_SCOPE_PROCESSING: N_("Credit assessment"),
    consent_pb2.CONSENT_SCOPE_PRESENTATION: N_("Showing your debt in their service"),
}
STATE_NAMES = {
    consent_pb2.CONSENT_STATE_ACTIVE: N_("Active"),
    consent_pb2.CONSENT_STATE_WITHDRAWN: N_("Withdrawn"),
    consent_pb2.CONSENT_STATE_EXPIRED: N_("Expired"),
    consent_pb2.CONSENT_STATE_USED_UP: N_("Used up"),
    consent_pb2.CONSENT_STATE_ENDED: N_("Ended by the institution"),
}
CORRECTION_STATES = {
    ingest_pb2.CORRECTION_STATE_OPEN: N_("Waiting for the creditor's answer"),
    ingest_pb2.CORRECTION_STATE_AWAITING_FIX: N_("The creditor is correcting it"),
    ingest_pb2.CORRECTION_STATE_CORRECTED: N_("Corrected"),
    ingest_pb2.CORRECTION_STATE_REJECTED: N_("Rejected"),
}
NOTICE_STATES = {1: N_("Waiting to be sent"), 2: N_("Sent"), 3: N_("Could not be sent")}
CHANNEL_NAMES = {1: N_("Digital mailbox"), 2: N_("Text message"), 3: N_("E-mail"), 4: N_("Post")}
# What a page says of a value it has no name for (a newer contract's value, or none).
UNKNOWN = N_("Unknown")
NOTICES = {
    "withdrawn": N_("The consent is withdrawn: it can no longer be used."),
    "blocked": N_("Your credit block is in place."),
    "unblocked": N_("Your credit block is lifted."),
    "flag_placed": N_("Your identity-theft flag is in place."),
    "flag_lifted": N_("Your identity-theft flag is lifted."),
    "saved": N_("Your choices are saved."),
    "correction_sent": N_("Your request is sent to the creditor. It must answer within a month."),
}


@dataclass(frozen=True)
class Figure:
    label: str
    minor_units: int


@dataclass(frozen=True)
class Debt:
    creditor: str
    kind: str
    role: str
    figures: list[Figure]
    rate_bp: int | None
    confirmed: datetime | None
    # Which debt it is, for a correction request: the creditor's organisation number and account.
    key: str = ""
    account_id: str = ""
    disputed: bool = False
    stale: bool = False


@dataclass(frozen=True)
class CorrectionRequest:
    creditor: str
    account_id: str
    reason: str
    state: str
    owner: str
    asked: datetime | None
    due: datetime | None
    answered: datetime | None
    answer: str


@dataclass(frozen=True)
class Creditor:
    name: str
    answer: str
    confirmed: datetime | None


@dataclass(frozen=True)
class Total:
    kind: str
    count: int
    balance: int
    credit_limit: int


@dataclass
class OwnDebt:
    debts: list[Debt] = field(default_factory=list)
    totals: list[Total] = field(default_factory=list)
    creditors: list[Creditor] = field(default_factory=list)
    answered: int = 0
    missing: int = 0


def _when(timestamp: object) -> datetime | None:
    from google.protobuf.timestamp_pb2 import Timestamp

    assert isinstance(timestamp, Timestamp)
    return from_proto(timestamp) if timestamp.seconds or timestamp.nanos else None


def _debt(debt: lookup_pb2.OwnDebt) -> Debt:
    kind = debt.WhichOneof("terms") or ""
    figures: list[Figure] = []
    rate: int | None = None
    if kind == "repayment_loan":
        loan = debt.repayment_loan
        figures = [Figure(N_("Balance"), loan.balance.minor_units)]
        figures.append(Figure(N_("Borrowed"), loan.original_balance.minor_units))
        rate = loan.nominal_interest_rate_bp if loan.HasField("nominal_interest_rate_bp") else None
    elif kind == "credit_facility":
        facility = debt.credit_facility
        figures = [
            Figure(N_("Credit limit"), facility.credit_limit.minor_units),
            Figure(N_("Interest-bearing balance"), facility.interest_bearing_balance.minor_units),
            Figure(N_("Balance without interest"), facility.non_interest_bearing_balance.minor_units),
        ]
        rate = facility.nominal_interest_rate_bp if facility.HasField("nominal_interest_rate_bp") else None
    elif kind == "charge_card":
        card = debt.charge_card
        figures = [
            Figure(N_("Interest-bearing balance"), card.interest_bearing_balance.minor_units),
            Figure(N_("Balance without interest"), card.non_interest_bearing_balance.minor_units),
        ]
    return Debt(
        creditor=debt.creditor.name or debt.creditor.organization_number.value,
        kind=KIND_NAMES.get(kind, N_("Other")),
        role=ROLE_NAMES.get(debt.co_borrower_role, UNKNOWN),
        figures=figures,
        rate_bp=rate,
        confirmed=_when(debt.confirm_time),
        key=f"{debt.creditor.organization_number.value}/{debt.account_id}",
        account_id=debt.account_id,
        disputed=debt.disputed,
        stale=debt.stale,
    )


def correction(request: ingest_pb2.CorrectionRequest) -> CorrectionRequest:
    return CorrectionRequest(
        creditor=request.creditor_institution.name or request.creditor.value,
        account_id=request.account_id,
        reason=request.reason,
        state=CORRECTION_STATES.get(request.state, UNKNOWN),
        owner=request.owner.value,
        asked=_when(request.create_time),
        due=_when(request.due_time),
        answered=_when(request.resolve_time),
        answer=request.answer,
    )


def own_debt(reply: lookup_service_pb2.GetOwnDebtResponse) -> OwnDebt:
    return OwnDebt(
        debts=[_debt(d) for d in reply.debts],
        totals=[
            Total(
                TYPE_NAMES.get(t.debt_type, N_("Other")),
                t.debt_count,
                t.balance.minor_units,
                t.credit_limit.minor_units,
            )
            for t in reply.totals
        ],
        creditors=[
            Creditor(c.creditor.name, ANSWER_NAMES.get(c.answer, UNKNOWN), _when(c.confirm_time))
            for c in reply.creditors
        ],
        answered=reply.creditors_answered,
        missing=reply.creditors_missing,
    )


# What the flag page suggests as its end: consent's own default period (FLAG_PERIOD in gjeld_consent.domain).
FLAG_DAYS = 90


def flag_end_suggested(today: date | None = None) -> str:
    """The end date the flag page offers: FLAG_DAYS from today in Norway, as the date field writes it."""
    return ((today or datetime.now(NORWAY).date()) + timedelta(days=FLAG_DAYS)).isoformat()


@dataclass(frozen=True)
class Chart:
    """A line of persons with debt over the days, drawn in a box of WIDTH × HEIGHT (SVG units), with its scale."""

    points: str
    top: int
    first_day: str
    last_day: str


CHART_WIDTH, CHART_HEIGHT = 600, 200


def statistics_days(reply: Any) -> list[Any]:
    """The national cell of each day, newest first (the table's rows)."""
    return [(day.day, day.cells[0]) for day in reversed(reply.days) if day.cells]


def statistics_chart(reply: Any) -> Chart | None:
    """Persons with unsecured debt over time, as the points of a line (a suppressed day is left out)."""
    shown = [(day.day, day.cells[0].persons) for day in reply.days if day.cells and not day.cells[0].suppressed]
    if len(shown) < 2:
        return None
    top = max(persons for _, persons in shown)
    step = CHART_WIDTH / (len(shown) - 1)
    points = " ".join(
        f"{i * step:.1f},{CHART_HEIGHT - CHART_HEIGHT * persons / top:.1f}" for i, (_, persons) in enumerate(shown)
    )
    return Chart(points, top, shown[0][0], shown[-1][0])


# How far back the CSV goes: ten years, a few days short of the most ListDebtStatistics gives (3,660 days).
STATISTICS_HISTORY_DAYS = 3650

STATISTICS_COLUMNS = (
    "dag",
    "tabell",
    "celle",
    "personer",
    "nedbetalingslan",
    "rammekreditter",
    "faktureringskort",
    "saldo_kr",
    "kredittramme_kr",
)


# The tables the page and the CSV show, with their names in the CSV.
STATISTICS_TABLES = (
    (ingest_service_pb2.STATISTICS_TABLE_NATIONAL, "nasjonalt"),
    (ingest_service_pb2.STATISTICS_TABLE_AGE_AND_SEX, "alder_og_kjonn"),
    (ingest_service_pb2.STATISTICS_TABLE_COUNTY, "fylke"),
)


def statistics_counties(reply: Any) -> tuple[str, list[tuple[str, Any]]] | None:
    """The latest day by county: the day, and each county's name (by its number; "unknown" last) with its cell."""
    if not reply.days:
        return None
    latest = reply.days[-1]
    named = [(COUNTIES.get(cell.cell, ""), cell) for cell in latest.cells]
    return latest.day, sorted(named, key=lambda pair: (not pair[0], pair[1].cell))


def statistics_csv(*replies: Any) -> str:
    """Every day of the tables as CSV (the cell's name as the API gives it; a suppressed cell's figures empty)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(STATISTICS_COLUMNS)
    for reply, (_, table) in zip(replies, STATISTICS_TABLES, strict=True):
        for day in reply.days:
            for cell in day.cells:
                figures = (
                    ["", "", "", "", "", ""]
                    if cell.suppressed
                    else [
                        cell.persons,
                        cell.repayment_loans,
                        cell.credit_facilities,
                        cell.charge_cards,
                        f"{Decimal(cell.balance.minor_units).scaleb(-2):.2f}",
                        f"{Decimal(cell.credit_limit.minor_units).scaleb(-2):.2f}",
                    ]
                )
                writer.writerow([day.day, table, cell.cell, *figures])
    return out.getvalue()


def when(timestamp: object) -> datetime | None:
    """A protobuf timestamp as a moment, or None when unset (for the templates)."""
    return _when(timestamp)
