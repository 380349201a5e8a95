"""`make bench-ingest`: how fast the registry takes in the national volume, against this machine's raw limit.

A synthetic national dataset (the live mix: 88 % credit facilities, 11 % repayment loans, 1 % charge cards,
about 2.2 debts per person, valid synthetic identity numbers) is spread over institutions of Zipf-like size
and applied twice, as two days' full snapshots (day 2: balances moved, some debts repaid, some new):

- **gRPC path**: each institution streams its snapshot to a real `ingest` process (validation, keyed
  hashing and encryption of identity numbers, staging, one merging transaction per institution);
- **raw limit**: the same rows with the same effect (replace the institution's data) straight into
  PostgreSQL with asyncpg: COPY into a staging table and the same merge statements; no gRPC, no
  validation, identity numbers hashed and encrypted beforehand, outside the clock.

Pushed changes (deliveries of 1,000 changes) are measured the same way. Both paths run in this one run on
this one machine, from the same starting state; the last line is the gRPC path's daily-snapshot rate over
the raw limit's, as `ratio=<value>`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import grpc
from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2
from gjeld_ingest import convert, staging
from gjeld_shared.errors import Violations
from gjeld_shared.identity_numbers import SubjectKeys, load_subject_keys

from . import devstack, synthetic
from .connect import secure_channel

NATIONAL_DEBTS = 7_100_000
PER_MESSAGE = 1000
DATABASE = "bench"
SNAPSHOT_METHOD = "/gjeld.ingest.v1.IngestService/DeliverSnapshot"
CHANGES_METHOD = "/gjeld.ingest.v1.IngestService/ReportDebtChanges"


@dataclass
class Institution:
    number: str
    day1: list[ingest_pb2.Debt]
    day2: list[ingest_pb2.Debt]


def institutions(total: int, count: int, seed: int) -> list[Institution]:
    weights = [1 / rank for rank in range(1, count + 1)]
    scale = total / sum(weights)
    rng = random.Random(seed)
    found = []
    for rank, weight in enumerate(weights):
        size = max(1, round(weight * scale))
        day1 = synthetic.portfolio(size, seed=seed * 1000 + rank)
        day2 = []
        for debt in day1:
            if rng.random() < 0.01:
                continue  # repaid: absent from day 2
            moved = ingest_pb2.Debt()
            moved.CopyFrom(debt)
            moved.extract_time.FromSeconds(debt.extract_time.seconds + 86_400)
            if rng.random() < 0.3 and moved.HasField("credit_facility"):
                moved.credit_facility.interest_bearing_balance.minor_units //= 2
            day2.append(moved)
        day2.extend(synthetic.portfolio(max(1, size // 100), seed=seed * 1000 + rank + 500_000))
        found.append(Institution(f"9{rank:08d}", day1, day2))
    return found


def snapshot_messages(debts: Sequence[ingest_pb2.Debt], request_id: str) -> list[bytes]:
    messages = []
    for start in range(0, max(len(debts), 1), PER_MESSAGE):
        message = ingest_service_pb2.DeliverSnapshotRequest(debts=debts[start : start + PER_MESSAGE])
        if start == 0:
            message.request_id = request_id
            message.extract_time.CopyFrom(debts[0].extract_time)
        messages.append(message.SerializeToString())
    return messages


def change_messages(debts: Sequence[ingest_pb2.Debt], request_id: str) -> list[bytes]:
    return [
        ingest_service_pb2.ReportDebtChangesRequest(
            request_id=f"{request_id}-{start}",
            changes=[ingest_pb2.DebtChange(register=d) for d in debts[start : start + PER_MESSAGE]],
        ).SerializeToString()
        for start in range(0, len(debts), PER_MESSAGE)
    ]


def staged_rows(debts: Sequence[ingest_pb2.Debt], keys: SubjectKeys) -> list[tuple[Any, ...]]:
    """The rows the raw path copies: converted and protected beforehand, outside the clock."""
    rows = []
    known: dict[str, tuple[bytes, bytes]] = {}
    reading = convert.Reading(datetime.now(UTC))
    for position, message in enumerate(debts):
        debt = convert.debt_from_proto(message, "", Violations(), reading)
        assert debt is not None
        if debt.debtor not in known:
            known[debt.debtor] = (keys.blind_index(debt.debtor), keys.encrypt(debt.debtor))
        rows.append(staging.staged_debt(position, debt, *known[debt.debtor]))
    return rows


async def raw_apply(socket: str, creditor: str, rows: Sequence[tuple[Any, ...]], kind: Any) -> None:
    """The raw limit: the same merge, with none of the registry's work around it."""
    connection = await asyncpg.connect(host=socket, user=devstack.role("ingest"), database=DATABASE)
    try:
        async with connection.transaction():
            stage = staging.Staging(connection)
            await stage.create()
            await stage.add(rows)
            if len(rows) >= 5000:
                await stage.analyze()
            await stage.merge(creditor, kind, datetime.now(UTC), timedelta(days=7))
    finally:
        await connection.close()


