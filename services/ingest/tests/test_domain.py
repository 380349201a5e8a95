"""Debt rules without I/O (DOM-1, DOM-2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from gjeld_ingest import domain
from gjeld_ingest.domain import ChargeCard, CreditFacility, InstallmentCharges, RepaymentLoan


def test_negative_amounts_are_refused_with_their_field() -> None:
    problems = domain.check_terms(CreditFacility(-1, 0, -5, 1000, InstallmentCharges(-1)))
    assert [field for field, _ in problems] == [
        "credit_facility.credit_limit.minor_units",
        "credit_facility.non_interest_bearing_balance.minor_units",
        "credit_facility.installment_charges.monthly_amount.minor_units",
    ]


def test_rates_and_terms_must_be_possible() -> None:
    assert domain.check_terms(RepaymentLoan(100, 50, 12, 820, InstallmentCharges(0))) == []
    problems = domain.check_terms(RepaymentLoan(100, 50, -1, domain.MAX_RATE_BP + 1, InstallmentCharges(0), -3))
    assert {field for field, _ in problems} == {
        "repayment_loan.remaining_term_months",
        "repayment_loan.nominal_interest_rate_bp",
        "repayment_loan.effective_interest_rate_bp",
    }


def test_balance_includes_both_parts() -> None:
    assert domain.balance(ChargeCard(100, 250)) == 350
    assert domain.balance(RepaymentLoan(1000, 400, 1, 0, InstallmentCharges(0))) == 400


def test_account_ids() -> None:
    assert domain.check_account_id("ACC-1") == []
    assert domain.check_account_id(" ") == [("account_id", "is required")]
    assert domain.check_account_id("x" * 65)[0][0] == "account_id"


def test_a_loan_balance_far_beyond_the_amount_lent_is_a_unit_error() -> None:
    assert domain.check_terms(RepaymentLoan(100, 200, 1, 0, InstallmentCharges(0))) == []
    problems = domain.check_terms(RepaymentLoan(100, 201, 1, 0, InstallmentCharges(0)))
    assert [field for field, _ in problems] == ["repayment_loan.balance.minor_units"]


def test_an_extract_time_in_the_future_is_refused() -> None:
    now = datetime(2026, 6, 25, 6, 0, tzinfo=UTC)
    assert domain.check_extract_time(now + timedelta(minutes=4), now) == []
    assert domain.check_extract_time(now + timedelta(minutes=6), now) == [("extract_time", "must not be in the future")]
