"""`make bench-ingest`: how fast the registry takes in the national volume, against this machine's raw limit.

A synthetic national dataset (the live mix: 88 % credit facilities, 11 % repayment loans, 1 % charge cards,
about 2.2 debts per person, valid synthetic identity numbers) is spread over institutions of Zipf-like size
and applied twice, as two days' full snapshots (day 2, derived from the same seed: balances moved for about 30 %,
about 1 % repaid, about 1 % new):

- **gRPC path**: each institution streams its snapshot to a real `ingest` process over mutual TLS (validation,
  keyed hashing and encryption of identity numbers, staging, one merging transaction per institution); with
  `--replicas 2` (the default) two ingest processes, as the deployment runs replicas, institutions spread across them;
- **raw limit**: the same rows with the same effect (replace the institution's data) straight into
  PostgreSQL with asyncpg: COPY into a staging table and the same merge statements; no gRPC, no
  validation, identity numbers hashed and encrypted beforehand, outside the clock.

Nothing holds the nation: before the clocks start, two worker processes generate each institution's snapshots
message by message from its seed and spool them to disk (the messages a bank would send, already serialised, and the
raw path's protected rows in parts of 10,000); inside the clocks both paths stream them from there. Peak memory
(RSS high-water marks) of this process, the generating workers and each ingest process shows that it stays flat.

Pushed changes (deliveries of 1,000 changes) are measured the same way. Both paths run in this one run on this one
machine, from the same starting state. `national_seconds=` is the gRPC path's day-2 time for the national volume
(measured with `--debts 7100000`, scaled from the day-2 rate otherwise); the last line is the gRPC path's day-2 rate
over the raw limit's, as `ratio=<value>`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import shutil
import struct
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, BinaryIO

import asyncpg
import grpc
from gjeld.ingest.v1 import ingest_pb2, ingest_service_pb2
from gjeld_ingest import convert, staging
from gjeld_ingest.domain import DeliveryKind
from gjeld_shared.errors import Violations
from gjeld_shared.identity_numbers import SubjectKeys, load_subject_keys

from . import devstack, synthetic
from .connect import secure_channel
from .readings import cpu_seconds, peak_memory_kib, postgres_cpu_seconds

NATIONAL_DEBTS = 7_100_000
PER_MESSAGE = 1000
RAW_PART = 10_000  # the raw path's rows per COPY, as ingest copies them (service_layer.COPY_SIZE)
DATABASE = "bench"
SNAPSHOT_METHOD = "/gjeld.ingest.v1.IngestService/DeliverSnapshot"
CHANGES_METHOD = "/gjeld.ingest.v1.IngestService/ReportDebtChanges"
FRAME = struct.Struct(">I")


@dataclass(frozen=True)
class Institution:
    """One reporting institution of the synthetic nation: its number, day 1's size and the seed of its portfolio."""

    number: str
    size: int
    seed: int

    def day(self, day: int) -> Iterator[ingest_pb2.Debt]:
        return synthetic.debts(self.size, self.seed) if day == 1 else synthetic.next_day(self.size, self.seed)


def institutions(total: int, count: int, seed: int) -> list[Institution]:
    weights = [1 / rank for rank in range(1, count + 1)]
    scale = total / sum(weights)
    return [
        Institution(f"9{rank:08d}", max(1, round(weight * scale)), seed * 1000 + rank)
        for rank, weight in enumerate(weights)
    ]


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while part := list(islice(iterator, size)):
        yield part


def snapshot_messages(debts: Iterable[ingest_pb2.Debt], request_id: str) -> Iterator[bytes]:
    """The stream a bank sends, message by message: the header in the first."""
    first = True
    for part in chunks(debts, PER_MESSAGE):
        message = ingest_service_pb2.DeliverSnapshotRequest(debts=part)
        if first:
            message.request_id = request_id
            message.extract_time.CopyFrom(part[0].extract_time)
            first = False
        yield message.SerializeToString()


def change_messages(debts: Sequence[ingest_pb2.Debt], request_id: str) -> list[bytes]:
    return [
        ingest_service_pb2.ReportDebtChangesRequest(
            request_id=f"{request_id}-{start}",
            changes=[ingest_pb2.DebtChange(register=d) for d in debts[start : start + PER_MESSAGE]],
        ).SerializeToString()
        for start in range(0, len(debts), PER_MESSAGE)
    ]


