"""Debt statistics without personal data (issue 17): every published cell counts at least k persons, and so does what
the suppressed cells of a table hold together (the national total less the published cells); the national figures
are the register's at the moment counted; age and sex come from the identity number on the day counted, the county
from the population register (here the sandbox population, and the register's own API over real HTTP)."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta

import grpc
import pytest
from gjeld.ingest.v1 import ingest_service_pb2 as pb
from gjeld_ingest import statistics
from gjeld_ingest.statistics import AGE_AND_SEX, ALL, COUNTY, NATIONAL, TABLES, UNKNOWN, Figures, suppress
from gjeld_shared import counties, errors, identity_numbers
from gjeld_shared.callers import SCOPE_STATISTICS
from gjeld_shared.db import exclusive
from gjeld_shared.providers import ProviderRefused
from gjeld_shared.sandbox import sandbox_person
from gjeld_tools import synthetic
from gjeld_tools.testing import BANK, LENDER, Registry, debt_statistics, deliver_snapshot, service_engine
from hypothesis import given
from hypothesis import strategies as st

K = 10
DAY = date(2026, 12, 2)


def persons(published: Mapping[str, Figures | None], cells: Mapping[str, Figures]) -> tuple[list[int], int]:
    """The published cells' persons, and what the suppressed ones hold together."""
    shown = [f.persons for f in published.values() if f is not None]
    hidden = sum(cells[c].persons for c, f in published.items() if f is None)
    return shown, hidden


@given(st.dictionaries(st.text(min_size=1, max_size=3), st.integers(min_value=0, max_value=60), max_size=16))
def test_no_published_figure_nor_difference_counts_fewer_than_k_persons(sizes: dict[str, int]) -> None:
    cells = {cell: Figures(persons=n) for cell, n in sizes.items()}
    published = suppress(cells, K)
    shown, hidden = persons(published, cells)
    assert all(n >= K for n in shown)
    # The table's total (published when it counts at least k) less its published cells: none, or at least k.
    assert hidden == 0 or hidden >= K or not shown


@pytest.mark.parametrize(("size", "largest", "k"), [(3, 30, K), (4, 14, 5)])
def test_no_suppressed_cell_is_recovered_by_a_reader_who_knows_the_rule(size: int, largest: int, k: int) -> None:
    # The strongest reader: they know the rule, the cells, the published figures and the national total, and so every
    # table that would have been published as this one was. Over every table of `size` cells of 0 to `largest`
    # persons, each suppressed cell can still be more than one thing, whenever the national total is published.
    # Breaking it (stopping complementary suppression once the suppressed cells hold k) recovers cells here: 37, 37
    # and 9 published as 37, –, – tell the 9.
    names = [f"cell {i}" for i in range(size)]
    could_be: dict[tuple[object, ...], dict[str, set[int]]] = {}
    for sizes in itertools.product(range(largest + 1), repeat=size):
        if sum(sizes) < k:
            continue  # the national total itself is suppressed
        published = suppress({name: Figures(persons=n) for name, n in zip(names, sizes, strict=True)}, k)
        seen = (sum(sizes), *((name, f.persons if f else None) for name, f in published.items()))
        for name, n in zip(names, sizes, strict=True):
            if published[name] is None:
                could_be.setdefault(seen, {}).setdefault(name, set()).add(n)
    assert could_be  # something was suppressed
    recovered = [(seen, name) for seen, cells in could_be.items() for name, values in cells.items() if len(values) == 1]
    assert recovered == []


def test_a_lone_small_cell_takes_the_next_smallest_with_it() -> None:
    # Breaking the complementary suppression (only cells below k suppressed) publishes 40 and 12 of a nation of 55:
    # the 3 hidden are given away by subtraction.
    cells = {"a": Figures(persons=40), "b": Figures(persons=12), "c": Figures(persons=3)}
    assert suppress(cells, K) == {"a": cells["a"], "b": None, "c": None}


def test_age_and_sex_come_from_the_number_on_the_day_counted() -> None:
    number = identity_numbers.synthetic(date(1990, 12, 3), 123)  # a ninth digit of 3: male
    assert number is not None
    assert identity_numbers.birth_date(number) == date(1990, 12, 3) and identity_numbers.sex(number) == "male"
    assert identity_numbers.age(number, DAY) == 35 and identity_numbers.age(number, DAY.replace(day=3)) == 36
    counted = statistics.count(date(2026, 12, 2), [statistics.Debtor(number, Figures(persons=1))])
    assert [cell for cell, f in counted.tables[AGE_AND_SEX].items() if f.persons] == ["35-44/male"]


