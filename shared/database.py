"""Database server resolution (external or embedded), engine, and the per-request session."""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from sqlalchemy.engine import Result, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.sql.expression import Executable
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.embedded_db import EmbeddedPostgres
from shared.settings import Settings


@contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """Yield the URL of the application database: DATABASE_URL, or the embedded server's.

    The embedded server is started when needed and stopped on exit only if this call started it,
    so a server that `just serve` is running is left alone by `just migrate`.
    """
    if settings.database_url:
        yield settings.database_url
        return
    server = EmbeddedPostgres(settings.embedded_pg_dir, settings.embedded_pg_user)
    started = server.start()
    try:
        yield server.url(settings.database_name)
    finally:
        if started:
            server.stop()


@asynccontextmanager
async def database_url_async(settings: Settings) -> AsyncIterator[str]:
    """`database_url` for async code: start/stop run in a thread, off the event loop."""
    manager = database_url(settings)
    url = await asyncio.to_thread(manager.__enter__)
    try:
        yield url
    finally:
        await asyncio.to_thread(manager.__exit__, None, None, None)


def asyncpg_connect_args(url: str, database: str | None = None) -> dict[str, Any]:
    """asyncpg.connect() keyword arguments for a SQLAlchemy URL (TCP or unix-socket `?host=`)."""
    parsed = make_url(url)
    query_host = parsed.query.get("host")
    query_port = parsed.query.get("port")
    port = parsed.port or (int(str(query_port)) if query_port else None)
    return {
        "host": parsed.host or (str(query_host) if query_host else None),
        "port": port,
        "user": parsed.username,
        "password": parsed.password,
        "database": database or parsed.database,
    }


async def connect(url: str, database: str | None = None) -> asyncpg.Connection:
    return await asyncpg.connect(**asyncpg_connect_args(url, database), timeout=10)


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
        await conn.execute(f'CREATE DATABASE "{name}"')
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


class DatabaseUnavailableError(Exception):
    """No connection could be made (server down, unreachable, starting, refusing us)."""


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    connect_args = asyncpg_connect_args(url)
    server_settings = {
        "application_name": "pagila-api",
        "statement_timeout": str(settings.db_statement_timeout_ms),
    }

    async def connect() -> asyncpg.Connection:
        # asyncpg raises plain OSErrors when it cannot connect; give them one unmistakable
        # type, so that only these (not any OSError in a request) become a 503.
        try:
            return await asyncpg.connect(
                **connect_args,
                timeout=settings.db_connect_timeout_s,
                server_settings=server_settings,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseUnavailableError(f"cannot connect to the database: {exc}") from exc

    return create_async_engine(
        url,
        async_creator=connect,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        pool_pre_ping=True,
    )


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessionmaker


SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


async def get_session(
    sessionmaker: Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)],
) -> AsyncIterator[AsyncSession]:
    """One session and one transaction per request: committed on success, rolled back on error."""
    async with sessionmaker() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


SessionDep = Annotated[AsyncSession, Depends(get_session)]


async def execute(
    session: AsyncSession, statement: Executable, params: dict[str, Any] | None = None
) -> Result[Any]:
    """Run a Core statement (multi-column selects, INSERT/UPDATE ... RETURNING) in the session's
    transaction. sqlmodel's `exec()` is typed only for entity and single-column selects."""
    connection = await session.connection()
    return await connection.execute(statement, params)


def violated_constraint(exc: IntegrityError) -> str | None:
    """The name of the constraint or index an INSERT/UPDATE violated (asyncpg reports it)."""
    cause = exc.orig.__cause__ if exc.orig is not None else None
    name = getattr(cause, "constraint_name", None)
    return name if isinstance(name, str) else None
