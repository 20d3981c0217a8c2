"""How connections are made: the engine's pool (transactions) and the driver's pools (reads and
one-statement writes), with the server settings and statement options each needs (directly on
PostgreSQL, or behind a pooler)."""

from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from shared.database.errors import ConnectFailedError
from shared.settings import Settings

# How our connections show in pg_stat_activity.
APPLICATION_NAME = "pagila-api"


def asyncpg_connect_args(url: str) -> dict[str, Any]:
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
        "database": parsed.database,
    }


def _server_settings(settings: Settings) -> dict[str, str]:
    if settings.db_pooler == "transaction":
        # PgBouncer refuses statement_timeout as a start-up parameter ("unsupported startup
        # parameter"): behind it the timeout is the role's setting in the database.
        return {"application_name": APPLICATION_NAME}
    return {
        "application_name": APPLICATION_NAME,
        "statement_timeout": str(settings.db_statement_timeout_ms),
    }


def _statement_cache_size(settings: Settings) -> int:
    """asyncpg's cache of named prepared statements: none behind a transaction-mode pooler,
    where a statement prepared in one transaction may be looked for on another server
    connection, or collide there with another client's of the same name. Without it asyncpg
    uses the unnamed statement, and sends its Parse again with the Bind/Execute/Sync (for
    PgBouncer, says asyncpg): the execution stands alone, whichever server connection gets it.
    The cost: the describe round trip, and a parse and plan per execution."""
    return 0 if settings.db_pooler == "transaction" else 100


def _unnamed() -> str:
    return ""


def create_engine(url: str, settings: Settings) -> AsyncEngine:
    """The engine for transactions' sessions."""
    connect_args = asyncpg_connect_args(url)
    server_settings = _server_settings(settings)

    async def connect() -> asyncpg.Connection:
        try:
            return await asyncpg.connect(
                **connect_args,
                timeout=settings.db_connect_timeout_s,
                server_settings=server_settings,
                statement_cache_size=_statement_cache_size(settings),
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise ConnectFailedError(f"cannot connect to the database: {exc}") from exc

    pooled = settings.db_pooler == "transaction"

    def creator() -> Any:
        # create_async_engine's `async_creator`, plus the adapter's own statement options.
        # Behind a pooler: no statement cache, and explicitly the unnamed statement (asyncpg's
        # name ""): a named one per execution would stay on a server connection for the
        # pooler's server_lifetime (an hour of writes: a leak in the server's memory).
        return engine.sync_engine.dialect.dbapi.connect(  # type: ignore[union-attr]
            async_creator_fn=connect,
            prepared_statement_cache_size=0 if pooled else 100,
            prepared_statement_name_func=_unnamed if pooled else None,
        )

    engine = create_async_engine(
        url,
        creator=creator,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
        # No ping per checkout (a round trip per request): a dead connection is found by the
        # error it gives, and the pool then drops every connection made before it.
        pool_pre_ping=False,
    )
    return engine


async def create_driver_pool(url: str, settings: Settings) -> asyncpg.Pool:
    """The driver's own pool, for reads and one-statement writes: no session, no transaction,
    no ping."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        **asyncpg_connect_args(url),
        min_size=0,
        max_size=settings.db_pool_size,
        timeout=settings.db_connect_timeout_s,
        server_settings=_server_settings(settings),
        statement_cache_size=_statement_cache_size(settings),
        # asyncpg resets a connection on release (RESET ALL, UNLISTEN, ...): a round trip per
        # statement. Single statements in autocommit change no session state: nothing to reset.
        reset=_keep_session_state,
    )
    return pool


async def _keep_session_state(connection: asyncpg.Connection) -> None:
    return None