async def test_the_national_figures_are_the_registers_and_every_cell_counts_k_persons(registry: Registry) -> None:
    await deliver_snapshot(registry, BANK, synthetic.portfolio(700, seed=3))
    await deliver_snapshot(registry, LENDER, synthetic.portfolio(300, seed=4))
    async with debt_statistics(registry, K) as counting:
        tables = await counting.count(DAY)
        kept = await counting.published(NATIONAL, DAY, DAY)

    register = (
        await registry.fetch(
            """
            SELECT count(DISTINCT debtor_index) AS persons,
                   count(*) FILTER (WHERE debt_type = 'repayment_loan') AS repayment_loans,
                   count(*) FILTER (WHERE debt_type = 'credit_facility') AS credit_facilities,
                   count(*) FILTER (WHERE debt_type = 'charge_card') AS charge_cards,
                   sum(coalesce(balance, 0) + coalesce(interest_bearing_balance, 0)
                       + coalesce(non_interest_bearing_balance, 0)) AS balance,
                   sum(coalesce(credit_limit, 0)) AS credit_limit
            FROM ingest.debts
            """
        )
    )[0]
    national = tables[NATIONAL][ALL]
    assert national == Figures(**{name: int(register[name]) for name in register.keys()})
    assert [(row.cell, row.persons, row.balance) for row in kept] == [(ALL, national.persons, national.balance)]

    for table in (AGE_AND_SEX, COUNTY):
        # Every cell is listed, empty or not: were only those with someone in them listed, twelve suppressed cells of
        # a nation of twelve would be one person each.
        assert list(tables[table]) == list(statistics.CELLS[table]), table
        shown = [f for f in tables[table].values() if f is not None]
        assert shown and all(f.persons >= K for f in shown), table
        # The national total less the table's published cells (what its suppressed cells hold): none, or k persons.
        hidden = national.persons - sum(f.persons for f in shown)
        assert hidden == 0 or hidden >= K, table
    # The cells hold no personal data: what is kept is exactly the tables' cells and figures.
    columns = await registry.fetch(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'debt_statistics'"
    )
    assert {c["column_name"] for c in columns} == {"day", "table_name", "cell", "count_time", *statistics_fields()}


def statistics_fields() -> set[str]:
    return {"persons", "repayment_loans", "credit_facilities", "charge_cards", "balance", "credit_limit"}


async def test_a_day_is_counted_once_whichever_replica_asks(registry: Registry) -> None:
    await deliver_snapshot(registry, BANK, synthetic.portfolio(100, seed=5))
    engine = service_engine(registry.socket, "ingest", registry.database)
    try:
        async with exclusive(engine, f"gjeld:statistics:{DAY.isoformat()}") as held, debt_statistics(registry, K) as r:
            assert held  # another replica counts the day: this one does not
            assert not await r.count_daily(DAY)
            assert await registry.fetch("SELECT day FROM ingest.debt_statistics") == []
    finally:
        await engine.dispose()
    async with debt_statistics(registry, K) as counting:
        assert await counting.count_daily(DAY)
        first = await registry.fetch("SELECT count_time FROM ingest.debt_statistics WHERE cell = 'all'")
        assert await counting.count_daily(DAY)  # done already: not counted again
        again = await registry.fetch("SELECT count_time FROM ingest.debt_statistics WHERE cell = 'all'")
        assert first == again and len(first) == 1
    assert datetime.now(UTC) >= first[0]["count_time"]


