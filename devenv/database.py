"""The application database, provisioned: which server (DATABASE_URL or the embedded one), the
database created if missing, Pagila restored once (then VACUUM ANALYZE), migrations applied."""

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

import asyncpg
import structlog
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from devenv import pagila
from devenv.embedded_postgres import EmbeddedPostgres, EmbeddedPostgresError
from devenv.settings import DevSettings
from shared.database.connections import asyncpg_connect_args
from shared.observability.telemetry import restarts
from shared.settings import PROJECT_ROOT, Settings

log = structlog.get_logger(__name__)

# Serialises preparation between processes (several uvicorn workers start at once).
_PREPARE_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"pagila-api:prepare").digest()[:8], "big", signed=True
)


# Provisioning's sessions (on PostgreSQL itself, never a pooler) take as long as they need: behind
# a pooler the app's statement timeout is the role's setting in the database (see
# `set_role_statement_timeout`), and it must not cut short a restore, a migration, or the wait
# for another worker's.
PROVISIONING_SESSION = {"statement_timeout": "0"}


class DatabaseConnectError(RuntimeError):
    """The database server cannot be reached: the message names host and port."""


@contextmanager
def database_url(settings: Settings, dev: DevSettings) -> Iterator[str]:
    """Yield the URL of the application database: DATABASE_URL, or the embedded server's.

    The embedded server is started when needed and this process counts among its users until
    the block ends; it is stopped then only if no other process uses it (a second `just serve`,
    or `just migrate` beside `just serve`)."""
    if settings.database_url:
        yield settings.database_url
        return
    server = embedded_server(dev)
    server.start()
    try:
        yield server.url(dev.database_name)
    finally:
        server.release()


class PoolerWithoutDirectURLError(RuntimeError):
    """DB_POOLER=transaction with nowhere to provision: DATABASE_DIRECT_URL is unset."""


def direct_url(app_url: str, settings: Settings, dev: DevSettings) -> str:
    """Where provisioning and migrations connect: PostgreSQL itself (DATABASE_DIRECT_URL) when
    the app's URL is a transaction-mode pooler, else the app's URL."""
    if dev.database_direct_url:
        return dev.database_direct_url
    if settings.db_pooler == "transaction":
        raise PoolerWithoutDirectURLError(
            "DB_POOLER=transaction: set DATABASE_DIRECT_URL to PostgreSQL itself (not the "
            "pooler) for creating, restoring and migrating the database, which need a session "
            "of their own; or PREPARE_DATABASE=false when that is done elsewhere"
        )
    return app_url


def role_statement_timeout(app_url: str, settings: Settings) -> tuple[str, int]:
    """(the app's role, DB_STATEMENT_TIMEOUT_MS): what `set_role_statement_timeout` sets."""
    return make_url(app_url).username or "postgres", settings.db_statement_timeout_ms


def pooled_statement_timeout(app_url: str, settings: Settings) -> tuple[str, int] | None:
    """The role's statement timeout when it must be set in the database (DB_POOLER=transaction:
    the pooler refuses it as a start-up parameter)."""
    if settings.db_pooler != "transaction":
        return None
    return role_statement_timeout(app_url, settings)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def set_role_statement_timeout(conn: asyncpg.Connection, role: str, ms: int) -> None:
    database = await conn.fetchval("SELECT current_database()")
    await conn.execute(
        f"ALTER ROLE {_ident(role)} IN DATABASE {_ident(database)} "
        f"SET statement_timeout = {int(ms)}"
    )
    log.info("database.role_statement_timeout", role=role, statement_timeout_ms=ms)


def embedded_server(dev: DevSettings) -> EmbeddedPostgres:
    return EmbeddedPostgres(dev.embedded_pg_dir, dev.embedded_pg_user)


@asynccontextmanager
async def database_url_async(settings: Settings, dev: DevSettings) -> AsyncIterator[str]:
    """`database_url` for async code: start/stop run in a thread, off the event loop; an
    embedded server is supervised meanwhile: started again within a second or two when its
    postmaster dies (killed, crashed), as the local model server is."""
    manager = database_url(settings, dev)
    url = await asyncio.to_thread(manager.__enter__)
    supervisor = None
    if not settings.database_url:
        supervisor = asyncio.create_task(_supervise(embedded_server(dev)))
    try:
        yield url
    finally:
        if supervisor is not None:
            supervisor.cancel()
            await asyncio.gather(supervisor, return_exceptions=True)
        await asyncio.to_thread(manager.__exit__, None, None, None)