def peak_memory_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def institution_channel(address: str, folder: devstack.DataFolder, number: str) -> grpc.aio.Channel:
    """Mutual TLS to ingest with the institution's enterprise certificate, as a bank delivers."""
    return secure_channel(address, folder.pki.workload_ca, folder.pki.institution(number))


async def send_snapshots(
    address: str, folder: devstack.DataFolder, deliveries: Sequence[tuple[str, list[bytes]]], parallel: int
) -> None:
    queue: asyncio.Queue[tuple[str, list[bytes]]] = asyncio.Queue()
    for delivery in deliveries:
        queue.put_nowait(delivery)

    async def worker() -> None:
        while not queue.empty():
            number, messages = queue.get_nowait()

            async def stream(messages: list[bytes] = messages) -> AsyncIterator[bytes]:
                for message in messages:
                    yield message

            async with institution_channel(address, folder, number) as channel:
                # Pre-serialised messages: the client does no protobuf work inside the clock.
                deliver: grpc.aio.StreamUnaryMultiCallable[bytes, ingest_service_pb2.DeliverSnapshotResponse]
                deliver = channel.stream_unary(
                    SNAPSHOT_METHOD, response_deserializer=ingest_service_pb2.DeliverSnapshotResponse.FromString
                )
                reply = await deliver(stream())
            assert reply.delivery.rejected_count == 0

    await asyncio.gather(*(worker() for _ in range(parallel)))


async def send_changes(address: str, folder: devstack.DataFolder, number: str, messages: list[bytes]) -> None:
    async with institution_channel(address, folder, number) as channel:
        report: grpc.aio.UnaryUnaryMultiCallable[bytes, ingest_service_pb2.ReportDebtChangesResponse]
        report = channel.unary_unary(
            CHANGES_METHOD, response_deserializer=ingest_service_pb2.ReportDebtChangesResponse.FromString
        )
        for message in messages:
            await report(message)


async def reset(socket: str) -> None:
    connection = await asyncpg.connect(host=socket, user="postgres", database=DATABASE)
    try:
        await connection.execute("TRUNCATE ingest.debts, ingest.deliveries, ingest.rejections")
        await connection.execute("VACUUM ANALYZE ingest.debts")
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


