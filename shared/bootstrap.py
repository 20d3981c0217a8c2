"""Prepare the database for the app: server up, Pagila restored once, migrations applied.

python -m shared.bootstrap prepare   # idempotent; what `just serve` runs
python -m shared.bootstrap restore   # Pagila only, no migrations (`just migrate` runs alembic)
python -m shared.bootstrap reset     # drop the database and prepare it again
"""

import argparse
import asyncio
import sys

import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from shared import pagila
from shared.database import connect, database_url_async, drop_database, ensure_database_exists
from shared.embedded_db import EmbeddedPostgresError
from shared.logging_setup import configure_logging
from shared.settings import PROJECT_ROOT, Settings, get_settings

log = structlog.get_logger(__name__)


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = url
    return config


async def restore_pagila_if_needed(url: str, settings: Settings) -> bool:
    """Returns True when Pagila was restored by this call."""
    await ensure_database_exists(url)
    conn = await connect(url)
    try:
        if await pagila.is_restored(conn):
            return False
        files = await pagila.obtain_files(
            settings.pagila_dir, settings.pagila_cache_dir, settings.pagila_base_url
        )
        await pagila.restore(conn, files)
        return True
    finally:
        await conn.close()


async def migrate(url: str, revision: str = "head") -> None:
    # Alembic's async env runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)


async def prepare(url: str, settings: Settings) -> None:
    await restore_pagila_if_needed(url, settings)
    await migrate(url)
    log.info("database.ready", database=make_url(url).database)


async def _main(action: str) -> None:
    settings = get_settings()
    async with database_url_async(settings) as url:
        if action == "reset":
            await drop_database(url)
        if action == "restore":
            await restore_pagila_if_needed(url, settings)
        else:
            await prepare(url, settings)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.bootstrap")
    parser.add_argument("action", choices=["prepare", "restore", "reset"])
    args = parser.parse_args(argv)
    configure_logging(get_settings())
    try:
        asyncio.run(_main(args.action))
    except (pagila.PagilaError, EmbeddedPostgresError, OSError) as exc:
        log.error("bootstrap.failed", error=str(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
