"""The database as requests see it: reads on the read pool, write sessions on the engine.

- A read is one statement outside any transaction: no BEGIN/COMMIT, no pre-ping, one round
  trip. A pooled connection that turns out dead (server restarted) is found by the error it
  gives; the read, being idempotent, is retried once on a fresh connection.
- A write runs in a session (dependencies.py says when it commits).
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import structlog
from sqlalchemy import literal, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker
from sqlalchemy.sql.expression import Executable
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database.connections import create_engine, create_read_pool
from shared.database.outage import (
    DEAD_CONNECTION,
    DatabaseUnavailableError,
    is_unavailable,
    unavailable_as_app_error,
)
from shared.database.statements import compiled_statement
from shared.settings import Settings
from shared.telemetry import (
    db_pool_wait_duration,
    db_unavailable,
    instrument_engine,
    statement_span,
    unwatch_pools,
    watch_pools,
)

log = structlog.get_logger(__name__)


class Database:
    """What a request uses the database through.

    Reads: a SQLAlchemy statement (built once, compiled once) run by asyncpg on a connection of
    the read pool, outside any transaction: one round trip, and none of the per-call work of
    the ORM and the async adapter, which costs more CPU than a small query does. Writes: a
    SQLModel session on the engine's pool, one transaction per request, or one statement in
    autocommit on the session's driver connection (dependencies.py).

    `bind` (tests) runs everything on one connection that is inside a transaction of the
    test's: sessions use savepoints in it, and reads see their writes."""

    def __init__(
        self,
        engine: AsyncEngine,
        read_pool: asyncpg.Pool | None = None,
        bind: AsyncConnection | None = None,
        pool_timeout_s: float = 10.0,
        separate_reads: bool = False,
        write_connections: int = 1,
    ) -> None:
        assert (read_pool is None) != (bind is None), "a read pool, or a bound connection"
        self.engine = engine
        self._read_pool = read_pool
        self._pool_timeout_s = pool_timeout_s
        # First come, first served for the read pool's connections. asyncpg's pool hands a
        # released connection to whoever asks next, often a request that just arrived, while
        # earlier ones wait on: under load most reads are fast and some wait for seconds.
        # asyncio.Semaphore queues in order; with a slot, the pool always has a connection.
        self._read_slots = asyncio.Semaphore(read_pool.get_max_size() if read_pool else 1)
        # The same for write sessions (`write_connections`: the engine pool's size and
        # overflow): a request waits for its turn here, in order, not inside SQLAlchemy's pool
        # (a greenlet and a timer per waiter, several times the CPU).
        self._write_slots = asyncio.Semaphore(write_connections)
        self._write_connections = write_connections
        self._bind = bind
        self.separate_reads = separate_reads
        self._sessionmaker = async_sessionmaker(
            bind or engine,
            class_=AsyncSession,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )

    def session(self) -> AsyncSession:
        return self._sessionmaker()

    @asynccontextmanager
    async def write_turn(self) -> AsyncIterator[None]:
        """A turn at the write pool, first come, first served: a session opened inside one
        finds a connection free (but for a moment while `/ready` or start-up holds one; the
        pool's own bounded wait covers that). A bounded wait (DB_POOL_TIMEOUT_S), then a 503."""
        if self._bind is not None:  # a test's one connection: nothing to wait for
            yield
            return
        try:
            await _take(self._write_slots, self._pool_timeout_s, _WRITE)
        except TimeoutError as exc:
            db_unavailable.add(1, _POOL_TIMEOUT)
            raise DatabaseUnavailableError() from exc
        try:
            yield
        finally:
            self._write_slots.release()

    @property
    def bound(self) -> bool:
        """Everything runs on one connection inside a test's transaction."""
        return self._bind is not None

    async def read(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> list[asyncpg.Record]:
        """All rows of one read-only statement, in one round trip."""
        compiled = compiled_statement(statement)
        args = compiled.args(params)
        try:
            if self._bind is not None:
                driver = (await self._bind.get_raw_connection()).driver_connection
                assert driver is not None
                with statement_span(compiled.sql, "read"):
                    rows: list[asyncpg.Record] = await driver.fetch(compiled.sql, *args)
                return rows
            try:
                return await self._fetch(compiled.sql, args)
            except DEAD_CONNECTION as exc:
                # The pooled connection was dead (server restarted, connection dropped); its
                # contemporaries likely are too, in both pools: replace them all (the write
                # pool's checked-out connections finish their work and are then dropped).
                # A read can safely run again.
                log.info("database.reconnect", error=type(exc).__name__)
                assert self._read_pool is not None
                await self._read_pool.expire_connections()
                await self.engine.dispose(close=False)
                return await self._fetch(compiled.sql, args)
        except (OSError, asyncpg.PostgresError, *DEAD_CONNECTION) as exc:
            if is_unavailable(exc) or isinstance(exc, (OSError, *DEAD_CONNECTION)):
                db_unavailable.add(1, _cause(exc))
                raise DatabaseUnavailableError() from exc
            raise

    async def _fetch(self, sql: str, args: list[Any]) -> list[asyncpg.Record]:
        assert self._read_pool is not None
        await _take(self._read_slots, self._pool_timeout_s, _READ)  # TimeoutError: a 503
        try:
            async with self._read_pool.acquire() as connection:
                with statement_span(sql, "read"):
                    rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
                return rows
        finally:
            self._read_slots.release()

    def pools(self) -> list[tuple[str, int, int]]:
        """(pool, connections in use, size) of each pool, for the gauges (telemetry.py)."""
        pools = []
        if self._read_pool is not None:
            pool = self._read_pool
            pools.append(("read", pool.get_size() - pool.get_idle_size(), pool.get_max_size()))
        checked_out = getattr(self.engine.pool, "checkedout", None)
        if checked_out is not None:
            pools.append(("write", checked_out(), self._write_connections))
        return pools

    async def read_one(
        self, statement: Executable, params: dict[str, Any] | None = None
    ) -> asyncpg.Record | None:
        rows = await self.read(statement, params)
        return rows[0] if rows else None

    async def ping(self) -> None:
        """The read pool's server answers, and the primary too when reads have their own."""
        await self.read(_PING)
        if self.separate_reads:
            with unavailable_as_app_error():
                async with self.engine.connect() as connection:
                    await connection.execute(_PING)


_PING = select(literal(1))


_READ, _WRITE = {"pool": "read"}, {"pool": "write"}
_POOL_TIMEOUT = {"cause": "pool_timeout"}


def _cause(exc: BaseException) -> dict[str, str]:
    """Why a read got a 503, for the metric: no slot in time, no connection, or the server."""
    if isinstance(exc, TimeoutError) and not isinstance(exc, asyncpg.PostgresError):
        return _POOL_TIMEOUT
    if isinstance(exc, asyncpg.PostgresError) and not isinstance(
        exc, asyncpg.PostgresConnectionError
    ):
        return {"cause": "server"}  # shutting down, statement timeout, too many connections
    return {"cause": "connection"}


async def _take(slots: asyncio.Semaphore, timeout_s: float, pool: dict[str, str]) -> None:
    """A slot, waiting at most `timeout_s` (TimeoutError); no timer when one is free (one
    timer fewer to schedule and cancel on the hottest path). Waits are timed (the histogram's
    count is the number of waits)."""
    if slots.locked():
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout_s):
                await slots.acquire()
        finally:
            db_pool_wait_duration.record(time.perf_counter() - started, pool)
    else:
        await slots.acquire()