def timed(label: str, records: int, seconds: float) -> float:
    rate = records / seconds
    print(f"  {label:<44} {records:>10,} records {seconds:8.2f} s {rate:>10,.0f} records/s", flush=True)
    return rate


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench-ingest", description=__doc__.split("\n")[0])
    parser.add_argument("--debts", type=int, default=1_000_000, help="debts on day 1 (the nation: 7,100,000)")
    parser.add_argument("--institutions", type=int, default=200)
    parser.add_argument("--changes", type=int, default=100_000, help="pushed changes to measure")
    parser.add_argument("--parallel", type=int, default=3, help="deliveries at once (both paths)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="gjeld-bench-"))
    try:
        return run(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(args: argparse.Namespace, root: Path) -> int:
    print(f"generating {args.debts:,} debts over {args.institutions} institutions …", flush=True)
    started = time.monotonic()
    banks = institutions(args.debts, args.institutions, args.seed)
    day1 = [(b.number, snapshot_messages(b.day1, f"day1-{b.number}")) for b in banks]
    day2 = [(b.number, snapshot_messages(b.day2, f"day2-{b.number}")) for b in banks]
    records1, records2 = sum(len(b.day1) for b in banks), sum(len(b.day2) for b in banks)
    biggest = banks[0]
    changed = [d for b in banks for d in b.day2][: args.changes]
    for debt in changed:
        if debt.HasField("credit_facility"):
            debt.credit_facility.non_interest_bearing_balance.minor_units += 100
    pushes = change_messages(changed, "push")
    print(f"  generated in {time.monotonic() - started:.0f} s; largest institution {len(biggest.day1):,} debts")

    folder = devstack.DataFolder(root / "data")
    folder.ensure_secrets()
    server = devstack.start_postgres(root / "pg")
    socket = devstack.socket_dir(server)
    asyncio.run(devstack.provision(socket, DATABASE))
    devstack.migrate(socket, DATABASE)
    keys = load_subject_keys(folder.subject_keys("ingest"))
    # The operator admits the benchmark's institutions (only admitted institutions may deliver).
    directory = root / "institutions.json"
    directory.write_text(
        json.dumps({"institutions": [{"organization_number": b.number, "name": f"Bank {b.number}"} for b in banks]})
    )
    for bank in banks:
        folder.pki.institution(bank.number)
    print("preparing the raw path's rows (outside the clock) …", flush=True)
    rows1 = [(b.number, staged_rows(b.day1, keys)) for b in banks]
    rows2 = [(b.number, staged_rows(b.day2, keys)) for b in banks]
    change_rows = staged_rows(changed, keys)

    from gjeld_ingest.domain import DeliveryKind

    async def raw_worker(pending: list[tuple[str, list[tuple[Any, ...]]]]) -> None:
        async def worker() -> None:
            while pending:
                number, batch = pending.pop()
                await raw_apply(socket, number, batch, DeliveryKind.SNAPSHOT)

        await asyncio.gather(*(worker() for _ in range(args.parallel)))

    async def raw_days() -> tuple[float, float, float]:
        rates: list[float] = []
        for rows, records in ((rows1, records1), (rows2, records2)):
            started = time.monotonic()
            await raw_worker(list(rows))
            rates.append(timed(f"raw: day {len(rates) + 1} snapshots", records, time.monotonic() - started))
        started = time.monotonic()
        for start in range(0, len(change_rows), PER_MESSAGE):
            await raw_apply(socket, biggest.number, change_rows[start : start + PER_MESSAGE], DeliveryKind.CHANGES)
        rates.append(timed("raw: pushed changes, 1,000 a delivery", len(change_rows), time.monotonic() - started))
        return rates[0], rates[1], rates[2]

    print("\nraw limit (asyncpg: COPY into staging, the same merge; no gRPC, no validation)")
    asyncio.run(reset(socket))
    raw1, raw2, raw_changes = asyncio.run(raw_days())
    asyncio.run(reset(socket))

    print("\ngRPC path (a real ingest process: validation, hashing, encryption, staging, merge)")
    listen = {"ingest": dict.fromkeys(devstack.LISTENERS, "127.0.0.1:0")}
    suite = devstack.Suite(folder, socket, DATABASE, listen=listen, services=["ingest"], institutions_file=directory)
    try:
        address = suite.start()["ingest"]["certificate"]
        pid = suite.processes["ingest"].pid
        idle = peak_memory_kib(pid)
        warm = banks[-1]
        asyncio.run(send_snapshots(address, folder, [(warm.number, snapshot_messages(warm.day1, "warm"))], 1))
        asyncio.run(reset(socket))
        small = banks[len(banks) // 2]
        asyncio.run(send_snapshots(address, folder, [(small.number, snapshot_messages(small.day1, "small"))], 1))
        after_small = peak_memory_kib(pid)
        asyncio.run(send_snapshots(address, folder, [(biggest.number, day1[0][1])], 1))
        after_biggest = peak_memory_kib(pid)
        asyncio.run(reset(socket))
        started = time.monotonic()
        asyncio.run(send_snapshots(address, folder, day1, args.parallel))
        grpc1 = timed("gRPC: day 1 snapshots", records1, time.monotonic() - started)
        started = time.monotonic()
        asyncio.run(send_snapshots(address, folder, day2, args.parallel))
        grpc2 = timed("gRPC: day 2 snapshots", records2, time.monotonic() - started)
        started = time.monotonic()
        asyncio.run(send_changes(address, folder, biggest.number, pushes))
        grpc_changes = timed("gRPC: pushed changes, 1,000 a delivery", len(change_rows), time.monotonic() - started)
        after_all = peak_memory_kib(pid)
    finally:
        suite.stop()
        server.cleanup()

    print("\nresults (same run, same machine)")
    print(f"  day 1 snapshots:  gRPC {grpc1:>9,.0f}/s  raw {raw1:>9,.0f}/s  ratio {grpc1 / raw1:.2f}")
    print(f"  day 2 snapshots:  gRPC {grpc2:>9,.0f}/s  raw {raw2:>9,.0f}/s  ratio {grpc2 / raw2:.2f}")
    print(
        f"  pushed changes:   gRPC {grpc_changes:>9,.0f}/s  raw {raw_changes:>9,.0f}/s  "
        f"ratio {grpc_changes / raw_changes:.2f}"
    )
    print(
        f"  the nation ({NATIONAL_DEBTS:,} debts) as one day's snapshots at the gRPC rate: "
        f"{NATIONAL_DEBTS / grpc2:.0f} s (goal: under 120 s)"
    )
    print(
        f"  ingest peak memory: {idle / 1024:.0f} MiB idle; one snapshot alone: {after_small / 1024:.0f} MiB for "
        f"{len(small.day1):,} debts, {after_biggest / 1024:.0f} MiB for {len(biggest.day1):,} debts; "
        f"{after_all / 1024:.0f} MiB after all {records1 + records2 + len(change_rows):,} records "
        f"({args.parallel} deliveries at once)"
    )
    print(f"ratio={grpc2 / raw2:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
