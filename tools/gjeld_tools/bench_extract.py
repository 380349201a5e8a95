"""`make bench-extract`: a score-model round for a million customers (DOM-11), beside the raw read of the same rows.

The register is loaded with one credit facility for each of N synthetic persons at one bank (and a second debt at
another creditor for one in ten), straight into ingest's table outside the clock. Then, through the real services
(ingest and lookup as processes, TLS, as `make up` starts them):

- **hand-in**: the bank sends its list of N customers as the live registry's list file;
- **round**: an operator runs the round: ingest reads the N customers from one snapshot, lookup writes the package
  (gzipped NOGI JSON in 1 MiB pieces) and records N disclosures;
- **download**: the bank downloads the package and checks it against the signed manifest's digest;
- **raw read**: the same rows read straight from PostgreSQL with asyncpg (the listed persons' indexes copied into a
  temporary table and joined to the register, read with a cursor): no gRPC, no package, no log.

It prints each figure, lookup's peak memory before and after the round, and last `ratio=<raw read seconds / round
seconds>`.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from gjeld.lookup.v1 import lookup_service_pb2 as pb
from gjeld.lookup.v1 import lookup_service_pb2_grpc
from gjeld_ingest.domain import DeliveryKind
from gjeld_lookup.extracts import quarter_of, today
from gjeld_shared.callers import SCOPE_EXTRACT
from gjeld_shared.identity_numbers import load_subject_keys

from . import devstack, synthetic
from .bench_ingest import raw_apply
from .connect import secure_channel
from .readings import cpu_seconds, peak_memory_kib

DATABASE = "bench"
BANK, OTHER = "999888777", "911222333"


def staged(people: Sequence[str], keys: Any, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    """One credit facility a person, as ingest stages it (hashed and encrypted beforehand)."""
    moment = datetime.now(UTC)
    for position, person in enumerate(people):
        limit = rng.randrange(10_000, 10_000_000, 100)
        used = rng.randrange(0, limit + 1, 100)
        yield (
            position, False, f"F-{position}", keys.blind_index(person), keys.encrypt(person), "sole_debtor",
            "credit_facility", None, None, None, limit, used, 0, rng.randrange(500, 2500), None, used // 50, "monthly",
            moment,
        )  # fmt: skip


async def raw_read(socket: str, keys: Any, people: Sequence[str]) -> tuple[int, float]:
    """The raw read: the listed persons joined to the register; returns the rows read and the seconds."""
    indexes = [(keys.blind_index(p),) for p in people]
    connection = await asyncpg.connect(host=socket, user=devstack.role("ingest"), database=DATABASE)
    try:
        started = time.monotonic()
        async with connection.transaction(isolation="repeatable_read"):
            await connection.execute("CREATE TEMPORARY TABLE listed (debtor_index bytea) ON COMMIT DROP")
            await connection.copy_records_to_table("listed", records=indexes)
            rows = 0
            query = (
                "SELECT d.* FROM listed l JOIN ingest.debts d ON d.debtor_index = l.debtor_index"
                " WHERE EXISTS (SELECT 1 FROM ingest.debts o WHERE o.debtor_index = l.debtor_index"
                " AND o.creditor = $1)"
            )
            async for _ in connection.cursor(query, BANK, prefetch=1000):
                rows += 1
        return rows, time.monotonic() - started
    finally:
        await connection.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench-extract", description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="gjeld-bench-extract-"))
    try:
        return run(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class LoadedRegister:
    """A bench's register: its data folder, database server and socket, ingest's keys, and the persons in it."""

    folder: devstack.DataFolder
    server: Any
    socket: str
    keys: Any
    people: list[str]


def load_register(root: Path, persons: int, seed: int) -> LoadedRegister:
    """A database with `persons` synthetic persons' credit facilities at BANK, and a second debt at OTHER for one in
    ten, loaded straight into ingest's table (outside any clock)."""
    rng = random.Random(seed)
    generated = synthetic.people(seed)
    people = [next(generated) for _ in range(persons)]
    folder = devstack.DataFolder(root / "data")
    folder.ensure_secrets()
    server = devstack.start_postgres(root / "pg")
    socket = devstack.socket_dir(server)
    asyncio.run(devstack.provision(socket, DATABASE))
    devstack.migrate(socket, DATABASE)
    keys = load_subject_keys(folder.subject_keys("ingest"))
    print(f"loading {persons:,} persons' debts into the register (outside the clock) …", flush=True)
    started = time.monotonic()
    asyncio.run(raw_apply(socket, BANK, list(staged(people, keys, rng)), DeliveryKind.SNAPSHOT))
    others = people[::10]
    asyncio.run(raw_apply(socket, OTHER, list(staged(others, keys, rng)), DeliveryKind.SNAPSHOT))
    print(f"  {persons + len(others):,} debts in {time.monotonic() - started:.0f} s", flush=True)
    return LoadedRegister(folder, server, socket, keys, people)


