"""lookup's domain, without I/O: DOM-5 by type, creditors by number, totals per type (DOM-2)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from gjeld_lookup import domain
from gjeld_lookup.domain import (
    Answer,
    ChargeCard,
    CoBorrowerRole,
    CreditFacility,
    Debt,
    DebtType,
    LenderDebt,
    RepaymentLoan,
    Total,
)

WHEN = datetime(2026, 11, 1, tzinfo=UTC)


def debt(creditor: str, terms: domain.Terms, confirmed: datetime | None = WHEN) -> Debt:
    return Debt(creditor, f"{creditor}-1", CoBorrowerRole.SOLE_DEBTOR, terms, confirmed)


def test_a_lenders_debt_has_no_creditor_and_no_account_by_type() -> None:
    # DOM-5: not hidden by the code that fills it in, but absent from the type a lender's answer is made of.
    names = {f.name for f in dataclasses.fields(LenderDebt)}
    assert not names & {"creditor", "account_id", "organization_number", "name"}
    letter_debts = {f.name: f.type for f in dataclasses.fields(domain.CopyLetter)}["debts"]
    assert "LenderDebt" in str(letter_debts)


def test_creditors_are_numbered_within_one_answer_and_live_answers_win() -> None:
    registered = [debt("999888777", RepaymentLoan(500_000, 320_000)), debt("911222333", ChargeCard(8_450, 0))]
    live = [debt("999888777", CreditFacility(12_000, 3_400, 0))]
    gathered = domain.gather(registered, ["999888777", "922333444"], {"999888777": live})
    assert [(p.organization_number, p.answer) for p in gathered.parts] == [
        ("911222333", Answer.REGISTERED),
        ("999888777", Answer.LIVE),
    ]
    assert (gathered.answered, gathered.missing) == (1, 1)
    lent, withheld = domain.for_lender(gathered, WHEN)
    assert withheld == 0
    assert [(d.creditor_number, type(d.terms).__name__) for d in lent] == [(1, "ChargeCard"), (2, "CreditFacility")]
    assert domain.totals(lent) == [
        Total(DebtType.CREDIT_FACILITY, 1, 3_400, 12_000),
        Total(DebtType.CHARGE_CARD, 1, 8_450, 0),
    ]
    assert [s.number for s in gathered.statuses()] == [1, 2]


def test_data_its_creditor_no_longer_confirms_is_marked_then_withheld_from_lenders() -> None:
    # DOM-8: a missed daily snapshot is never read as "the old data still holds".
    policy = domain.Staleness(timedelta(hours=36), timedelta(days=7))
    fresh, old, ancient = (
        debt("911222333", ChargeCard(1, 0), WHEN - timedelta(hours=1)),
        debt("922333444", ChargeCard(2, 0), WHEN - timedelta(hours=37)),
        debt("999888777", ChargeCard(3, 0), WHEN - timedelta(days=8)),
    )
    gathered = domain.gather([fresh, old, ancient], [], {})
    lent, withheld = domain.for_lender(gathered, WHEN, policy)
    assert [(d.terms.interest_bearing_balance, d.stale) for d in lent] == [(1, False), (2, True)] and withheld == 1
    own = domain.for_subject(gathered, WHEN, policy)
    assert [(d.terms.interest_bearing_balance, d.stale) for d in own] == [(1, False), (2, True), (3, True)]
    # A policy that never withholds shows everything, marked.
    lent, withheld = domain.for_lender(gathered, WHEN, domain.Staleness(timedelta(hours=36), None))
    assert len(lent) == 3 and withheld == 0
