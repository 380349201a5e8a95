"""The register is ready for Citus (docs/production-layout.md): every key of a distributed table holds the
distribution column (the debtor's blind index), and every statement ingest runs on a distributed table filters or
joins on it, unless it is one of the few deliberate multi-shard statements named below.

Citus itself is not installable here (no package for it in Debian's or PyPI's registries): these tests read the
catalog and the SQL ingest really executes on a real PostgreSQL, not a Citus cluster's plans.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
import sqlglot
from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2
from gjeld.type.v1 import identity_pb2
from gjeld_ingest.adapters import staging_slots
from gjeld_ingest.distribution import DISTRIBUTED, DISTRIBUTION_COLUMN, LOCAL, REFERENCE
from gjeld_tools import synthetic
from gjeld_tools.testing import (
    BANK,
    LENDER,
    PERSON,
    Registry,
    deliver_snapshot,
    demo_changes,
    eventually,
    report_demo,
)
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool
from sqlglot import exp

pb = ingest_service_pb2
DISTRIBUTED_NAMES = {table.name for table in DISTRIBUTED}
# A delivery's own records on their way in (its staging slot): each statement reads them whole, on every shard at once
# (a delivery's debtors live on all of them), and the slot is the delivery's alone (gjeld_ingest.staging). What must
# hold is that every other distributed table a statement joins with them is joined on the debtor, which the check of
# that table requires.
STAGING = {table.name for table in staging_slots}

# Statements that touch a distributed table without naming a debtor, on purpose: each runs on every shard (Citus
# runs such a statement on all shards in parallel, as one distributed transaction), and is acceptable because it is
# per institution or housekeeping, not per person, and rare beside the lookups and the merges. A fragment of each, as
# ingest sends it (whitespace collapsed), with why.
MULTI_SHARD = {
    # An institution reads back its own debts, a page at a time (keyset on the primary key, which each shard probes
    # with the institution's prefix; Citus merges the shards' ordered pages).
    "FROM ingest.debts WHERE ingest.debts.creditor = $1::VARCHAR ORDER BY ingest.debts.account_id",
    # An institution's expired tombstones, forgotten at each of its deliveries (index on creditor, expire_time).
    "DELETE FROM ingest.tombstones WHERE creditor = $1 AND expire_time < now()",
    # Institutions behind on their snapshots: an operator's report, a count per institution over the register.
    "count(*) AS debt_count",
    # An institution answers a correction request by its id, which names no debtor: a primary-key probe per shard,
    # unlocked; the row is then locked and changed under its debtor (CorrectionStore.get_for_update).
    "SELECT ingest.correction_requests.debtor_index FROM ingest.correction_requests WHERE "
    "ingest.correction_requests.id = $1::UUID",
    # An institution's feed of correction events (on the coordinator) joined with the requests it names, by id: a
    # feed spans many persons.
    "JOIN ingest.correction_requests ON ingest.correction_requests.id = ingest.correction_events.correction_id",
    # Reminders: due requests across all persons (housekeeping, unlocked; each then locked under its debtor).
    "SELECT ingest.correction_requests.owner, ingest.correction_requests.id, ingest.correction_requests.debtor_index",
    # A handover moves an institution's debts (or the named accounts) to another: a portfolio sale, rare.
    "UPDATE ingest.debts d SET creditor = $",
    # At start, the service refuses stored hashes of another index key (one row looked for per table).
    "get_byte(",
    # Overdue requests, for operators: across all persons, by deadline.
    "ingest.correction_requests.due_time < $1",
    # Retention: resolved correction requests (and their events) forgotten after their time, in batches.
    "ingest.correction_requests.resolve_time < $1",
    # Retention: tombstones past their time, across institutions, in batches (each batch chosen by a subquery on the
    # same table: the outer delete matches it by the whole primary key, but the subquery itself names no debtor).
    "FROM ingest.tombstones WHERE ingest.tombstones.expire_time < $1",
    # A delivery lands the fixes its institution's corrections were waiting for (DOM-14): that institution's
    # requests awaiting a fix, across persons; for a snapshot all of them (it carries every debt), for pushed changes
    # those whose debt it carries (the EXISTS names the debtor, but inside a subquery, so it routes nothing). Few rows.
    "UPDATE ingest.correction_requests c SET state = 'corrected'",
}


def collapse(sql: str) -> str:
    return re.sub(r"\s+", " ", sql).strip()


@pytest.fixture
async def executed(services: Callable[..., Awaitable[Registry]]) -> AsyncIterator[tuple[Registry, list[str]]]:
    """ingest alone, with every statement it sends to PostgreSQL recorded: those SQLAlchemy runs, and those the hot
    path runs on the driver itself (asyncpg's query logger, on each connection as the pool makes it)."""
    statements: list[str] = []

    def before_cursor_execute(connection: Any, cursor: Any, statement: str, *rest: Any) -> None:
        statements.append(statement)

    def logged(query: Any) -> None:
        statements.append(query.query)

    def on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.driver_connection.add_query_logger(logged)

    event.listen(Engine, "before_cursor_execute", before_cursor_execute)
    event.listen(Pool, "connect", on_connect)
    try:
        registry = await services("ingest")
        yield registry, statements
    finally:
        event.remove(Pool, "connect", on_connect)
        event.remove(Engine, "before_cursor_execute", before_cursor_execute)


def _conjuncts(condition: exp.Expression) -> list[exp.Expression]:
    """The terms of a condition that all must hold (its top-level ANDs, through parentheses): only an equality among
    them routes a statement (one under OR, NOT or a subquery does not)."""
    node = condition.unnest() if isinstance(condition, exp.Paren) else condition
    if isinstance(node, exp.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _is_distribution_column(operand: Any, alias: str) -> bool:
    while isinstance(operand, exp.Cast | exp.Paren):
        operand = operand.this
    return isinstance(operand, exp.Column) and operand.name == DISTRIBUTION_COLUMN and operand.table in (alias, "")


def _names_distribution_column(condition: exp.Expression, alias: str) -> bool:
    """Whether one of the terms `condition` requires is an equality (=, IN, = ANY) on `alias`'s distribution
    column."""
    for term in _conjuncts(condition):
        if isinstance(term, exp.EQ) and (
            _is_distribution_column(term.this, alias) or _is_distribution_column(term.expression, alias)
        ):
            return True
        if isinstance(term, exp.In) and _is_distribution_column(term.this, alias):
            return True
    return False


def _conditions(scope: exp.Expression) -> list[exp.Expression]:
    """The WHERE, the ONs and USINGs of the joins, and a MERGE's ON of one query (not of its subqueries: a condition
    in a subquery filters the subquery's rows, not the outer query's)."""
    found: list[exp.Expression] = []
    if scope.args.get("where") is not None:
        found.append(scope.args["where"].this)
    for join in scope.args.get("joins") or []:
        if join.args.get("on") is not None:
            found.append(join.args["on"])
        # JOIN ... USING (debtor_index): an equality on the column of both sides.
        found += [exp.EQ(this=exp.column(u.name), expression=exp.column(u.name)) for u in join.args.get("using") or []]
    if isinstance(scope, exp.Merge):
        found.append(scope.args["on"])
    return found


def unrouted(sql: str) -> list[str]:
    """The distributed tables (by alias) that the statement touches without an equality on their distribution
    column in a WHERE, ON or USING; an INSERT is routed by the distribution column among the columns it writes."""
    statement = sqlglot.parse_one(sql, read="postgres")
    missing = []
    for table in statement.find_all(exp.Table):
        if table.name not in DISTRIBUTED_NAMES - STAGING or table.db not in ("ingest", ""):
            continue
        parent = table.parent
        if isinstance(parent, exp.Schema) and isinstance(parent.parent, exp.Insert):
            if DISTRIBUTION_COLUMN in {c.name for c in parent.expressions}:
                continue
        alias = table.alias_or_name
        if isinstance(table.parent, exp.Insert | exp.Schema) and table.alias:
            alias = table.alias
        scope = table.find_ancestor(exp.Select, exp.Update, exp.Delete, exp.Merge) or statement
        if not any(_names_distribution_column(condition, alias) for condition in _conditions(scope)):
            missing.append(f"{table.name} {alias}")
    return missing


def touches_distributed(sql: str) -> bool:
    return any(re.search(rf"\bingest\.{name}\b", sql) for name in DISTRIBUTED_NAMES)


async def a_day_of_the_register(registry: Registry) -> None:
    """What the register does on a day, each hot statement at least once: a snapshot, pushed changes and closes, a
    second snapshot with a debt gone, a person's debts, read-back, corrections (asked, answered, landed, reminded)
    and a handover."""
    ingest = registry.ingest()
    bank = registry.as_institution(BANK)
    await deliver_snapshot(registry, BANK, [c.register for c in demo_changes()] + synthetic.portfolio(20, seed=5))
    await report_demo(registry, request_id="changes-1")
    changed = demo_changes()[0]
    changed.register.repayment_loan.balance.minor_units -= 100_000
    changed.register.extract_time.FromSeconds(changed.register.extract_time.seconds + 3600)
    close = ingest_pb2.DebtChange(
        close=ingest_pb2.DebtKey(account_id="CARD-7", debtor=identity_pb2.NationalIdentityNumber(value=PERSON))
    )
    await ingest.ReportDebtChanges(
        pb.ReportDebtChangesRequest(request_id="changes-2", changes=[changed, close]), metadata=bank
    )

    lookup = registry.as_service("lookup")
    subject = identity_pb2.NationalIdentityNumber(value=PERSON)
    debts = (await ingest.ListSubjectDebts(pb.ListSubjectDebtsRequest(subject=subject), metadata=lookup)).debts
    assert debts

    asked = []
    for debt in debts[:2]:
        request = pb.RequestCorrectionRequest(
            creditor=identity_pb2.OrganizationNumber(value=BANK), account_id=debt.account_id, reason="Feil saldo."
        )
        reply = await ingest.RequestCorrection(request, metadata=registry.as_subject(PERSON))
        asked.append(reply.correction_request)
    await ingest.ListOwnCorrectionRequests(pb.ListOwnCorrectionRequestsRequest(), metadata=registry.as_subject(PERSON))
    await ingest.ListCorrectionEvents(pb.ListCorrectionEventsRequest(), metadata=bank)
    await ingest.AnswerCorrectionRequest(
        pb.AnswerCorrectionRequestRequest(id=asked[0].id, corrected=pb.CorrectionMade(description="Rettet.")),
        metadata=bank,
    )
    await ingest.AnswerCorrectionRequest(
        pb.AnswerCorrectionRequestRequest(id=asked[1].id, rejected=pb.CorrectionRejected(reason="Riktig.")),
        metadata=bank,
    )
    await ingest.ListSubjectDebts(pb.ListSubjectDebtsRequest(subject=subject), metadata=lookup)

    # The next snapshot lacks one synthetic debt (deleted as absent) and lands the awaited fix.
    snapshot = [c.register for c in demo_changes()] + synthetic.portfolio(20, seed=5)[1:]
    await deliver_snapshot(registry, BANK, snapshot)
    await ingest.ReadCorrectionOutcomes(pb.ReadCorrectionOutcomesRequest(), metadata=lookup)

    await ingest.ListDebts(pb.ListDebtsRequest(page_size=5), metadata=bank)
    await ingest.ListDeliveries(pb.ListDeliveriesRequest(), metadata=bank)
    await ingest.ListStaleInstitutions(pb.ListStaleInstitutionsRequest(), metadata=registry.as_operator())
    await ingest.ListOverdueCorrectionRequests(
        pb.ListOverdueCorrectionRequestsRequest(), metadata=registry.as_operator()
    )

    # A reminder round (housekeeping) for a request due in three days, then a handover of the bank's debts.
    request = pb.RequestCorrectionRequest(
        creditor=identity_pb2.OrganizationNumber(value=BANK), account_id=debts[0].account_id, reason="Igjen feil."
    )
    due = (await ingest.RequestCorrection(request, metadata=registry.as_subject(PERSON))).correction_request
    await registry.fetch(
        f"UPDATE ingest.correction_requests SET due_time = now() + interval '3 days' WHERE id = '{due.id}'"
    )
    await registry.restart("ingest", correction_housekeeping_interval_seconds=0.05)

    async def reminded() -> bool:
        events = (await ingest.ListCorrectionEvents(pb.ListCorrectionEventsRequest(), metadata=bank)).events
        return any(e.type == ingest_pb2.CORRECTION_EVENT_TYPE_REMINDER for e in events)

    await eventually(reminded)
    proposed = await ingest.ProposeHandover(
        pb.ProposeHandoverRequest(receiver=identity_pb2.OrganizationNumber(value=LENDER), request_id="h-1"),
        metadata=bank,
    )
    await ingest.AcceptHandover(
        pb.AcceptHandoverRequest(id=proposed.handover.id), metadata=registry.as_institution(LENDER)
    )


async def test_every_statement_on_a_distributed_table_filters_or_joins_on_the_debtor(
    executed: tuple[Registry, list[str]],
) -> None:
    registry, statements = executed
    await a_day_of_the_register(registry)

    seen = {collapse(sql) for sql in statements if touches_distributed(sql)}
    allowed_seen: set[str] = set()
    offending = {}
    for sql in sorted(seen):
        allowed = [fragment for fragment in MULTI_SHARD if fragment in sql]
        if allowed:
            allowed_seen.update(allowed)
            continue
        if missing := unrouted(sql):
            offending[sql] = missing
    assert offending == {}, "\n".join(f"{sql}\n  -> {missing}" for sql, missing in offending.items())
    # The day ran every hot statement (none of the checks above passed for want of statements) ...
    hot = ["MERGE INTO ingest.debts", "DELETE FROM ingest.debts d USING ingest.staged_records_", "WITH held AS"]
    hot += ["WHERE ingest.debts.debtor_index = $1", "INSERT INTO ingest.correction_requests"]
    hot += ["UPDATE ingest.correction_requests c SET state = 'corrected'", "UPDATE ingest.correction_requests SET"]
    assert [h for h in hot if not any(h in sql for sql in seen)] == []
    # ... and every deliberate multi-shard statement is still one ingest runs (none is excused for nothing).
    assert set(MULTI_SHARD) - allowed_seen == set()


def test_the_check_sees_a_statement_without_the_debtor() -> None:
    # The parser's side of the check, on statements of the kinds ingest runs.
    assert unrouted("SELECT * FROM ingest.debts WHERE ingest.debts.creditor = $1") == ["debts debts"]
    assert unrouted("SELECT * FROM ingest.debts WHERE ingest.debts.debtor_index = $1") == []
    assert unrouted("DELETE FROM ingest.debts d USING s WHERE d.account_id = s.account_id") == ["debts d"]
    merge = "MERGE INTO ingest.debts d USING s ON d.debtor_index = s.debtor_index WHEN MATCHED THEN DELETE"
    assert unrouted(merge) == []
    assert unrouted("SELECT * FROM s JOIN ingest.tombstones t USING (creditor, account_id, debtor_index)") == []
    assert unrouted("INSERT INTO ingest.tombstones (creditor, debtor_index) VALUES ($1, $2)") == []
    assert unrouted("INSERT INTO ingest.tombstones (creditor) VALUES ($1)") == ["tombstones tombstones"]


async def test_every_key_of_a_distributed_table_holds_the_distribution_column(database: str, postgres: str) -> None:
    connection = await asyncpg.connect(host=postgres, user="postgres", database=database)
    try:
        tables = {
            r["relname"]
            for r in await connection.fetch(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'ingest' AND c.relkind IN ('r', 'p') AND c.relname <> 'alembic_version'"
            )
        }
        layout = [t.name for t in (*DISTRIBUTED, *REFERENCE, *LOCAL)]
        # Every table of ingest is placed, once: a new table must be placed on purpose.
        assert sorted(layout) == sorted(tables) and len(set(layout)) == len(layout)

        keys = await connection.fetch(
            """
            SELECT t.relname AS table_name, i.relname AS index_name,
                   array(SELECT a.attname FROM unnest(x.indkey) k JOIN pg_attribute a
                         ON a.attrelid = x.indrelid AND a.attnum = k) AS columns
            FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            WHERE n.nspname = 'ingest' AND x.indisunique AND t.relname = ANY($1::text[])
            """,
            sorted(DISTRIBUTED_NAMES),
        )
        # Each has its primary key at least, but the staging table (no key: see migration 0009).
        assert {r["table_name"] for r in keys} == DISTRIBUTED_NAMES - STAGING
        assert [r["index_name"] for r in keys if DISTRIBUTION_COLUMN not in r["columns"]] == []

        # Foreign keys: from a distributed table only to a reference table, or to a distributed one through the
        # distribution column on both sides (Citus refuses one to a table left on the coordinator).
        foreign = await connection.fetch(
            """
            SELECT c.conname, s.relname AS source, t.relname AS target,
                   array(SELECT a.attname FROM unnest(c.conkey) k JOIN pg_attribute a
                         ON a.attrelid = c.conrelid AND a.attnum = k) AS columns
            FROM pg_constraint c JOIN pg_class s ON s.oid = c.conrelid JOIN pg_class t ON t.oid = c.confrelid
            JOIN pg_namespace n ON n.oid = s.relnamespace WHERE n.nspname = 'ingest' AND c.contype = 'f'
            """
        )
        reference = {t.name for t in REFERENCE}
        for key in foreign:
            if key["source"] in DISTRIBUTED_NAMES:
                assert key["target"] in reference or (
                    key["target"] in DISTRIBUTED_NAMES and DISTRIBUTION_COLUMN in key["columns"]
                ), key["conname"]
    finally:
        await connection.close()


def test_the_layout_reads_as_the_statements_an_operator_runs() -> None:
    from gjeld_ingest.distribution import citus_statements

    statements = citus_statements()
    assert statements[0] == "SELECT create_distributed_table('ingest.debts', 'debtor_index')"
    assert all("colocate_with => 'ingest.debts'" in s for s in statements[1 : len(DISTRIBUTED)])
    assert statements[len(DISTRIBUTED) :] == [f"SELECT create_reference_table('{t.fullname}')" for t in REFERENCE]