def run(args: argparse.Namespace, root: Path) -> int:
    loaded = load_register(root, args.customers, args.seed)
    folder, server, socket, keys, people = loaded.folder, loaded.server, loaded.socket, loaded.keys, loaded.people
    listed = root / f"{BANK}.txt"
    listed.write_text("\n".join(people) + "\n")

    listen = {s: dict.fromkeys(devstack.LISTENERS, "127.0.0.1:0") for s in ("ingest", "lookup")}
    suite = devstack.Suite(folder, socket, DATABASE, listen=listen, services=["ingest", "lookup"])
    try:
        addresses = suite.start()
        lookup_pid, ingest_pid = suite.processes["lookup"].pid, suite.processes["ingest"].pid
        before = cpu_seconds(lookup_pid), cpu_seconds(ingest_pid)
        figures = asyncio.run(drive(addresses["lookup"]["certificate"], folder, listed, lookup_pid))
        cpu = cpu_seconds(lookup_pid) - before[0], cpu_seconds(ingest_pid) - before[1]
    finally:
        suite.stop()
    rows, raw_seconds = asyncio.run(raw_read(socket, keys, people))
    server.cleanup()
    hand_in, round_seconds, download, size, memory = figures
    print(f"\nhand-in   {args.customers:>9,} listed   {hand_in:6.1f} s  ({args.customers / hand_in:,.0f} a second)")
    print(
        f"round     {args.customers:>9,} customers {round_seconds:6.1f} s  ({args.customers / round_seconds:,.0f} a "
        f"second): one snapshot, the package ({size / 1e6:.1f} MB), {args.customers:,} disclosures logged"
    )
    print(f"download  {size / 1e6:>9.1f} MB        {download:6.1f} s")
    print(f"raw read  {rows:>9,} rows      {raw_seconds:6.1f} s  (asyncpg: the same join, no gRPC, no package, no log)")
    print(f"lookup's peak memory: {memory[0] / 1024:.0f} MiB before the hand-in, {memory[1] / 1024:.0f} MiB after "
          f"the hand-in, {memory[2] / 1024:.0f} MiB after the round")  # fmt: skip
    print(f"CPU (hand-in, round and download): lookup {cpu[0]:.1f} s, ingest {cpu[1]:.1f} s")
    print(f"ratio={raw_seconds / round_seconds:.3f}")
    return 0


async def drive(
    address: str, folder: devstack.DataFolder, listed: Path, lookup_pid: int
) -> tuple[float, float, float, int, tuple[int, int, int]]:
    bank_token = folder.identity.institution(BANK, [SCOPE_EXTRACT], "https://gjeld.dev/lookup")
    operator_token = folder.identity.operator("bench", "https://gjeld.dev/lookup")
    memory = [peak_memory_kib(lookup_pid)]
    async with secure_channel(address, folder.pki.workload_ca, folder.pki.institution(BANK)) as bank:
        stub = lookup_service_pb2_grpc.LookupServiceStub(bank)
        as_bank = [("authorization", f"Bearer {bank_token}")]

        def parts() -> Iterator[pb.SubmitCustomerListRequest]:
            yield pb.SubmitCustomerListRequest(header=pb.CustomerListHeader(quarter=quarter_of(today())))
            with listed.open("rb") as file:
                while piece := file.read(1 << 20):
                    yield pb.SubmitCustomerListRequest(list_file=piece)

        started = time.monotonic()
        order = (await stub.SubmitCustomerList(parts(), metadata=as_bank, timeout=600)).order
        hand_in = time.monotonic() - started
        memory.append(peak_memory_kib(lookup_pid))
    async with secure_channel(address, folder.pki.workload_ca, folder.pki.service("lookup")) as staff:
        started = time.monotonic()
        cut = await lookup_service_pb2_grpc.LookupServiceStub(staff).RunExtractRound(
            pb.RunExtractRoundRequest(), metadata=[("authorization", f"Bearer {operator_token}")], timeout=1200
        )
        round_seconds = time.monotonic() - started
        memory.append(peak_memory_kib(lookup_pid))
    assert [o.id for o in cut.orders] == [order.id]
    async with secure_channel(address, folder.pki.workload_ca, folder.pki.institution(BANK)) as bank:
        stub = lookup_service_pb2_grpc.LookupServiceStub(bank)
        started = time.monotonic()
        digest, size = hashlib.sha256(), 0
        async for part in stub.DownloadExtractPackage(
            pb.DownloadExtractPackageRequest(order_id=order.id), metadata=as_bank, timeout=600
        ):
            if part.WhichOneof("part") == "chunk":
                digest.update(part.chunk)
                size += len(part.chunk)
        download = time.monotonic() - started
    assert digest.digest() == cut.orders[0].manifest.sha256
    return hand_in, round_seconds, download, size, (memory[0], memory[1], memory[2])


if __name__ == "__main__":
    raise SystemExit(main())
