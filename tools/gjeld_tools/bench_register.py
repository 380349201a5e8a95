"""`python -m gjeld_tools.bench_register`: what one debt costs the register's server, for sizing it
(docs/production-layout.md).

Fills `ingest.debts` (the migrated schema, its indexes and fillfactor) with synthetic debts in the live mix (88 %
credit facilities, 11 % repayment loans, 1 % charge cards; about 2.2 debts per person; 200 institutions) straight in
SQL, with values of the real sizes (a 33-byte blind index, a 40-byte ciphertext), then prints:

- bytes per debt: heap, indexes and the whole relation (pg_total_relation_size), and that scaled to a nation;
- a person's lookup (the statement every lookup runs, `adapters.OF_SUBJECT`): its latency over many persons, and
  the pages it touches (EXPLAIN ANALYZE BUFFERS), so that how much memory keeps lookups off the disk can be read.

How fast the real ingest path takes rows in is `bench_ingest`'s to tell; this is about space and reads.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg
from gjeld_ingest.adapters import OF_SUBJECT
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect

from . import devstack

DATABASE = "bench_register"
NATIONAL_DEBTS = 7_100_000
DEBTS_PER_PERSON = 2.2

FILL = """
INSERT INTO ingest.debts (creditor, account_id, debtor_index, debtor_encrypted, debt_type, co_borrower_role,
    original_balance, balance, remaining_term_months, credit_limit, interest_bearing_balance,
    non_interest_bearing_balance, nominal_interest_rate_bp, effective_interest_rate_bp, installment_charges,
    installment_charge_period, extract_time, confirm_time, register_time, write_time)
SELECT lpad((900000000 + i % 200)::text, 9, '0'),
       'ACC-' || i,
       '\\x01'::bytea || sha256(int8send(i / $2)),
       substring(sha256(int8send(i)) || sha256(int8send(-i)) FROM 1 FOR 40),
       CASE WHEN i % 100 < 88 THEN 'credit_facility' WHEN i % 100 < 99 THEN 'repayment_loan' ELSE 'charge_card' END,
       'none',
       CASE WHEN i % 100 BETWEEN 88 AND 98 THEN 50000000 + i % 1000000 END,
       CASE WHEN i % 100 BETWEEN 88 AND 98 THEN 30000000 + i % 1000000 END,
       CASE WHEN i % 100 BETWEEN 88 AND 98 THEN 120 + i % 240 END,
       CASE WHEN i % 100 < 88 THEN 5000000 + i % 100000 END,
       CASE WHEN i % 100 < 88 OR i % 100 = 99 THEN 1000000 + i % 100000 END,
       CASE WHEN i % 100 < 88 OR i % 100 = 99 THEN i % 100000 END,
       CASE WHEN i % 100 < 99 THEN 1020 + i % 1000 END,
       CASE WHEN i % 100 < 99 THEN 1120 + i % 1000 END,
       CASE WHEN i % 100 < 99 THEN 4500 END,
       CASE WHEN i % 100 < 99 THEN 'monthly' END,
       now(), now(), now(), now()
FROM generate_series(0, $1 - 1) AS i
"""


async def measure(socket: str, debts: int, lookups: int) -> dict[str, float]:
    connection = await asyncpg.connect(host=socket, user="postgres", database=DATABASE)
    figures: dict[str, float] = {}
    try:
        step = int(DEBTS_PER_PERSON * 10)  # i / (2.2 * 10) * 10: persons of about 2.2 debts each
        started = time.perf_counter()
        await connection.execute(FILL.replace("i / $2", f"(i * 10 / {step})"), debts)
        figures["fill_seconds"] = time.perf_counter() - started
        await connection.execute("VACUUM ANALYZE ingest.debts")
        row = await connection.fetchrow(
            "SELECT pg_relation_size('ingest.debts') AS heap, pg_indexes_size('ingest.debts') AS indexes,"
            " pg_total_relation_size('ingest.debts') AS total, count(DISTINCT debtor_index) AS persons"
            " FROM ingest.debts"
        )
        figures.update({k: float(row[k]) for k in ("heap", "indexes", "total", "persons")})
        for index in await connection.fetch(
            "SELECT indexrelname, pg_relation_size(indexrelid) AS size FROM pg_stat_user_indexes"
            " WHERE schemaname = 'ingest' AND relname = 'debts'"
        ):
            figures[f"index {index['indexrelname']}"] = float(index["size"])

        compiled = OF_SUBJECT.params(debtor_index=b"").compile(
            dialect=asyncpg_dialect.dialect(),  # type: ignore[no-untyped-call]
            compile_kwargs={"render_postcompile": True},
        )
        sql, order, values = str(compiled), list(compiled.positiontup or []), compiled.params
        persons = [
            r["debtor_index"]
            for r in await connection.fetch(
                "SELECT DISTINCT debtor_index FROM ingest.debts TABLESAMPLE SYSTEM (1) LIMIT $1", lookups
            )
        ]
        random.Random(1).shuffle(persons)

        def arguments(person: bytes) -> list[object]:
            return [person if name == "debtor_index" else values[name] for name in order]

        statement = await connection.prepare(sql)
        for person in persons[:50]:  # warm the cache and the plan, as a running service is
            await statement.fetch(*arguments(person))
        timings = []
        for person in persons:
            started = time.perf_counter()
            await statement.fetch(*arguments(person))
            timings.append(time.perf_counter() - started)
        timings.sort()
        figures["lookup_ms_median"] = statistics.median(timings) * 1000
        figures["lookup_ms_p99"] = timings[int(len(timings) * 0.99) - 1] * 1000
        plan = await connection.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *arguments(persons[0]))
        top = json.loads(plan)[0]["Plan"]
        figures["lookup_pages"] = float(top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0))
        figures["lookup_rows"] = float(top.get("Actual Rows", 0))
    finally:
        await connection.close()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debts", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=2000)
    args = parser.parse_args()
    pgdata = Path(tempfile.mkdtemp(prefix="gjeld-bench-register-"))
    server = devstack.start_postgres(pgdata)
    try:
        socket = devstack.socket_dir(server)
        asyncio.run(devstack.provision(socket, DATABASE))
        devstack.migrate(socket, DATABASE)
        f = asyncio.run(measure(socket, args.debts, args.lookups))
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)
    n = args.debts
    print(
        f"debts={n:,} persons={int(f['persons']):,}"
        f" (filled in {f['fill_seconds']:.1f} s, {n / f['fill_seconds']:,.0f} rows/s in SQL)"
    )
    for name in ("heap", "indexes", "total"):
        print(f"  {name:<40} {f[name] / 2**20:10.1f} MiB {f[name] / n:8.1f} bytes/debt")
    for name, value in f.items():
        if name.startswith("index "):
            print(f"    {name:<38} {value / 2**20:10.1f} MiB {value / n:8.1f} bytes/debt")
    scale = NATIONAL_DEBTS / n
    print(f"  at {NATIONAL_DEBTS:,} debts (Norway): total {f['total'] * scale / 2**30:.2f} GiB")
    print(
        f"a person's debts (OF_SUBJECT, {args.lookups} persons, warm cache): median {f['lookup_ms_median']:.3f} ms,"
        f" p99 {f['lookup_ms_p99']:.3f} ms; {f['lookup_pages']:.0f} pages touched for {f['lookup_rows']:.0f} rows"
    )
    print(f"bytes_per_debt={f['total'] / n:.1f}")


if __name__ == "__main__":
    main()
