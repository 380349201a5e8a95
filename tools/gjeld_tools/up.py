"""`gjeld up` (make up): the whole registry on one machine, until Ctrl-C."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import threading
from pathlib import Path

from . import devstack
from .cli import data_folder, listen_addresses
from .dev_pki import REGISTRY_ORGANIZATION

FAKE_BANK = "127.0.0.1:50061"


def up() -> int:
    folder = data_folder()
    folder.root.mkdir(parents=True, exist_ok=True)
    print(f"starting the embedded PostgreSQL under {folder.pgdata} …", flush=True)
    server = devstack.start_postgres(folder.pgdata)
    socket = devstack.socket_dir(server)
    asyncio.run(devstack.provision(socket, "gjeld"))
    devstack.migrate(socket, "gjeld")
    folder.ensure_secrets()
    (folder.root / "logs").mkdir(exist_ok=True)
    suite = devstack.Suite(
        folder, socket, listen={s: listen_addresses(s) for s in devstack.SERVICES}, log_dir=folder.root / "logs"
    )
    # Fjordbanken's live answers and snapshots (gjeld.creditor.v1), at the endpoint institutions.dev.json names.
    bank_identity = folder.pki.bank("fjordbanken")
    bank_log = (folder.root / "logs" / "fake-bank.log").open("ab")
    bank = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gjeld_tools.fake_bank",
            "--nogi",
            str(Path(__file__).parent / "demo-delivery.json"),
            "--listen",
            FAKE_BANK,
            "--certificate",
            str(bank_identity.certificate_file),
            "--key",
            str(bank_identity.key_file),
            "--client-ca",
            str(folder.pki.enterprise_ca),
            "--registry",
            REGISTRY_ORGANIZATION,
        ],
        stdout=bank_log,
        stderr=bank_log,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    try:
        addresses = suite.start()
        print("\ngjeld is running over TLS (Ctrl-C stops everything):\n")
        print(f"  {'service':<9} {'mutual TLS':<17} {'TLS (tokens)':<17} {'health':<17} schema / role")
        for service in ("ingest", "lookup", "consent", "notify"):
            at = addresses[service]
            print(
                f"  {service:<9} {at['certificate']:<17} {at['token']:<17} {at['health']:<17} "
                f"{service} / {devstack.role(service)}"
            )
        print(f"  {'fake bank':<9} {FAKE_BANK:<17} Fjordbanken's gjeld.creditor.v1 (live answers, snapshots)")
        print(f"\n  certificates {folder.pki.root}/ (CA: workload-ca.pem)")
        print(f"\n  PostgreSQL   {socket} (database gjeld)")
        print(f"  traces       {folder.traces}/<service>.jsonl")
        print(f"  letters      {folder.mailbox}/")
        print(f"  logs         {folder.root / 'logs'}/")
        print(
            "\nTry it, in another terminal:\n"
            "  make demo                      # the whole story\n"
            "  .venv/bin/gjeld --help         # each step by hand\n"
            "  .venv/bin/gjeld my debt --as-subject 14842249091\n",
            flush=True,
        )
        while not stop.wait(1.0):
            dead = [s for s, p in suite.processes.items() if p.poll() is not None]
            if dead:
                print(f"\n{', '.join(dead)} stopped unexpectedly; see {folder.root / 'logs'}", flush=True)
                break
    finally:
        print("\nstopping …", flush=True)
        codes = suite.stop()
        bank.terminate()
        codes["fake bank"] = bank.wait(10)
        server.cleanup()
        print(
            "stopped: " + ", ".join(f"{s} exit {c}" for s, c in codes.items()) + "; the data is kept under "
            f"{folder.root}",
            flush=True,
        )
    return 0
