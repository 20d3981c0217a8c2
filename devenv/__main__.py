"""Provisioning commands (what `just migrate` and `just db-reset` run).

python -m devenv prepare   # database + Pagila + migrations; idempotent
python -m devenv restore   # Pagila only, no migrations (`just migrate` runs alembic next)
python -m devenv reset     # drop the database and prepare it again
python -m devenv stop      # stop the embedded PostgreSQL if it is running
"""

import argparse
import asyncio
import sys

import structlog

from devenv import pagila
from devenv.database import database_url_async, drop_database, prepare, restore_pagila_if_needed
from devenv.embedded_postgres import EmbeddedPostgres, EmbeddedPostgresError
from devenv.pagila import PagilaError
from devenv.settings import DevSettings, get_dev_settings
from shared.observability import configure_logging
from shared.settings import Settings, get_settings

log = structlog.get_logger("devenv")


async def _run(action: str, settings: Settings, dev: DevSettings) -> None:
    async with database_url_async(settings, dev) as url:
        if action == "reset":
            # Obtain and verify the files first: offline, a reset must not destroy a database
            # it cannot rebuild.
            await pagila.obtain_files(dev.pagila_dir, dev.pagila_cache_dir, dev.pagila_base_url)
            await drop_database(url)
        if action == "restore":
            await restore_pagila_if_needed(url, dev)
        else:
            await prepare(url, dev)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devenv")
    parser.add_argument("action", choices=["prepare", "restore", "reset", "stop"])
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings)
    dev = get_dev_settings()
    try:
        if args.action == "stop":
            EmbeddedPostgres(dev.embedded_pg_dir, dev.embedded_pg_user).stop()
        else:
            asyncio.run(_run(args.action, settings, dev))
    except (PagilaError, EmbeddedPostgresError, OSError) as exc:
        log.error("devenv.failed", action=args.action, error=str(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
