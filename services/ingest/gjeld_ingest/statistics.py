"""Debt statistics for the public (issue 17): how many persons have unsecured debt, how many debts of each type, the
total balance and credit limits, nationally, by age group and sex, and by county, counted once a day and kept over
time.

The register keeps no history (DOM-7), so the figures are made when the data is there: once a day, from one
consistent snapshot of the register (a repeatable-read transaction), each person's age and sex from their identity
number on the day counted, and their county from the municipality the population register says they live in
(residences.py). What is kept holds no personal data: cells of persons, never a person. Every published cell
counts at least k persons (`statistics_k`, 10 by default); a smaller one is suppressed, and so are more cells (the
smallest first: complementary suppression) until what the suppressed cells hold together, which the national total
less the published cells gives away, tells nothing of any one of them (see `suppress`). Each table is a partition of
the national total (the only aggregate published over it), so no difference of published figures singles out fewer
than k persons: two tables share no cell, and no union of one table's cells but the whole is one of the other's. Every
table lists all its cells, empty ones too (suppressed, as under k), so that a suppressed cell may be empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

from gjeld_shared import counties, identity_numbers

# The published tables: the nation as one cell, persons by age group and sex together (no margins of their own: a
# margin beside a suppressed cell would give it away by subtraction), and persons by the county they live in (its
# number, gjeld_shared.counties; "unknown" for those living abroad, on Svalbard, or not known to the population
# register).
NATIONAL = "national"
AGE_AND_SEX = "age_and_sex"
COUNTY = "county"
TABLES = (NATIONAL, AGE_AND_SEX, COUNTY)
ALL = "all"
UNKNOWN = "unknown"
# Age groups as the Norwegian registry publishes them; a debtor under 18 (rare: a guardian's consent) is counted
# with the youngest.
AGE_GROUPS = ((0, 24, "18-24"), (25, 34, "25-34"), (35, 44, "35-44"), (45, 54, "45-54"), (55, 64, "55-64"))
OLDEST = "65+"
SEXES = ("female", "male")  # identity_numbers.sex
# Every cell of each table, whether anyone is counted in it or not.
CELLS = {
    NATIONAL: (ALL,),
    AGE_AND_SEX: tuple(f"{group}/{sex}" for group in (*(g for _, _, g in AGE_GROUPS), OLDEST) for sex in SEXES),
    COUNTY: (*counties.COUNTIES, UNKNOWN),
}


def age_group(age: int) -> str:
    for low, high, name in AGE_GROUPS:
        if low <= age <= high:
            return name
    return OLDEST


@dataclass
class Figures:
    """What a cell counts: persons with unsecured debt, their debts of each type, the balance (øre: what is owed,
    interest-bearing or not) and the credit limits granted."""

    persons: int = 0
    repayment_loans: int = 0
    credit_facilities: int = 0
    charge_cards: int = 0
    balance: int = 0
    credit_limit: int = 0

    def add(self, other: Figures) -> None:
        self.persons += other.persons
        self.repayment_loans += other.repayment_loans
        self.credit_facilities += other.credit_facilities
        self.charge_cards += other.charge_cards
        self.balance += other.balance
        self.credit_limit += other.credit_limit


@dataclass(frozen=True)
class Debtor:
    """One person's debts as counted (their figures with persons = 1), their identity number, read once, and the
    municipality they live in (None: no residence in Norway known)."""

    identity_number: str
    figures: Figures
    municipality: str | None = None


@dataclass
class Count:
    """One day's count, cell by cell of each table, before suppression; by county only when asked (where the
    population register is read)."""

    day: date
    by_county: bool = True
    tables: dict[str, dict[str, Figures]] = field(init=False)

    def __post_init__(self) -> None:
        self.tables = {t: {c: Figures() for c in CELLS[t]} for t in TABLES if t != COUNTY or self.by_county}

    def add(self, debtor: Debtor) -> None:
        number = debtor.identity_number
        cells = {
            NATIONAL: ALL,
            AGE_AND_SEX: f"{age_group(identity_numbers.age(number, self.day))}/{identity_numbers.sex(number)}",
            # Abroad, on Svalbard (no county), or not known to the register: unknown.
            COUNTY: counties.county(debtor.municipality) or UNKNOWN,
        }
        for table, cells_of_table in self.tables.items():
            cells_of_table[cells[table]].add(debtor.figures)


def count(day: date, debtors: Iterable[Debtor], by_county: bool = True) -> Count:
    counted = Count(day, by_county)
    for debtor in debtors:
        counted.add(debtor)
    return counted


def suppress(cells: Mapping[str, Figures], k: int) -> dict[str, Figures | None]:
    """The cells as published: each counting fewer than k persons suppressed (None), and then the smallest others
    too, one by one, until what the suppressed cells hold together (the national total less the published cells)
    both counts at least k persons and gives no suppressed cell a lower bound.

    A reader who knows this rule knows that no suppressed cell is larger than the smallest published one (a complement
    is taken smallest first; a cell under k is smaller still): so any n - 1 suppressed cells hold at most n - 1 times
    that cell, and the one left at least the rest. The cells are suppressed until that rest is nothing: each may then
    be empty, or as large as the smallest published cell, and none is recovered by subtraction. (Stopping at k gave
    cells away: of cells of 37, 37 and 9 persons, k = 10, it published one 37 and hid the others; they hold 46, neither
    more than 37 and one under 10, so they are 37 and 9.)"""
    hidden = {cell for cell, figures in cells.items() if figures.persons < k}
    shown = sorted((figures.persons, cell) for cell, figures in cells.items() if cell not in hidden)
    while hidden and shown:  # with nothing published, the table's total is all a reader has
        together = sum(cells[c].persons for c in hidden)
        if together >= k and together <= (len(hidden) - 1) * shown[0][0]:
            break
        hidden.add(shown.pop(0)[1])
    return {cell: (None if cell in hidden else figures) for cell, figures in cells.items()}


def published(counted: Count, k: int) -> dict[str, dict[str, Figures | None]]:
    """Every table of a day's count as published: the national total is a table of one cell, suppressed when the
    nation counts fewer than k persons (a test register)."""
    return {table: suppress(cells, k) for table, cells in counted.tables.items()}
