"""Synthetic debt data with the national mix (DOMAIN.md, "Numbers from the live Norwegian system"):
88 % credit facilities, 11 % repayment loans, 1 % charge cards, about 2.2 debts per person,
every person a valid synthetic identity number (month + 80, never a real person).

Reproducible: the same seed gives the same data."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

from gjeld.ingest.v1 import ingest_pb2
from gjeld.type.v1 import debt_pb2, identity_pb2, money_pb2
from gjeld_shared import identity_numbers

DEBTS_PER_PERSON = 2.2
MIX = ((0.88, "credit_facility"), (0.11, "repayment_loan"), (0.01, "charge_card"))


def people(seed: int = 1) -> Iterator[str]:
    """Distinct valid synthetic identity numbers, in a shuffled but reproducible order."""
    rng = random.Random(seed)
    seen: set[str] = set()
    start = date(1940, 1, 1)
    while True:
        number = identity_numbers.synthetic(start + timedelta(days=rng.randrange(365 * 60)), rng.randrange(500))
        if number is not None and number not in seen:
            seen.add(number)
            yield number


def _kind(rng: random.Random) -> str:
    draw = rng.random()
    for share, kind in MIX:
        if draw < share:
            return kind
        draw -= share
    return MIX[0][1]


def debt(rng: random.Random, account_id: str, debtor: str, extract_time: datetime) -> ingest_pb2.Debt:
    message = ingest_pb2.Debt(
        account_id=account_id,
        debtor=identity_pb2.NationalIdentityNumber(value=debtor),
        co_borrower_role=debt_pb2.CO_BORROWER_ROLE_SOLE_DEBTOR,
    )
    message.extract_time.FromDatetime(extract_time)
    kind = _kind(rng)
    charges = debt_pb2.InstallmentCharges(monthly_amount=money_pb2.Money(minor_units=rng.choice((0, 3500, 5000))))
    if kind == "credit_facility":
        limit = rng.randrange(5_000, 100_000) * 100
        used = rng.randrange(0, limit + 1)
        message.credit_facility.CopyFrom(
            debt_pb2.CreditFacility(
                credit_limit=money_pb2.Money(minor_units=limit),
                interest_bearing_balance=money_pb2.Money(minor_units=used * 4 // 5),
                non_interest_bearing_balance=money_pb2.Money(minor_units=used - used * 4 // 5),
                nominal_interest_rate_bp=rng.randrange(1200, 2500),
                installment_charges=charges,
            )
        )
    elif kind == "repayment_loan":
        lent = rng.randrange(10_000, 500_000) * 100
        message.repayment_loan.CopyFrom(
            debt_pb2.RepaymentLoan(
                original_balance=money_pb2.Money(minor_units=lent),
                balance=money_pb2.Money(minor_units=rng.randrange(0, lent + 1)),
                remaining_term_months=rng.randrange(1, 180),
                nominal_interest_rate_bp=rng.randrange(600, 2000),
                installment_charges=charges,
            )
        )
    else:
        message.charge_card.CopyFrom(
            debt_pb2.ChargeCard(
                interest_bearing_balance=money_pb2.Money(minor_units=0),
                non_interest_bearing_balance=money_pb2.Money(minor_units=rng.randrange(0, 5_000_000)),
            )
        )
    return message


def debts(count: int, seed: int = 1, extract_time: datetime | None = None) -> Iterator[ingest_pb2.Debt]:
    """`count` debts of one institution, one at a time (memory stays flat however many): about 2.2 per person, each
    with its own account id."""
    rng = random.Random(seed)
    when = extract_time or datetime(2026, 6, 25, 5, 0, tzinfo=UTC)
    made = 0
    persons = people(seed)
    while made < count:
        person = next(persons)
        for _ in range(min(count - made, 1 + (rng.random() < 0.6) + (rng.random() < 0.6))):
            yield debt(rng, f"{seed}-{made:09d}", person, when)
            made += 1


def portfolio(count: int, seed: int = 1, extract_time: datetime | None = None) -> list[ingest_pb2.Debt]:
    """`count` debts of one institution: about 2.2 per person, each with its own account id."""
    return list(debts(count, seed, extract_time))


def next_day(count: int, seed: int = 1, extract_time: datetime | None = None) -> Iterator[ingest_pb2.Debt]:
    """The next day's snapshot of `debts(count, seed, extract_time)`, derived from the same seed, one debt at a time:
    extracted a day later, about 30 % of the credit facilities' balances moved, about 1 % repaid (absent) and about
    1 % new debts at the end."""
    rng = random.Random(seed + 900_000)
    when = (extract_time or datetime(2026, 6, 25, 5, 0, tzinfo=UTC)) + timedelta(days=1)
    for moved in debts(count, seed, extract_time):
        if rng.random() < 0.01:
            continue  # repaid: absent from the next day's snapshot
        moved.extract_time.FromDatetime(when)
        if rng.random() < 0.3 and moved.HasField("credit_facility"):
            moved.credit_facility.interest_bearing_balance.minor_units //= 2
        yield moved
    yield from debts(max(1, count // 100), seed + 500_000, when)
