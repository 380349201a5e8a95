"""`python -m gjeld_portal serve|migrate`: Min gjeld until SIGTERM, or its sessions' schema brought up to date."""

from __future__ import annotations

import argparse
import asyncio

import uvloop
from gjeld_shared import db
from gjeld_shared.settings import DatabaseSettings
from gjeld_shared.telemetry import configure_logging

from .bootstrap import MIGRATIONS, NAME, HttpServer, build
from .settings import PortalSettings


def main() -> None:
    parser = argparse.ArgumentParser(prog="gjeld-portal", description="Min gjeld: the person's own pages")
    parser.add_argument(
        "command",
        choices=["serve", "migrate"],
        help="serve: serve the pages until SIGTERM; migrate: bring the sessions' schema up to date",
    )
    args = parser.parse_args()
    if args.command == "migrate":
        database = DatabaseSettings()  # type: ignore[call-arg]
        configure_logging(f"gjeld-{NAME}", database.log_level)
        db.upgrade(database.database(), MIGRATIONS)
        return
    settings = PortalSettings()  # type: ignore[call-arg]
    configure_logging(f"gjeld-{NAME}", settings.log_level)

    async def serve() -> None:
        # Built inside the loop: gRPC channels bind to the running loop.
        await HttpServer(settings.portal_address).run(build(settings), settings.port_file)

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    asyncio.run(serve())


if __name__ == "__main__":
    main()
