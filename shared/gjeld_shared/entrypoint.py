"""The command line of every service: `python -m gjeld_<service> serve|migrate`."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path

import uvloop

from . import db
from .server import ServiceRuntime
from .settings import ServiceSettings
from .telemetry import configure_logging


def service_main(
    name: str, settings_type: type[ServiceSettings], build: Callable[..., ServiceRuntime], migrations: Path
) -> None:
    parser = argparse.ArgumentParser(prog=f"gjeld-{name}", description=f"gjeld's {name} service")
    parser.add_argument(
        "command",
        choices=["serve", "migrate"],
        help="serve: run the gRPC server until SIGTERM; migrate: bring the schema up to date",
    )
    args = parser.parse_args()
    settings = settings_type()  # type: ignore[call-arg]
    configure_logging(f"gjeld-{name}", settings.log_level)
    if args.command == "migrate":
        db.upgrade(settings.database_url, migrations)
        return

    async def serve() -> None:
        # Built inside the loop: gRPC channels bind to the running loop.
        await build(settings).run()

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(serve())
