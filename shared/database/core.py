"""`Database`: the one way a request runs a statement. Four calls, each translating the
database's errors into ours (errors.py):

- `rows(statement)` / `row(statement)`: a read, on the driver's pool (DATABASE_READ_URL's
  server when set, a replica), outside any transaction: one round trip.
- `write(statement)`: a write that is one statement (its checks inside it), on the primary, in
  autocommit: committed when it returns, with no BEGIN and COMMIT round trips.
- `transaction()`: several statements, on a SQLModel session (the engine's pool), committed when
  the block ends, rolled back when it raises (`Transaction`: the same `rows`, `row`, `write`).

Why two pools: the driver's pool runs a statement compiled once (`Statement`) with none of the
ORM's and the async adapter's per-call work, which costs several times a small query's CPU (the
API's reads and rentals are those: a film by id, 0.2 ms of CPU against 0.7 on SQLAlchemy's
AsyncConnection and 0.8 on a session; docs/benchmarks.md); a transaction is the session's job.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import asyncpg
import structlog
from sqlalchemy import literal, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database.connections import create_driver_pool, create_engine
from shared.database.errors import DatabaseUnavailableError, is_dead, translated
from shared.database.statements import Statement
from shared.database.transaction import RowDict, Transaction
from shared.observability.telemetry import (
    db_pool_wait_time,
    db_pool_waits,
    db_unavailable,
    instrument_engine,
    statement_span,
    unwatch_pools,
    watch_pools,
)
from shared.settings import Settings

log = structlog.get_logger(__name__)


class _DriverPool:
    """The driver's pool, first come, first served: asyncpg hands a released connection to
    whoever asks next, often a request that just arrived, while earlier ones wait on (under
    load most reads are fast and some wait for seconds). asyncio.Semaphore queues in order;
    holding a slot, a request always finds a connection."""

    def __init__(self, name: str, pool: asyncpg.Pool, timeout_s: float) -> None:
        self.name = name
        self.pool = pool
        self._slots = asyncio.Semaphore(pool.get_max_size())
        self._timeout_s = timeout_s
        self._labels = {"pool": name}

    async def fetch(self, statement: Statement, params: dict[str, Any] | None) -> list[RowDict]:
        await _take(self._slots, self._timeout_s, self._labels)
        try:
            async with self.pool.acquire() as connection:
                with statement_span(statement.sql, self.name):
                    records = await connection.fetch(statement.sql, *statement.args(params))
            return [dict(record) for record in records]
        finally:
            self._slots.release()

    def usage(self) -> tuple[str, int, int]:
        pool = self.pool
        return self.name, pool.get_size() - pool.get_idle_size(), pool.get_max_size()


class Database:
    def __init__(
        self,
        engine: AsyncEngine,
        reads: asyncpg.Pool,
        primary: asyncpg.Pool | None = None,
        *,
        pool_timeout_s: float = 10.0,
        write_connections: int = 1,
    ) -> None:
        """`primary`: the driver's pool on the primary when reads have a server of their own
        (a replica); None when `reads` is on the primary (writes then share it)."""
        self.engine = engine
        self._reads = _DriverPool("read", reads, pool_timeout_s)
        self._primary = _DriverPool("primary", primary, pool_timeout_s) if primary else None
        self._pool_timeout_s = pool_timeout_s
        # The transactions' turns, in order, as for the driver's pool: waiting here costs less
        # than inside SQLAlchemy's pool (a greenlet and a timer per waiter).
        self._write_slots = asyncio.Semaphore(write_connections)
        self._write_connections = write_connections
        self._sessionmaker = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)

    @property
    def separate_reads(self) -> bool:
        return self._primary is not None

    async def rows(
        self, statement: Statement, params: dict[str, Any] | None = None
    ) -> list[RowDict]:
        """Every row of a read. A pooled connection found dead (a server restart) is replaced,
        with its contemporaries, and the read, being idempotent, runs once more."""
        with translated():
            try:
                return await self._reads.fetch(statement, params)
            except Exception as exc:
                if not is_dead(exc):
                    raise
                await self._replace_connections(exc)
                return await self._reads.fetch(statement, params)

    async def row(
        self, statement: Statement, params: dict[str, Any] | None = None
    ) -> RowDict | None:
        """The first row of a read, or None."""
        rows = await self.rows(statement, params)
        return rows[0] if rows else None

    async def write(
        self, statement: Statement, params: dict[str, Any] | None = None
    ) -> RowDict | None:
        """One statement that writes, its own transaction: committed when this returns. Its
        first row (INSERT/UPDATE ... RETURNING), or None. Not run again on a dead connection:
        it may have committed."""
        pool = self._primary or self._reads
        with translated():
            try:
                rows = await pool.fetch(statement, params)
            except Exception as exc:
                if is_dead(exc):
                    await self._replace_connections(exc)
                raise
        return rows[0] if rows else None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A transaction on a SQLModel session: committed when the block ends, rolled back
        when it raises. A bounded wait for a connection (DB_POOL_TIMEOUT_S), then a 503."""
        await self._take_write_turn()
        try:
            # Closed below, not by `async with session`: its exit closes in a new task under
            # asyncio.shield (a task per request).
            session = self._sessionmaker()
            try:
                yield Transaction(session)
                with translated():
                    await session.commit()
            except BaseException:
                with translated():
                    await session.rollback()
                raise
            finally:
                with translated():
                    await session.close()
        finally:
            self._write_slots.release()

    async def _take_write_turn(self) -> None:
        try:
            await _take(self._write_slots, self._pool_timeout_s, _WRITE)
        except TimeoutError as exc:
            db_unavailable.add(1, {"cause": "pool_timeout"})
            raise DatabaseUnavailableError() from exc

    async def _replace_connections(self, exc: BaseException) -> None:
        """A connection died under us; its contemporaries likely did too, in every pool (a
        restart): they are all replaced (checked-out ones when they come back)."""
        log.info("database.reconnect", error=type(exc).__name__)
        for pool in (self._reads, self._primary):
            if pool is not None:
                await pool.pool.expire_connections()
        await self.engine.dispose(close=False)

    def pools(self) -> list[tuple[str, int, int]]:
        """(pool, connections in use, size) of each pool, for the gauges (telemetry.py)."""
        pools = [self._reads.usage()]
        if self._primary is not None:
            pools.append(self._primary.usage())
        checked_out = getattr(self.engine.pool, "checkedout", None)
        if checked_out is not None:
            pools.append(("write", checked_out(), self._write_connections))
        return pools

    async def ping(self) -> None:
        """Every server we read from or write to answers."""
        await self.rows(_PING)
        if self._primary is not None:
            with translated():
                await self._primary.fetch(_PING, None)


