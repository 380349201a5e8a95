"""The command line of every service: `python -m gjeld_<service> serve|migrate|rekey`."""

from __future__ import annotations

import argparse
import asyncio
import gc
from collections.abc import Callable, Sequence
from pathlib import Path

import uvloop

from . import db
from .identity_numbers import load_subject_keys
from .rekey import Protected, rekey_database
from .server import ServiceRuntime
from .settings import ServiceSettings
from .telemetry import configure_logging


def service_main(
    name: str,
    settings_type: type[ServiceSettings],
    build: Callable[..., ServiceRuntime],
    migrations: Path,
    protected: Sequence[Protected],
) -> None:
    parser = argparse.ArgumentParser(prog=f"gjeld-{name}", description=f"gjeld's {name} service")
    parser.add_argument(
        "command",
        choices=["serve", "migrate", "rekey"],
        help="serve: run the gRPC server until SIGTERM; migrate: bring the schema up to date; "
        "rekey: bring stored identity numbers up to the current keys of the key file, with the service stopped",
    )
    args = parser.parse_args()
    settings = settings_type()  # type: ignore[call-arg]
    configure_logging(f"gjeld-{name}", settings.log_level)
    if args.command == "migrate":
        db.upgrade(settings.database(), migrations)
        return
    if args.command == "rekey":
        keys = load_subject_keys(settings.subject_keys_file)
        counts = asyncio.run(rekey_database(settings.database(), keys, protected))
        current = f"index key {keys.current_index_key_id}, encryption key {keys.current_key_id}"
        for table, rows in counts.items():
            print(f"{table}: {rows} rows brought up to {current}")
        return

    async def serve() -> None:
        # Built inside the loop: gRPC channels bind to the running loop.
        await build(settings).run()

    out_of_the_collectors_way()
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(serve())


# A service makes and drops many short-lived objects a call (messages, rows, spans); with the default threshold (700)
# the collector runs every few hundred of them and, each tenth time, walks everything the process imported. The
# modules' objects are moved out of its sight (freeze) and it runs less often; reference counting frees the rest.
COLLECT_AFTER = 50_000


def out_of_the_collectors_way() -> None:
    gc.freeze()
    gc.set_threshold(COLLECT_AFTER, 20, 100)
