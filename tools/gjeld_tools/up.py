"""`gjeld up` (make up): the whole registry on one machine, until Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import devstack
from .cli import data_folder, listen_addresses
from .dev_pki import REGISTRY_ORGANIZATION

FAKE_BANK = "127.0.0.1:50061"
PORTAL_ADDRESS = os.environ.get("GJELD_PORTAL_ADDRESS", devstack.DEFAULT_PORTAL_ADDRESS)
IDPORTEN_ADDRESS = os.environ.get("GJELD_IDPORTEN_ADDRESS", devstack.DEFAULT_IDPORTEN_ADDRESS)


class Restarts:
    """When to restart a service that stopped, as Kubernetes does (CrashLoopBackOff): at once the first times, then
    after pauses that double, up to 30 s, for one that keeps stopping within a minute."""

    def __init__(self, stop: threading.Event) -> None:
        self._stop = stop
        self._times: dict[str, list[float]] = {}

    def pause(self, service: str) -> float:
        moment = time.monotonic()
        recent = [t for t in self._times.get(service, []) if moment - t < 60] + [moment]
        self._times[service] = recent
        return 0.0 if len(recent) <= 3 else min(30.0, 2.0 ** (len(recent) - 4))


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
    run, logs = folder.root / "run", folder.root / "logs"
    web: dict[str, subprocess.Popen[bytes]] = {}

    def start_idporten() -> str:
        command = [sys.executable, "-m", "gjeld_tools.dev_idporten", "--listen", IDPORTEN_ADDRESS]
        command += ["--port-file", str(run / "idporten.port")]
        out = (logs / "idporten.log").open("ab")
        web["ID-porten"], address = devstack.start_http(command, {}, run / "idporten.port", out)
        return f"http://{address}"

    def start_portal(idporten_url: str) -> str:
        internal = {name: at["certificate"] for name, at in suite.addresses.items()}
        env = devstack.portal_env(folder, internal, PORTAL_ADDRESS, idporten_url, socket, "gjeld")
        out = (logs / "portal.log").open("ab")
        command = [sys.executable, "-m", "gjeld_portal", "serve"]
        web["Min gjeld"], address = devstack.start_http(command, env, run / "portal.port", out)
        return f"http://{address}"

    try:
        addresses = suite.start()
        idporten_url = start_idporten()
        portal_url = start_portal(idporten_url)
        print("\ngjeld is running over TLS (Ctrl-C stops everything):\n")
        print(f"  {'service':<9} {'mutual TLS':<17} {'TLS (tokens)':<17} {'health':<17} schema / role")
        for service in ("ingest", "lookup", "consent", "notify"):
            at = addresses[service]
            print(
                f"  {service:<9} {at['certificate']:<17} {at['token']:<17} {at['health']:<17} "
                f"{service} / {devstack.role(service)}"
            )
        print(f"  {'fake bank':<9} {FAKE_BANK:<17} Fjordbanken's gjeld.creditor.v1 (live answers, snapshots)")
        print(f"\n  Min gjeld    {portal_url}/   (the person's pages; log in as a synthetic person)")
        print(f"  ID-porten    {idporten_url}/   (the development identity provider)")
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
        supervisor = Restarts(stop)
        while not stop.wait(0.2):
            if not devstack.postgres_running(folder.pgdata):
                print("\nPostgreSQL stopped unexpectedly; restarting it …", flush=True)
                server = devstack.restart_postgres(server, folder.pgdata)
                print("PostgreSQL is running again", flush=True)
            for service, process in list(suite.processes.items()):
                if process.poll() is not None and not stop.is_set():
                    pause = supervisor.pause(service)
                    print(
                        f"\n{service} stopped unexpectedly (exit {process.returncode}); restarting it"
                        f"{f' in {pause:g} s' if pause else ''} (its log: {folder.root / 'logs' / service}.log) …",
                        flush=True,
                    )
                    if not stop.wait(pause):
                        try:
                            print(f"{service} is serving again, {suite.restart(service):.1f} s after", flush=True)
                        except (RuntimeError, TimeoutError) as error:
                            print(f"{service} did not start: {error}; trying again", flush=True)
            for name, process in list(web.items()):
                if process.poll() is not None and not stop.is_set():
                    print(f"\n{name} stopped unexpectedly (exit {process.returncode}); restarting it", flush=True)
                    try:
                        start_idporten() if name == "ID-porten" else start_portal(idporten_url)
                    except (RuntimeError, TimeoutError) as error:
                        print(f"{name} did not start: {error}; trying again", flush=True)
            if bank.poll() is not None and not stop.is_set():
                print(f"\nthe fake bank stopped unexpectedly (exit {bank.returncode}); restarting it", flush=True)
                bank = subprocess.Popen(bank.args, stdout=bank_log, stderr=bank_log)
    finally:
        print("\nstopping …", flush=True)
        for process in web.values():
            process.terminate()
        codes: dict[str, int | None] = {name: process.wait(10) for name, process in web.items()}
        codes.update(suite.stop())
        bank.terminate()
        codes["fake bank"] = bank.wait(10)
        server.cleanup()
        print(
            "stopped: " + ", ".join(f"{s} exit {c}" for s, c in codes.items()) + "; the data is kept under "
            f"{folder.root}",
            flush=True,
        )
    return 0
