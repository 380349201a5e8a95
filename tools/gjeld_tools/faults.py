"""`make faults`: the suite's own processes killed under load, and what that lost or sent twice.

The four services run as separate processes on the embedded PostgreSQL, as `make up` runs them. While a bank
delivers (single messages and streams), lenders look up (each lookup a disclosure, a consent use and a copy
letter), and letters flow to the mailboxes, this program kills each stateful service with SIGKILL again and again,
restarts it as Kubernetes would, and restarts PostgreSQL once. Every client retries what was not acknowledged with
the same request id, as an integration should. At the end it prints what was acknowledged, what the register, the
disclosure log, the consents and the mailboxes hold, the lost and duplicated counts, and how long each service took
to serve again.

A negative control shows the program able to fail: the same run with notify's mailbox provider replaced by a
careless one (it ignores the idempotency key and acknowledges slowly), where a kill between a letter going out and
notify recording it sends the letter again. The control must count duplicates; the real run must count none.

Exit status 0 only when the real run lost and duplicated nothing, every service served again within 3 s, and the
control did find duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import grpc

from . import devstack, synthetic
from .bench_tls import BANK, LENDER, PERSON, prepare_person
from .connect import secure_channel
from .dev_identity import audience

DATABASE = "faults"
STATEFUL = ("ingest", "lookup", "consent", "notify")
SERVE_AGAIN_GOAL = 3.0  # seconds
ACK_TIMEOUT = 10.0  # a client's deadline for one attempt
# What the grpc.aio client reports when a write to a client stream fails because the stream already ended (the
# server died): the library's own INTERNAL, not an answer (grpc/grpc#36066).
CORE_BROKEN_STREAM = "Internal error from Core"


# --- the negative control's careless provider (a child process only) ------------------------------------------


def _serve_careless_notify() -> None:
    """notify with a mailbox provider that ignores the idempotency key and acknowledges slowly."""
    from gjeld_notify import adapters

    original = adapters.DevelopmentChannels._deliver

    async def careless(self: Any, channel: Any, notice_id: Any, *args: Any) -> None:
        original(self, channel, notice_id, *args)
        self._note("deliveries.log", notice_id)
        await asyncio.sleep(0.5)  # the letter is out; notify has not heard yet

    adapters.DevelopmentChannels.send = careless  # type: ignore[method-assign,assignment]
    sys.argv = ["gjeld-notify", "serve"]
    __import__("gjeld_notify.__main__", fromlist=["main"]).main()


# --- the load -------------------------------------------------------------------------------------------------


@dataclass
class Tally:
    """What the clients were told."""

    accounts: set[str] = field(default_factory=set)  # acknowledged registrations
    deliveries: int = 0
    disclosures: set[str] = field(default_factory=set)  # acknowledged lookups' disclosure ids
    lookups: int = 0
    retries: int = 0
    codes: Counter[str] = field(default_factory=Counter)  # what failed attempts were answered
    unexpected: list[str] = field(default_factory=list)  # INTERNAL or UNKNOWN answers, which must not happen


async def _until_acknowledged(tally: Tally, call: Callable[[], Awaitable[Any]]) -> Any:
    """Call until answered, as a careful integration does: the same request each time (its request id with it)."""
    while True:
        try:
            return await call()
        except grpc.aio.AioRpcError as error:
            tally.retries += 1
            if error.details() == CORE_BROKEN_STREAM:
                # Not an answer: the client's own library says so when the server died while the stream was open.
                tally.codes["INTERNAL from the client library (the stream broke)"] += 1
                await asyncio.sleep(0.1)
                continue
            tally.codes[error.code().name] += 1
            if error.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN):
                tally.unexpected.append(f"{getattr(call, 'func', call)}: {error.code().name} {error.details()}")
            if error.code() is grpc.StatusCode.INVALID_ARGUMENT:
                raise  # the program's own mistake: no retry mends it
            await asyncio.sleep(0.1)


def _changes(number: int, count: int, people: Iterator[str]) -> list[Any]:
    """`count` new credit facilities, each of another person (as a bank's daily changes are)."""
    from .testing import demo_changes

    template = demo_changes()[1]  # the credit facility, one debtor's alone
    changes = []
    for i in range(count):
        change = type(template)()
        change.CopyFrom(template)
        change.register.account_id = f"F-{number}-{i}"
        change.register.debtor.value = next(people)
        changes.append(change)
    return changes


async def _report(stub: Any, request_id: str, changes: list[Any]) -> Any:
    from gjeld.ingest.v1 import ingest_service_pb2

    request = ingest_service_pb2.ReportDebtChangesRequest(request_id=request_id, changes=changes)
    return await stub.ReportDebtChanges(request, timeout=ACK_TIMEOUT)


async def _stream(stub: Any, request_id: str, changes: list[Any]) -> Any:
    from gjeld.ingest.v1 import ingest_service_pb2

    async def messages() -> AsyncIterator[Any]:
        for start in range(0, len(changes), 10):
            yield ingest_service_pb2.StreamDebtChangesRequest(
                request_id=request_id, changes=changes[start : start + 10]
            )

    return await stub.StreamDebtChanges(messages(), timeout=ACK_TIMEOUT)


async def _deliver(channel: grpc.aio.Channel, tally: Tally, stopping: asyncio.Event) -> None:
    """The bank: a delivery of 50 changes at a time, every other one streamed in five messages."""
    from gjeld.ingest.v1 import ingest_service_pb2_grpc

    stub = ingest_service_pb2_grpc.IngestServiceStub(channel)
    number, people = 0, synthetic.people(seed=7)
    while not stopping.is_set():
        number += 1
        changes = _changes(number, 50, people)
        send = _report if number % 2 else _stream
        await _until_acknowledged(tally, functools.partial(send, stub, f"faults-{number}", changes))
        tally.accounts.update(c.register.account_id for c in changes)
        tally.deliveries += 1
        await asyncio.sleep(0.05)


async def _look_up(channel: grpc.aio.Channel, token: str, tally: Tally, stopping: asyncio.Event, worker: int) -> None:
    """A lender: retry-safe lookups, one after another."""
    from gjeld.lookup.v1 import lookup_pb2, lookup_service_pb2, lookup_service_pb2_grpc
    from gjeld.type.v1 import identity_pb2

    stub = lookup_service_pb2_grpc.LookupServiceStub(channel)
    metadata = [("authorization", f"Bearer {token}")]
    number = 0
    while not stopping.is_set():
        number += 1
        request = lookup_service_pb2.LookUpDebtRequest(
            subject=identity_pb2.NationalIdentityNumber(value=PERSON),
            purpose=lookup_pb2.DISCLOSURE_PURPOSE_CREDIT_ASSESSMENT,
            request_id=f"faults-{worker}-{number}",
        )
        call = functools.partial(stub.LookUpDebt, request, metadata=metadata, timeout=ACK_TIMEOUT)
        reply = await _until_acknowledged(tally, call)
        tally.disclosures.add(reply.disclosure.id)
        tally.lookups += 1
        await asyncio.sleep(0.05)


# --- the faults -----------------------------------------------------------------------------------------------


@dataclass
class Faults:
    kills: dict[str, list[float]] = field(default_factory=dict)  # seconds until serving again, by service
    postgres: list[float] = field(default_factory=list)  # seconds until every service answered from the database
    error: BaseException | None = None


def _kill_and_restart(
    suite: devstack.Suite,
    plan: list[str],
    faults: Faults,
    postgres: dict[str, Any],
    probe: Any,
    done: threading.Event,
) -> None:
    """The chaos: each service in the plan killed with SIGKILL and restarted; PostgreSQL restarted halfway."""
    try:
        for number, service in enumerate(plan):
            time.sleep(random.uniform(0.2, 0.8))
            process = suite.processes[service]
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            faults.kills.setdefault(service, []).append(suite.restart(service))
            if number == len(plan) // 2 and postgres:
                began = time.monotonic()
                postgres["server"] = devstack.restart_postgres(postgres["server"], postgres["pgdata"])
                asyncio.run(probe())
                faults.postgres.append(time.monotonic() - began)
    except BaseException as error:  # noqa: BLE001 - reported by the main thread
        faults.error = error
    finally:
        done.set()


async def _answered_from_the_database(folder: devstack.DataFolder, addresses: dict[str, dict[str, str]]) -> None:
    """Until each service has answered a call that reads the database."""
    from gjeld.consent.v1 import consent_service_pb2, consent_service_pb2_grpc
    from gjeld.ingest.v1 import ingest_service_pb2, ingest_service_pb2_grpc
    from gjeld.lookup.v1 import lookup_service_pb2, lookup_service_pb2_grpc
    from gjeld.notify.v1 import notify_service_pb2, notify_service_pb2_grpc

    ca = folder.pki.workload_ca

    def person(service: str) -> list[tuple[str, str]]:
        return [("authorization", f"Bearer {folder.identity.subject(PERSON, audience(service))}")]

    async with (
        secure_channel(addresses["ingest"]["certificate"], ca, folder.pki.institution(BANK)) as ingest,
        secure_channel(addresses["lookup"]["token"], ca) as lookup,
        secure_channel(addresses["consent"]["token"], ca) as consent,
        secure_channel(addresses["notify"]["token"], ca) as notify,
    ):
        calls: list[Callable[[], Awaitable[Any]]] = [
            lambda: ingest_service_pb2_grpc.IngestServiceStub(ingest).ListDeliveries(
                ingest_service_pb2.ListDeliveriesRequest(page_size=1), timeout=2
            ),
            lambda: lookup_service_pb2_grpc.LookupServiceStub(lookup).ListOwnDisclosures(
                lookup_service_pb2.ListOwnDisclosuresRequest(page_size=1), metadata=person("lookup"), timeout=2
            ),
            lambda: consent_service_pb2_grpc.ConsentServiceStub(consent).ListConsents(
                consent_service_pb2.ListConsentsRequest(page_size=1), metadata=person("consent"), timeout=2
            ),
            lambda: notify_service_pb2_grpc.NotifyServiceStub(notify).ListOwnNotices(
                notify_service_pb2.ListOwnNoticesRequest(page_size=1), metadata=person("notify"), timeout=2
            ),
        ]
        for call in calls:
            while True:
                try:
                    await call()
                    break
                except grpc.aio.AioRpcError:
                    await asyncio.sleep(0.05)


# --- one run --------------------------------------------------------------------------------------------------


async def _drained(socket: str, timeout: float) -> float:
    """Until every copy letter is handed over and every notice settled; returns the seconds it took."""
    began = time.monotonic()
    connection = await asyncpg.connect(host=socket, user="postgres", database=DATABASE)
    try:
        while time.monotonic() - began < timeout:
            waiting = await connection.fetchval(
                "SELECT (SELECT count(*) FROM lookup.notice_outbox WHERE relay_time IS NULL AND failed_time IS NULL)"
                " + (SELECT count(*) FROM notify.notices WHERE state = 'pending')"
            )
            if waiting == 0:
                break
            await asyncio.sleep(0.5)
    finally:
        await connection.close()
    return time.monotonic() - began


async def _held(socket: str) -> dict[str, Any]:
    """What the register, the disclosure log, the consents and notify hold."""
    connection = await asyncpg.connect(host=socket, user="postgres", database=DATABASE)
    try:
        return {
            "accounts": {
                r["account_id"]
                for r in await connection.fetch(
                    "SELECT DISTINCT account_id FROM ingest.debts WHERE creditor = $1 AND account_id LIKE 'F-%'", BANK
                )
            },
            "debt_rows_twice": await connection.fetchval(
                "SELECT count(*) - count(DISTINCT (account_id, debtor_index)) FROM ingest.debts WHERE creditor = $1",
                BANK,
            ),
            "deliveries": await connection.fetchval(
                "SELECT count(*) FROM ingest.deliveries WHERE creditor = $1 AND request_id LIKE 'faults-%'", BANK
            ),
            "disclosures": [
                str(r["id"])
                for r in await connection.fetch("SELECT id FROM lookup.disclosures WHERE recipient = $1", LENDER)
            ],
            "uses": await connection.fetchval("SELECT coalesce(sum(use_count), 0) FROM consent.consents"),
            "uses_without_disclosure": await connection.fetchval(
                "SELECT count(*) FROM consent.consent_uses u"
                " WHERE NOT EXISTS (SELECT 1 FROM lookup.disclosures d WHERE d.id::text = u.disclosure_id)"
            ),
            "letters_set_aside": await connection.fetchval(
                "SELECT count(*) FROM lookup.notice_outbox WHERE failed_time IS NOT NULL"
            ),
            "noticed": {
                r["source_id"]: str(r["notice_id"])
                for r in await connection.fetch("SELECT source_id, notice_id FROM notify.notice_sources")
            },
            "notices": {
                r["state"]: r["n"]
                for r in await connection.fetch("SELECT state, count(*) AS n FROM notify.notices GROUP BY state")
            },
        }
    finally:
        await connection.close()


@dataclass
class Outcome:
    lost: int
    duplicated: int
    slowest: float  # seconds until a killed service served again
    unexpected: int  # INTERNAL or UNKNOWN answers


def run(
    root: Path, kills_per_service: int, services: tuple[str, ...], control: bool, postgres_restart: bool
) -> Outcome:
    """One run on its own data folder and PostgreSQL; prints its report."""
    from gjeld_notify.adapters import DevelopmentChannels

    folder = devstack.DataFolder(root / "data")
    folder.ensure_secrets()
    document = json.loads(devstack.INSTITUTIONS_FILE.read_text())
    for entry in document["institutions"]:
        entry.pop("creditor_endpoint", None)  # the register alone answers: no bank answers live here
    directory = root / "institutions.json"
    directory.write_text(json.dumps(document))
    pgdata = root / "pg"
    postgres = {"server": devstack.start_postgres(pgdata), "pgdata": pgdata}
    socket = devstack.socket_dir(postgres["server"])
    asyncio.run(devstack.provision(socket, DATABASE))
    devstack.migrate(socket, DATABASE)
    # Short deadlines, so that what a killed worker had claimed is taken again within seconds.
    os.environ.update(
        GJELD_SEND_TIMEOUT_SECONDS="2",
        GJELD_CALL_TIMEOUT_SECONDS="2",
        GJELD_RETRY_CAP_SECONDS="2",
        GJELD_DELIVERY_INTERVAL_SECONDS="0.2",
        GJELD_RELAY_INTERVAL_SECONDS="0.2",
    )

    def command(service: str) -> list[str]:
        if control and service == "notify":
            return [sys.executable, "-m", "gjeld_tools.faults", "--serve-careless-notify"]
        return [sys.executable, "-m", f"gjeld_{service}", "serve"]

    (root / "logs").mkdir()
    listen = {s: dict.fromkeys(devstack.LISTENERS, "127.0.0.1:0") for s in devstack.SERVICES}
    suite = devstack.Suite(
        folder, socket, DATABASE, listen=listen, institutions_file=directory, command=command, log_dir=root / "logs"
    )
    plan = [s for s in services for _ in range(kills_per_service)]
    random.shuffle(plan)
    tally, faults = Tally(), Faults()
    began = time.monotonic()
    try:
        addresses = suite.start()
        asyncio.run(prepare_person(folder, addresses, tls=True))

        async def load() -> float:
            stopping, done = asyncio.Event(), threading.Event()
            ca = folder.pki.workload_ca
            token = folder.identity.institution(LENDER, ["gjeld:lookup"], audience("lookup"), ttl_seconds=3600)
            async with (
                secure_channel(addresses["ingest"]["certificate"], ca, folder.pki.institution(BANK)) as bank,
                secure_channel(addresses["lookup"]["certificate"], ca, folder.pki.institution(LENDER)) as lender,
            ):
                clients = [
                    asyncio.create_task(_deliver(bank, tally, stopping)),
                    *(asyncio.create_task(_look_up(lender, token, tally, stopping, w)) for w in range(2)),
                ]
                chaos = threading.Thread(
                    target=_kill_and_restart,
                    args=(
                        suite,
                        plan,
                        faults,
                        postgres if postgres_restart else {},
                        lambda: _answered_from_the_database(folder, addresses),
                        done,
                    ),
                )
                chaos.start()
                while not done.is_set() and not any(c.done() for c in clients):
                    await asyncio.sleep(0.2)
                stopping.set()
                await asyncio.gather(*clients)  # each finishes what it has begun: acknowledged, or it raises
                chaos.join()
            if faults.error is not None:
                raise faults.error
            return await _drained(socket, timeout=180)

        drain = asyncio.run(load())
        held = asyncio.run(_held(socket))
    finally:
        suite.stop()
        postgres["server"].cleanup()
    # What the services themselves answered INTERNAL (each such answer is logged as an unexpected failure).
    for log_file in sorted((root / "logs").glob("*.log")):
        for line in log_file.read_text(errors="replace").splitlines():
            if "unexpected failure in" in line:
                tally.unexpected.append(f"{log_file.stem}: {line[line.index('unexpected failure') :]}")
    channels = DevelopmentChannels(folder.mailbox)
    delivered = Counter(channels.deliveries())
    letters_lost = [d for d in tally.disclosures if d not in held["noticed"]]
    notices_of_disclosures = {held["noticed"][d] for d in tally.disclosures if d in held["noticed"]}
    not_delivered = [n for n in notices_of_disclosures if n not in delivered]
    twice = sum(count - 1 for count in delivered.values())
    lost_accounts = tally.accounts - held["accounts"]
    lost_disclosures = tally.disclosures - set(held["disclosures"])

    title = "NEGATIVE CONTROL (a careless mailbox provider)" if control else "the suite as it is"
    print(f"\n== {title}: {time.monotonic() - began:.0f} s, queues drained {drain:.1f} s after the load stopped")
    print("  faults")
    for service in services:
        times = faults.kills.get(service, [])
        if times:
            print(
                f"    {service:<8} SIGKILL x{len(times):<3} serving again after"
                f" median {statistics.median(times):.2f} s,"
                f" slowest {max(times):.2f} s"
            )
    for took in faults.postgres:
        print(f"    PostgreSQL restarted once: every service answered from the database again {took:.2f} s after")
    print("  acknowledged to the clients")
    print(f"    deliveries {tally.deliveries} ({len(tally.accounts)} debts), lookups {tally.lookups}")
    print(f"    attempts retried {tally.retries}: {dict(tally.codes.most_common())}")
    for line in tally.unexpected[:10]:
        print(f"      unexpected: {line}")
    print("  held")
    print(f"    register: {len(held['accounts'])} of those debts, in {held['deliveries']} deliveries")
    print(f"    disclosure log: {len(held['disclosures'])} disclosures; consent: {held['uses']} uses")
    print(
        f"    notify: {len(notices_of_disclosures)} notices for them {held['notices']};"
        f" mailboxes: {len(delivered)} letters, {sum(delivered.values())} deliveries"
        f" ({len(channels.duplicates())} repeated sends absorbed by the idempotency key)"
    )
    # Each kind of loss or duplicate counted on its own, so that none can cancel another out.
    uses_lost = max(0, len(tally.disclosures) - held["uses"])
    uses_twice = max(0, held["uses"] - len(held["disclosures"]))
    lost = len(lost_accounts) + len(lost_disclosures) + len(letters_lost) + len(not_delivered) + uses_lost
    duplicated = (
        max(0, held["deliveries"] - tally.deliveries)
        + held["debt_rows_twice"]
        + len(set(held["disclosures"]) - tally.disclosures)
        + held["uses_without_disclosure"]
        + uses_twice
        + twice
    )
    print("  lost")
    print(
        f"    acknowledged debts missing {len(lost_accounts)}, disclosures missing {len(lost_disclosures)},"
        f" disclosures without a notice {len(letters_lost)}, notices never delivered {len(not_delivered)},"
        f" consent uses missing {uses_lost}"
        f" (copy letters set aside {held['letters_set_aside']})"
    )
    print("  duplicated")
    print(
        f"    deliveries recorded twice {held['deliveries'] - tally.deliveries}, debts twice {held['debt_rows_twice']},"
        f" unacknowledged disclosures {len(set(held['disclosures']) - tally.disclosures)},"
        f" consent uses without a disclosure {held['uses_without_disclosure']}, uses counted twice {uses_twice},"
        f" letters delivered twice {twice}"
    )
    slowest = max((max(t) for t in faults.kills.values() if t), default=0.0)
    print(f"  lost={lost} duplicated={duplicated} slowest_restart={slowest:.2f}s unexpected={len(tally.unexpected)}")
    return Outcome(lost, duplicated, slowest, len(tally.unexpected))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=50, help="SIGKILLs of each stateful service in the real run")
    parser.add_argument("--control-kills", type=int, default=15, help="SIGKILLs of notify in the negative control")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the runs' data and logs (the folder is printed)")
    parser.add_argument("--no-control", action="store_true", help="the real run alone")
    parser.add_argument("--serve-careless-notify", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_careless_notify:
        _serve_careless_notify()
        return 0
    random.seed(args.seed)
    root = Path(tempfile.mkdtemp(prefix="gjeld-faults-"))
    try:
        real = run(root / "real", args.kills, STATEFUL, control=False, postgres_restart=True)
        broken = (
            Outcome(0, 1, 0.0, 0)
            if args.no_control
            else run(root / "control", args.control_kills, ("notify",), control=True, postgres_restart=False)
        )
    finally:
        if args.keep:
            print(f"(kept: {root})")
        else:
            shutil.rmtree(root, ignore_errors=True)
    ok = real.lost == 0 and real.duplicated == 0 and real.slowest < SERVE_AGAIN_GOAL and real.unexpected == 0
    shown = broken.lost + broken.duplicated > 0
    print(
        f"\nthe suite: lost {real.lost}, duplicated {real.duplicated}, slowest restart {real.slowest:.2f} s,"
        f" INTERNAL or UNKNOWN answers {real.unexpected} (goal 0, 0, under {SERVE_AGAIN_GOAL:g} s, 0):"
        f" {'held' if ok else 'FAILED'}"
    )
    print(
        f"the negative control: lost {broken.lost}, duplicated {broken.duplicated}:"
        f" {'the program can fail' if shown else 'FAILED: the program saw nothing wrong in a broken suite'}"
    )
    return 0 if ok and shown else 1


if __name__ == "__main__":
    sys.exit(main())