def staged_rows(debts: Iterable[ingest_pb2.Debt], keys: SubjectKeys) -> Iterator[tuple[Any, ...]]:
    """The rows the raw path copies, one at a time: converted and protected beforehand, outside the clock."""
    known: dict[str, tuple[bytes, bytes]] = {}
    reading = convert.Reading(datetime.now(UTC))
    for position, message in enumerate(debts):
        debt = convert.debt_from_proto(message, "", Violations(), reading)
        assert debt is not None
        protected = known.get(debt.debtor)
        if protected is None:
            if len(known) >= 10_000:
                known.clear()  # a person's debts come together: a small memory suffices
            protected = known[debt.debtor] = (keys.blind_index(debt.debtor), keys.encrypt(debt.debtor))
        yield staging.staged_debt(position, debt, *protected)


def write_frames(out: BinaryIO, frames: Iterable[bytes]) -> None:
    for frame in frames:
        out.write(FRAME.pack(len(frame)))
        out.write(frame)


def read_frames(path: Path) -> Iterator[bytes]:
    with path.open("rb") as spooled:
        while header := spooled.read(FRAME.size):
            yield spooled.read(FRAME.unpack(header)[0])


def spool_path(spool: Path, number: str, day: int, path: str) -> Path:
    return spool / f"{number}-day{day}.{path}"


class CpuMeter:
    """CPU seconds of this process, PostgreSQL and the ingest processes over one phase: where the time goes."""

    def __init__(self, pgdata: Path, ingest: Sequence[int] = ()) -> None:
        self._pgdata, self._ingest = pgdata, list(ingest)
        self._start = self._reading()

    def _reading(self) -> tuple[float, float, float]:
        return (
            cpu_seconds(os.getpid()),
            postgres_cpu_seconds(self._pgdata),
            sum(cpu_seconds(pid) for pid in self._ingest),
        )

    def report(self, seconds: float) -> str:
        bench, postgres, ingest = (b - a for a, b in zip(self._start, self._reading(), strict=True))
        used = f"CPU: PostgreSQL {postgres:.1f} s, this process {bench:.1f} s"
        if self._ingest:
            used += f", ingest {ingest:.1f} s"
        return f"    {used} ({(bench + postgres + ingest) / seconds:.2f} of {os.cpu_count()} cores)"


def spool_institution(bank: Institution, spool: Path, keys_file: Path) -> tuple[str, int, int, int]:
    """Generate one institution's two days and write them to disk for both paths (run in a worker process): the
    serialised messages for the gRPC path, the protected rows in parts for the raw path. Returns the institution's
    number, its record counts on days 1 and 2, and this worker's peak memory so far."""
    keys = load_subject_keys(keys_file)
    counts = []
    for day in (1, 2):
        with spool_path(spool, bank.number, day, "grpc").open("wb") as out:
            write_frames(out, snapshot_messages(bank.day(day), f"day{day}-{bank.number}"))
        records = 0
        with spool_path(spool, bank.number, day, "raw").open("wb") as out:
            for part in chunks(staged_rows(bank.day(day), keys), RAW_PART):
                write_frames(out, [pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)])
                records += len(part)
        counts.append(records)
    return bank.number, counts[0], counts[1], peak_memory_kib()


async def raw_apply_parts(
    socket: str, creditor: str, parts: Iterable[Sequence[tuple[Any, ...]]], kind: Any, extract_time: datetime | None
) -> None:
    """The raw limit: the same merge, with none of the registry's work around it; the rows copied part by part."""
    connection = await asyncpg.connect(host=socket, user=devstack.role("ingest"), database=DATABASE)
    try:
        async with connection.transaction():
            stage = staging.Staging(connection)
            for rows in parts:
                await stage.add(rows)
            await stage.analyze()
            await stage.merge(creditor, kind, extract_time, timedelta(days=7))
            await stage.clear()
    finally:
        await connection.close()


async def raw_apply(socket: str, creditor: str, rows: Sequence[tuple[Any, ...]], kind: Any) -> None:
    """`raw_apply_parts` of rows at hand, a snapshot taken as extracted now."""
    await raw_apply_parts(socket, creditor, [rows], kind, datetime.now(UTC))


def institution_channel(address: str, folder: devstack.DataFolder, number: str) -> grpc.aio.Channel:
    """Mutual TLS to ingest with the institution's enterprise certificate, as a bank delivers."""
    return secure_channel(address, folder.pki.workload_ca, folder.pki.institution(number))