async def test_the_statistics_are_served_to_the_scope_and_the_public_page_day_by_day(registry: Registry) -> None:
    await deliver_snapshot(registry, BANK, synthetic.portfolio(400, seed=6))
    async with debt_statistics(registry, K) as counting:
        await counting.count(DAY - timedelta(days=1))
        await deliver_snapshot(registry, LENDER, synthetic.portfolio(100, seed=7))
        await counting.count(DAY)

    ingest = registry.ingest()
    asked = pb.ListDebtStatisticsRequest(first_day="2026-11-01", last_day=DAY.isoformat())
    for caller in (registry.as_institution(LENDER, [SCOPE_STATISTICS]), registry.as_service("portal")):
        national = await ingest.ListDebtStatistics(asked, metadata=caller)
        assert national.k == K
        assert [d.day for d in national.days] == ["2026-12-01", "2026-12-02"]
        first, second = (d.cells[0] for d in national.days)
        assert first.cell == second.cell == ALL and second.persons > first.persons >= K  # over time
    by_age = await ingest.ListDebtStatistics(
        pb.ListDebtStatisticsRequest(table=pb.STATISTICS_TABLE_AGE_AND_SEX, last_day=DAY.isoformat()),
        metadata=registry.as_service("portal"),
    )
    cells = by_age.days[-1].cells
    assert all(c.persons >= K for c in cells if not c.suppressed)
    assert all(not c.persons and not c.HasField("balance") for c in cells if c.suppressed)
    hidden = national.days[-1].cells[0].persons - sum(c.persons for c in cells)
    assert hidden == 0 or hidden >= K

    # A lookup token is not a statistics scope; a bad day is named.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await ingest.ListDebtStatistics(asked, metadata=registry.as_institution(LENDER))
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # Each bad field named once, and only a field the caller gave (first_day alone ends today).
    for first_day, last_day, named in [
        ("20261101", "", ["first_day"]),
        ("2000-01-01", "2026-13-01", ["last_day"]),
        ("2026-12-02", "2026-12-01", ["last_day"]),
        ((datetime.now(UTC).date() + timedelta(days=2)).isoformat(), "", ["first_day"]),
    ]:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await ingest.ListDebtStatistics(
                pb.ListDebtStatisticsRequest(first_day=first_day, last_day=last_day),
                metadata=registry.as_service("portal"),
            )
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in errors.decode(refused.value).field_violations] == named, (first_day, last_day)


async def test_the_county_is_where_the_population_register_says_the_person_lives(registry: Registry) -> None:
    debts = synthetic.portfolio(900, seed=9)
    await deliver_snapshot(registry, BANK, debts)
    async with debt_statistics(registry, K) as counting:
        tables = await counting.count(DAY)

    # Counted here from the sandbox population itself: the persons of each county (the municipality's first two
    # digits), the debts of each county's persons.
    expected: dict[str, set[str]] = {}
    debts_of: dict[str, int] = {}
    for debt in debts:
        person = sandbox_person(debt.debtor.value)
        assert person is not None
        expected.setdefault(person.municipality[:2], set()).add(debt.debtor.value)
        debts_of[person.municipality[:2]] = debts_of.get(person.municipality[:2], 0) + 1
    published = tables[COUNTY]
    assert set(expected) <= set(published) and len(expected) > 3  # cells named by the county's number
    shown = {county: f for county, f in published.items() if f is not None}
    assert shown and {county: f.persons for county, f in shown.items()} == {c: len(expected.get(c, ())) for c in shown}
    assert all(f.repayment_loans + f.credit_facilities + f.charge_cards == debts_of[c] for c, f in shown.items())
    assert sum(len(people) for people in expected.values()) == tables[NATIONAL][ALL].persons


async def test_no_known_residence_is_unknown_no_transaction_waits_on_the_register_and_a_failure_keeps_nothing(
    registry: Registry,
) -> None:
    await deliver_snapshot(registry, BANK, synthetic.portfolio(300, seed=10))

    class Nowhere:
        """A population register that knows nobody (all emigrated, or none of them in it), and notes the state of
        the count's own database connection (the one that last read the counted debtors) while it is asked."""

        def __init__(self) -> None:
            self.count_while_asked: list[str] = []

        async def municipalities(self, numbers: list[str]) -> dict[str, str]:
            count = f"""
                SELECT state FROM pg_stat_activity WHERE datname = '{registry.database}'
                AND query LIKE '%counted_debtors%' AND pid <> pg_backend_pid()
            """
            self.count_while_asked += [row["state"] for row in await registry.fetch(count)]
            return {}

    class Down:
        async def municipalities(self, numbers: list[str]) -> dict[str, str]:
            raise ProviderRefused("the population register answered 503")

    nowhere = Nowhere()
    async with debt_statistics(registry, K, nowhere) as counting:
        tables = await counting.count(DAY)
    # Everyone in one cell ("unknown", as the partition test below shows), the fifteen counties empty: a table that
    # cannot be published but whole, which the national total already is.
    assert all(f is None for f in tables[COUNTY].values())
    # The count waits on the register with no transaction open (not "idle in transaction": holding a snapshot, and
    # vacuum's horizon, and ended by the database's idle-in-transaction bound).
    assert nowhere.count_while_asked == ["idle"]
    # No population register set (production's default): no county table at all.
    async with debt_statistics(registry, K, None) as counting:
        assert set(await counting.count(DAY)) == {NATIONAL, AGE_AND_SEX}
        assert await counting.published(COUNTY, DAY, DAY) == []

    later = DAY + timedelta(days=1)
    async with debt_statistics(registry, K, Down()) as counting:
        with pytest.raises(ProviderRefused):
            await counting.count_daily(later)
    kept = "SELECT DISTINCT day FROM ingest.debt_statistics ORDER BY day"
    assert [row["day"] for row in await registry.fetch(kept)] == [DAY]  # nothing of the day kept
    # Every replica waits a while before asking the register about everyone again; then, with it back, counts.
    async with debt_statistics(registry, K) as counting:
        assert not await counting.count_daily(later)
        counting.RETRY_AFTER = timedelta(0)
        assert await counting.count_daily(later)
    assert [row["day"] for row in await registry.fetch(kept)] == [DAY, later]