class StatementTimeoutNotSetError(RuntimeError):
    """Behind a pooler, the server's statement_timeout is not DB_STATEMENT_TIMEOUT_MS."""


_STATEMENT_TIMEOUT_MS = text(
    "SELECT setting::int AS ms FROM pg_settings WHERE name = 'statement_timeout'"
)


async def _check_statement_timeout(database: Database, url: str, settings: Settings) -> None:
    """Start-up refuses a pooler whose server connections do not have our statement timeout:
    without it a stuck statement holds a server connection that every worker shares. Checked
    on the writes' path and, when reads have their own (a replica), on theirs; each check sees
    one server connection of the pooler."""
    expected_ms = settings.db_statement_timeout_ms
    with unavailable_as_app_error():
        async with database.engine.connect() as connection:
            actual_ms = (await connection.execute(_STATEMENT_TIMEOUT_MS)).scalar()
        if actual_ms == expected_ms and database.separate_reads:
            row = await database.read_one(_STATEMENT_TIMEOUT_MS)
            actual_ms = row["ms"] if row else None
            url = settings.database_read_url or url
    if actual_ms == expected_ms:
        return
    parsed = make_url(url)
    raise StatementTimeoutNotSetError(
        f"DB_POOLER=transaction: statement_timeout through {parsed.host}:{parsed.port} is "
        f"{actual_ms} ms, not DB_STATEMENT_TIMEOUT_MS={expected_ms}. A pooler cannot pass it "
        "per connection, so it is the role's setting in the database: provisioning sets it "
        "(PREPARE_DATABASE=true, or `just migrate`), or run on PostgreSQL itself: "
        f'ALTER ROLE "{parsed.username}" IN DATABASE "<database>" SET statement_timeout = '
        f"{expected_ms}; server connections opened before keep their old value until the "
        "pooler replaces them (PgBouncer: RECONNECT in its admin console)"
    )


@asynccontextmanager
async def open_database(url: str, settings: Settings) -> AsyncIterator[Database]:
    """The database at `url`, its reads on DATABASE_READ_URL when set (a replica)."""
    engine = create_engine(url, settings)
    try:
        read_pool = await create_read_pool(settings.database_read_url or url, settings)
        try:
            database = Database(
                engine,
                read_pool,
                pool_timeout_s=settings.db_pool_timeout_s,
                separate_reads=bool(settings.database_read_url),
                write_connections=settings.db_pool_size + settings.db_max_overflow,
            )
            if settings.db_pooler == "transaction":
                await _check_statement_timeout(database, url, settings)
            instrument_engine(engine)  # statement spans for the write sessions
            watch_pools(database, database.pools)
            try:
                yield database
            finally:
                unwatch_pools(database)
        finally:
            await read_pool.close()
    finally:
        await engine.dispose()
