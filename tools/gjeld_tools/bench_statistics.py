"""`make bench-statistics`: the day's debt statistics (issue 17) for a million debtors, beside the raw aggregate.

The register is loaded with one credit facility for each of N synthetic persons at one bank (and a second debt at
another creditor for one in ten), straight into ingest's table outside the clock. Then, in this process, as a
replica counts (ingest's role and keys, `DebtStatistics.count`):

- **raw aggregate**: the per-debtor aggregate the count is made from, read straight with an asyncpg cursor: no copy,
  no decryption, no cells;
- **count, no county**: production's default (no population register set): the figures copied at one instant to a
  temporary table, read back a batch at a time, each number decrypted for age and sex, the cells suppressed and kept;
- **count, sandbox**: the same with the county from the sandbox population (development's twin);
- **count, register over HTTP**: the same with the county from Folkeregisteret's bulk lookup, here the fake of it
  (`fake_providers`) served by another process on this machine, 1,000 numbers a call: what the count itself spends
  on the calls, with a register that answers at once.

It prints each figure with its wall and CPU seconds and, for the counts, the longest the count held the event loop
(what a lookup served by the same replica meanwhile would wait at worst), and last `ratio=<raw aggregate seconds /
count seconds>` for the count with no county.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import shutil
import socket
import tempfile
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
from gjeld_shared.entrypoint import out_of_the_collectors_way

from . import devstack
from .bench_extract import DATABASE, load_register
from .bench_lookup import free_port

TOKEN = "bench-register-token"
DAY = date(2026, 12, 2)


def serve_register(port: int) -> None:
    """The fake Folkeregisteret, in a process of its own (its work is not the count's)."""
    import uvicorn
    from cryptography.hazmat.primitives.asymmetric import rsa

    from .fake_providers import FakeProviders

    fake = FakeProviders(TOKEN, "unused", rsa.generate_private_key(65537, 2048).public_key())
    uvicorn.run(fake.app(), host="127.0.0.1", port=port, log_config=None, access_log=False)


def wait_until_listening(port: int, seconds: float = 30.0) -> None:
    """Until something accepts connections on 127.0.0.1:`port` (the fake register's start)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


async def raw_aggregate(socket_dir: str) -> tuple[int, float, float, list[float] | None]:
    """The per-debtor aggregate read with a cursor; returns the debtors read, wall and CPU seconds (and no stalls:
    nothing else would run on its loop)."""
    from gjeld_ingest.adapters import COUNTED

    query = COUNTED[COUNTED.index("SELECT") :]
    connection = await asyncpg.connect(host=socket_dir, user=devstack.role("ingest"), database=DATABASE)
    try:
        started, cpu = time.monotonic(), time.process_time()
        debtors = 0
        async with connection.transaction(isolation="repeatable_read", readonly=True):
            async for _ in connection.cursor(query, prefetch=1000):
                debtors += 1
        return debtors, time.monotonic() - started, time.process_time() - cpu, None
    finally:
        await connection.close()


async def stalls(stopping: asyncio.Event) -> list[float]:
    """How long the event loop was held (seconds), each time it was held over 10 ms, until `stopping` is set: what a
    lookup served by the same replica would have waited."""
    held = []
    while not stopping.is_set():
        asked = time.monotonic()
        await asyncio.sleep(0.001)
        if (late := time.monotonic() - asked - 0.001) > 0.010:
            held.append(late)
    return held


async def count(
    socket_dir: str, folder: devstack.DataFolder, residences: Any
) -> tuple[int, float, float, list[float] | None]:
    """One count as a replica makes it; returns the persons counted, wall and CPU seconds, and each time the event
    loop was held over 10 ms meanwhile."""
    import httpx
    from gjeld_ingest.adapters import StatisticsStore
    from gjeld_ingest.residences import PopulationRegisterResidences
    from gjeld_ingest.service_layer import DebtStatistics
    from gjeld_ingest.statistics import ALL, NATIONAL
    from gjeld_shared import db
    from gjeld_shared.identity_numbers import load_subject_keys

    engine = db.create_engine(devstack.database_url(socket_dir, "ingest", DATABASE))
    keys = load_subject_keys(folder.subject_keys("ingest"))
    async with httpx.AsyncClient(timeout=30) as http:
        if isinstance(residences, tuple):  # the register's URL and token file
            residences = PopulationRegisterResidences(http, *residences)
        statistics = DebtStatistics(
            StatisticsStore(engine), keys, residences, lambda name: db.exclusive(engine, name), 10
        )
        stopping = asyncio.Event()
        watching = asyncio.create_task(stalls(stopping))
        try:
            started, cpu = time.monotonic(), time.process_time()
            tables = await statistics.count(DAY)
            wall, cpu = time.monotonic() - started, time.process_time() - cpu
        finally:
            stopping.set()
            held = await watching  # before the engine's disposal, which is not the count's
            await engine.dispose()
        national = tables[NATIONAL][ALL]
        assert national is not None
        return national.persons, wall, cpu, held


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench-statistics", description=__doc__.split("\n")[0])
    parser.add_argument("--debtors", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="gjeld-bench-statistics-"))
    try:
        return run(args, root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(args: argparse.Namespace, root: Path) -> int:
    from gjeld_ingest.residences import SandboxResidences

    loaded = load_register(root, args.debtors, args.seed)
    folder, server, socket_dir = loaded.folder, loaded.server, loaded.socket

    out_of_the_collectors_way()  # the collector as a service runs it (gjeld_shared.entrypoint)
    port = free_port()
    register = multiprocessing.get_context("spawn").Process(target=serve_register, args=(port,), daemon=True)
    register.start()
    token_file = root / "register-token"
    token_file.write_text(TOKEN)
    try:
        wait_until_listening(port)
        figures = {
            "raw aggregate": asyncio.run(raw_aggregate(socket_dir)),
            "count, no county": asyncio.run(count(socket_dir, folder, None)),
            "count, sandbox": asyncio.run(count(socket_dir, folder, SandboxResidences())),
            "count, register over HTTP": asyncio.run(
                count(socket_dir, folder, (f"http://127.0.0.1:{port}/folkeregister", token_file))
            ),
        }
    finally:
        register.terminate()
        server.cleanup()
    print()
    for name, (persons, wall, cpu, over) in figures.items():
        held = ""
        if over is not None:
            held = f"; the loop held over 10 ms {len(over)} times, at most {max(over, default=0) * 1000:.0f} ms"
        print(
            f"{name:<27} {persons:>9,} debtors {wall:7.1f} s  {cpu:7.1f} s CPU  ({persons / wall:,.0f} a second{held})"
        )
    print(f"ratio={figures['raw aggregate'][1] / figures['count, no county'][1]:.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
