"""Alembic environment: async engine; only the tables we model are compared by autogenerate."""

import asyncio

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.schema import SchemaItem

from devenv.database import PROVISIONING_SESSION, database_url, direct_url
from devenv.settings import get_dev_settings
from shared.database.models import metadata
from shared.observability.logs import configure_logging
from shared.settings import get_settings

config = context.config


def include_object(
    obj: SchemaItem,
    name: str | None,
    type_: str,
    reflected: bool,
    compare_to: SchemaItem | None,
) -> bool:
    """Pagila has many tables, columns, indexes and keys we do not model. Something that exists
    only in the database is ignored, never dropped; all we model is compared."""
    return not (reflected and compare_to is None)


def _run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include_object,
        compare_type=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = create_async_engine(
        url, poolclass=pool.NullPool, connect_args={"server_settings": PROVISIONING_SESSION}
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run_migrations)
    finally:
        await engine.dispose()


def run_migrations_online() -> None:
    url = config.attributes.get("database_url")
    if url:
        asyncio.run(_run_async(url))
        return
    # Plain `alembic ...` from the shell: DATABASE_URL, or the embedded server (started if needed).
    settings = get_settings()
    configure_logging(settings)
    dev = get_dev_settings()
    with database_url(settings, dev) as resolved:
        asyncio.run(_run_async(direct_url(resolved, settings, dev)))


if context.is_offline_mode():
    raise SystemExit("offline (--sql) mode is not supported: run against a database")
run_migrations_online()