_PING = Statement(select(literal(1)))
_WRITE = {"pool": "write"}


async def _take(slots: asyncio.Semaphore, timeout_s: float, pool: dict[str, str]) -> None:
    """A slot, waiting at most `timeout_s` (TimeoutError); no timer when one is free (one
    timer fewer to schedule and cancel on the hottest path). Waits are counted and timed."""
    if slots.locked():
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout_s):
                await slots.acquire()
        finally:
            db_pool_waits.add(1, pool)
            db_pool_wait_time.add(time.perf_counter() - started, pool)
    else:
        await slots.acquire()


class StatementTimeoutNotSetError(RuntimeError):
    """Behind a pooler, the server's statement_timeout is not DB_STATEMENT_TIMEOUT_MS."""


_STATEMENT_TIMEOUT_MS = Statement(
    text("SELECT setting::int AS ms FROM pg_settings WHERE name = 'statement_timeout'")
)


async def _check_statement_timeout(database: Database, url: str, settings: Settings) -> None:
    """Start-up refuses a pooler whose server connections do not have our statement timeout:
    without it a stuck statement holds a server connection that every worker shares. Checked
    on each server we use (the primary's sessions, and a replica's reads); each check sees one
    server connection of the pooler."""
    expected_ms = settings.db_statement_timeout_ms
    async with database.transaction() as transaction:
        row = await transaction.row(_STATEMENT_TIMEOUT_MS)
    actual_ms = row["ms"] if row else None
    if actual_ms == expected_ms and database.separate_reads:
        row = await database.row(_STATEMENT_TIMEOUT_MS)
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
    async with AsyncExitStack() as stack:
        engine = create_engine(url, settings)
        stack.push_async_callback(engine.dispose)
        reads = await create_driver_pool(settings.database_read_url or url, settings)
        stack.push_async_callback(reads.close)
        primary = None
        if settings.database_read_url:
            primary = await create_driver_pool(url, settings)
            stack.push_async_callback(primary.close)
        database = Database(
            engine,
            reads,
            primary,
            pool_timeout_s=settings.db_pool_timeout_s,
            write_connections=settings.db_pool_size + settings.db_max_overflow,
        )
        if settings.db_pooler == "transaction":
            await _check_statement_timeout(database, url, settings)
        instrument_engine(engine)  # statement spans for the transactions
        watch_pools(database, database.pools)
        stack.callback(unwatch_pools, database)
        yield database