@given(
    st.lists(
        st.tuples(
            st.sampled_from([date(2000, 1, 5), date(1990, 6, 1), date(1970, 3, 9), date(1950, 11, 30)]),
            st.integers(min_value=0, max_value=499),
            # Oslo, Vestland, Trøndelag; Svalbard (no county), a municipality from before 2024, none: unknown.
            st.sampled_from(["0301", "4601", "5001", "2100", "5401", None]),
        ),
        max_size=120,
    )
)
def test_every_table_is_a_partition_of_the_national_total_with_k_persons_in_each_remainder(
    people: list[tuple[date, int, str | None]],
) -> None:
    # The only figure two tables share is the national total: each table's published cells and its suppressed
    # remainder add up to it, so a difference between two tables' figures is a union of one table's cells.
    debtors = []
    for born, individual, municipality in people:
        number = identity_numbers.synthetic(born, individual + (500 if born.year >= 2000 else 0))  # the century's
        if number is not None:
            debtors.append(statistics.Debtor(number, Figures(persons=1, charge_cards=1), municipality))
    counted = statistics.count(DAY, debtors)
    living = {cell: f.persons for cell, f in counted.tables[COUNTY].items() if f.persons}
    assert set(living) <= {"03", "46", "50", UNKNOWN}
    nowhere = sum(1 for d in debtors if d.municipality in ("2100", "5401", None))
    assert counted.tables[COUNTY][UNKNOWN].persons == nowhere
    published = statistics.published(counted, K)
    assert set(published) == set(TABLES)
    for table in TABLES:
        shown, hidden = persons(published[table], counted.tables[table])
        assert sum(shown) + hidden == len(debtors)
        assert all(n >= K for n in shown) and (hidden == 0 or hidden >= K or not shown)


def test_a_county_is_the_municipality_numbers_first_two_digits_where_that_is_a_county_today() -> None:
    assert [counties.county(m) for m in ("0301", "4601", "5501", "1508")] == ["03", "46", "55", "15"]
    # Svalbard (no county), a number from before the 2024 reform (Troms og Finnmark), malformed, none.
    assert [counties.county(m) for m in ("2100", "5401", "301", "03x1", "", None)] == [None] * 6


async def test_after_a_failed_count_every_replica_waits_before_asking_the_register_again(registry: Registry) -> None:
    await deliver_snapshot(registry, BANK, synthetic.portfolio(50, seed=11))

    class Down:
        asked = 0

        async def municipalities(self, numbers: list[str]) -> dict[str, str]:
            Down.asked += 1
            raise ProviderRefused("the population register answered 503")

    stopping = asyncio.Event()
    async with debt_statistics(registry, K, Down()) as counting:
        # Looking every 50 ms from midnight on: without the wait, about ten tries in half a second, each asking the
        # register about every debtor again.
        rounds = asyncio.create_task(counting.run_daily(stopping, time(0, 0), interval=0.05))
        await asyncio.sleep(0.5)
        stopping.set()
        await rounds
    assert Down.asked == 1
    # And so does another replica: the failure is noted in the database.
    async with debt_statistics(registry, K, Down()) as replica:
        assert not await replica.count_daily(datetime.now(UTC).date())
    assert Down.asked == 1