async def send_snapshots(
    addresses: Sequence[str],
    folder: devstack.DataFolder,
    deliveries: Sequence[tuple[str, Path]],
    parallel: int,
) -> None:
    """Each institution streams its spooled snapshot to one of the ingest replicas (spread as a load balancer
    would), `parallel` institutions at once."""
    queue: asyncio.Queue[tuple[int, str, Path]] = asyncio.Queue()
    for index, (number, path) in enumerate(deliveries):
        queue.put_nowait((index, number, path))

    async def worker() -> None:
        while not queue.empty():
            index, number, path = queue.get_nowait()

            async def stream(path: Path = path) -> AsyncIterator[bytes]:
                for message in read_frames(path):
                    yield message

            async with institution_channel(addresses[index % len(addresses)], folder, number) as channel:
                # Serialised beforehand: the client does no protobuf work inside the clock.
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
        await connection.execute(
            "TRUNCATE ingest.debts, ingest.deliveries, ingest.rejections, ingest.tombstones,"
            " ingest.snapshot_confirmations"
        )
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
    parser.add_argument("--parallel", type=int, default=4, help="deliveries at once (both paths)")
    parser.add_argument("--replicas", type=int, default=2, help="ingest processes (the gRPC path)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="gjeld-bench-"))
    try:
        return run(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# When the synthetic snapshots are extracted (synthetic.debts' default, and a day later synthetic.next_day's).
EXTRACTED = {1: datetime(2026, 6, 25, 5, 0, tzinfo=UTC), 2: datetime(2026, 6, 26, 5, 0, tzinfo=UTC)}


def run(args: argparse.Namespace, root: Path) -> int:
    banks = institutions(args.debts, args.institutions, args.seed)
    biggest = banks[0]
    folder = devstack.DataFolder(root / "data")
    folder.ensure_secrets()
    keys_file = folder.subject_keys("ingest")
    keys = load_subject_keys(keys_file)
    spool = root / "spool"
    spool.mkdir()

    print(
        f"generating {args.debts:,} debts over {args.institutions} institutions, spooled to disk by 2 workers …",
        flush=True,
    )
    started = time.monotonic()
    with ProcessPoolExecutor(2) as workers:
        spooled = list(workers.map(spool_institution, banks, [spool] * len(banks), [keys_file] * len(banks)))
    records1, records2 = sum(s[1] for s in spooled), sum(s[2] for s in spooled)
    worker_peak = max(s[3] for s in spooled)
    changed = list(islice(biggest.day(2), args.changes))
    for debt in changed:
        if debt.HasField("credit_facility"):
            debt.credit_facility.non_interest_bearing_balance.minor_units += 100
    pushes = change_messages(changed, "push")
    change_rows = list(chunks(staged_rows(changed, keys), PER_MESSAGE))
    del changed
    size = sum(p.stat().st_size for p in spool.iterdir())
    print(
        f"  generated in {time.monotonic() - started:.0f} s ({size / 2**30:.1f} GiB spooled); largest institution "
        f"{biggest.size:,} debts"
    )

    server = devstack.start_postgres(root / "pg")
    socket = devstack.socket_dir(server)
    asyncio.run(devstack.provision(socket, DATABASE))
    devstack.migrate(socket, DATABASE)
    # The operator admits the benchmark's institutions (only admitted institutions may deliver).
    directory = root / "institutions.json"
    directory.write_text(
        json.dumps({"institutions": [{"organization_number": b.number, "name": f"Bank {b.number}"} for b in banks]})
    )
    for bank in banks:
        folder.pki.institution(bank.number)

    async def raw_day(day: int) -> None:
        pending = [b.number for b in banks]

        async def worker() -> None:
            while pending:
                number = pending.pop(0)
                parts = (pickle.loads(f) for f in read_frames(spool_path(spool, number, day, "raw")))
                await raw_apply_parts(socket, number, parts, DeliveryKind.SNAPSHOT, EXTRACTED[day])

        await asyncio.gather(*(worker() for _ in range(args.parallel)))

    async def raw_days() -> tuple[float, float, float]:
        rates: list[float] = []
        for day, records in ((1, records1), (2, records2)):
            meter, started = CpuMeter(root / "pg"), time.monotonic()
            await raw_day(day)
            seconds = time.monotonic() - started
            rates.append(timed(f"raw: day {day} snapshots", records, seconds))
            print(meter.report(seconds))
        started = time.monotonic()
        for rows in change_rows:
            await raw_apply_parts(socket, biggest.number, [rows], DeliveryKind.CHANGES, None)
        changes = sum(len(rows) for rows in change_rows)
        rates.append(timed("raw: pushed changes, 1,000 a delivery", changes, time.monotonic() - started))
        return rates[0], rates[1], rates[2]

    print(f"\nraw limit (asyncpg: COPY into staging, the same merge; no gRPC, no validation; {args.parallel} at once)")
    asyncio.run(reset(socket))
    raw1, raw2, raw_changes = asyncio.run(raw_days())
    asyncio.run(reset(socket))

    print(
        f"\ngRPC path ({args.replicas} ingest process(es): validation, hashing, encryption, staging, merge; "
        f"{args.parallel} at once)"
    )
    listen = {"ingest": dict.fromkeys(devstack.LISTENERS, "127.0.0.1:0")}
    suites = [
        devstack.Suite(folder, socket, DATABASE, listen=listen, services=["ingest"], institutions_file=directory)
        for _ in range(args.replicas)
    ]
    try:
        addresses = [suite.start()["ingest"]["certificate"] for suite in suites]
        pids = [suite.processes["ingest"].pid for suite in suites]
        idle = max(peak_memory_kib(pid) for pid in pids)
        warm = banks[-1]
        warmup = root / "warm.grpc"
        with warmup.open("wb") as out:
            write_frames(out, snapshot_messages(warm.day(1), "warm"))
        asyncio.run(send_snapshots(addresses, folder, [(warm.number, warmup)] * len(addresses), len(addresses)))
        asyncio.run(reset(socket))
        grpc_rates = []
        for day, records in ((1, records1), (2, records2)):
            deliveries = [(b.number, spool_path(spool, b.number, day, "grpc")) for b in banks]
            meter, started = CpuMeter(root / "pg", pids), time.monotonic()
            asyncio.run(send_snapshots(addresses, folder, deliveries, args.parallel))
            seconds = time.monotonic() - started
            grpc_rates.append(timed(f"gRPC: day {day} snapshots", records, seconds))
            print(meter.report(seconds))
        grpc1, grpc2 = grpc_rates
        started = time.monotonic()
        asyncio.run(send_changes(addresses[0], folder, biggest.number, pushes))
        changes = sum(len(rows) for rows in change_rows)
        grpc_changes = timed("gRPC: pushed changes, 1,000 a delivery", changes, time.monotonic() - started)
        ingest_peaks = [peak_memory_kib(pid) for pid in pids]
    finally:
        for suite in suites:
            suite.stop()
        server.cleanup()

    national = NATIONAL_DEBTS * (records2 / records1) / grpc2
    print("\nresults (same run, same machine)")
    print(f"  day 1 snapshots:  gRPC {grpc1:>9,.0f}/s  raw {raw1:>9,.0f}/s  ratio {grpc1 / raw1:.2f}")
    print(f"  day 2 snapshots:  gRPC {grpc2:>9,.0f}/s  raw {raw2:>9,.0f}/s  ratio {grpc2 / raw2:.2f}")
    print(
        f"  pushed changes:   gRPC {grpc_changes:>9,.0f}/s  raw {raw_changes:>9,.0f}/s  "
        f"ratio {grpc_changes / raw_changes:.2f}"
    )
    measured = "measured" if args.debts >= NATIONAL_DEBTS else f"scaled from {args.debts:,} debts"
    print(
        f"  the nation ({NATIONAL_DEBTS:,} debts): day 2's snapshots through gRPC in {national:.0f} s ({measured}; "
        f"goal: 90 s)"
    )
    print(
        f"  peak memory (RSS high-water mark): this process {peak_memory_kib() / 1024:.0f} MiB, generating workers "
        f"{worker_peak / 1024:.0f} MiB, ingest processes {idle / 1024:.0f} MiB idle, "
        f"{', '.join(f'{p / 1024:.0f}' for p in ingest_peaks)} MiB after all {records1 + records2 + changes:,} records "
        f"(largest snapshot {biggest.size:,} debts)"
    )
    print(f"national_seconds={national:.1f}")
    print(f"ratio={grpc2 / raw2:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