SUPERVISE_EVERY_S = 1.0


async def _supervise(server: EmbeddedPostgres) -> None:
    delay = SUPERVISE_EVERY_S
    while True:
        await asyncio.sleep(delay)
        try:
            if await asyncio.to_thread(server.restart_if_dead):
                restarts.add(1, {"component": "postgres"})
            delay = SUPERVISE_EVERY_S
        except (EmbeddedPostgresError, OSError) as exc:  # e.g. old backends still hold its memory
            delay = min(delay * 2, 30.0)
            log.warning("embedded_postgres.restart_failed", error=str(exc)[:300], retry_in_s=delay)


async def connect(url: str, database: str | None = None) -> asyncpg.Connection:
    args = asyncpg_connect_args(url)
    if database is not None:
        args["database"] = database
    try:
        return await asyncpg.connect(**args, timeout=10, server_settings=PROVISIONING_SESSION)
    except (OSError, TimeoutError) as exc:  # refused, unreachable, no such host: say where
        where = f"{args['host'] or 'localhost'}:{args['port'] or 5432}"
        raise DatabaseConnectError(
            f"cannot connect to PostgreSQL at {where} ({exc.strerror or type(exc).__name__}): "
            "start it, or fix DATABASE_URL's host and port"
        ) from exc


def with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


async def ensure_database_exists(url: str) -> bool:
    """Create the URL's database if the server lacks it. Returns True when it was created."""
    name = make_url(url).database
    assert name, f"no database name in {url!r}"
    conn = await connect(url, database="postgres")
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            # Another process created it a moment ago (two CREATE DATABASE at the same instant:
            # the loser gets a unique violation on pg_database's name index, not "exists").
            return False
        return True
    finally:
        await conn.close()


async def drop_database(url: str) -> None:
    name = make_url(url).database
    conn = await connect(url, database="postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def restore_pagila_if_needed(url: str, dev: DevSettings) -> bool:
    """Returns True when Pagila was restored by this call."""
    await ensure_database_exists(url)
    conn = await connect(url)
    try:
        if await pagila.is_restored(conn):
            return False
        files = await pagila.obtain_files(dev.pagila_dir, dev.pagila_cache_dir, dev.pagila_base_url)
        await pagila.restore(conn, files)
        # A restore leaves no planner statistics and no visibility map (autovacuum may be off,
        # and is slow to get there): without them every index-only scan reads the heap.
        await conn.execute("VACUUM ANALYZE")
        log.info("pagila.vacuumed")
        return True
    finally:
        await conn.close()


def alembic_config(url: str) -> Config:
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "migrations"))
    config.attributes["database_url"] = url
    return config


async def migrate(url: str, revision: str = "head") -> None:
    # Alembic's async env runs its own event loop, so it gets a thread of its own.
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)


async def prepare(
    url: str, dev: DevSettings, role_statement_timeout: tuple[str, int] | None = None
) -> None:
    """Idempotent: database created, Pagila restored, migrations at head, and the role's
    statement timeout set when given (see `pooled_statement_timeout`). Several processes may
    call it at once: a PostgreSQL advisory lock lets one work while the others wait."""
    await ensure_database_exists(url)
    lock = await connect(url)
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", _PREPARE_LOCK_KEY)
        await restore_pagila_if_needed(url, dev)
        await migrate(url)
        if role_statement_timeout is not None:
            await set_role_statement_timeout(lock, *role_statement_timeout)
    finally:
        await lock.close()  # releases the lock
    log.info("database.ready", database=make_url(url).database)


@asynccontextmanager
async def provisioned_database(settings: Settings, dev: DevSettings) -> AsyncIterator[str]:
    """The app's database URL for its lifetime: the embedded server started (once) if needed,
    and the database prepared when PREPARE_DATABASE is on."""
    async with database_url_async(settings, dev) as url:
        if dev.prepare_database:
            await prepare(
                direct_url(url, settings, dev), dev, pooled_statement_timeout(url, settings)
            )
        yield url
