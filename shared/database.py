"""The database as requests see it: engine, reads, write sessions, and what an outage looks like.

- A read is one statement outside any transaction: no BEGIN/COMMIT, no pre-ping, one round
  trip. A pooled connection that turns out dead (server restarted) is found by the error it
  gives; the read, being idempotent, is retried once on a fresh connection.
- A write runs in one session and one transaction per request, committed before the response
  is sent (`WriteSessionDep` has function scope: its exit runs before the first response byte).
- Failures that mean "the database is unavailable" (cannot connect, connection lost, pool
  exhausted, statement timeout) become `DatabaseUnavailableError`, an ordinary application
  error (503) handled inside the request middleware; every other database error is a bug (500).
"""

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import Depends, Request
from sqlalchemy import exc as sa_exc
from sqlalchemy import literal, select, text
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.engine import Result, make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.sql.expression import Executable
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.errors import ServiceUnavailableError
from shared.settings import Settings

log = structlog.get_logger(__name__)

# How our connections show in pg_stat_activity.
APPLICATION_NAME = "pagila-api"


class DatabaseUnavailableError(ServiceUnavailableError):
    """The database cannot serve the request now (down, unreachable, overloaded, too slow)."""

    def __init__(self, detail: str = "The database is unavailable; please retry shortly.") -> None:
        super().__init__(detail)


class _ConnectFailed(Exception):
    """Raised by the engine's connect function, so that only a failed connect (not any OSError
    in a request) is read as an outage."""


# Driver errors that mean "unavailable", not "your SQL is wrong".
_UNAVAILABLE_DRIVER_ERRORS = (
    _ConnectFailed,
    asyncpg.PostgresConnectionError,  # incl. the connection closed under us
    asyncpg.OperatorInterventionError,  # shutting down, starting up, statement_timeout
    asyncpg.TooManyConnectionsError,
    ConnectionError,
    TimeoutError,
    # "cannot switch to state 12; another operation is in progress": a connection whose
    # server died mid-operation (seen on `kill -9` of the postmaster under load).
    asyncpg.InternalClientError,
)


def driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception under SQLAlchemy's wrappers (DBAPIError -> adapter error ->
    asyncpg error); `exc` itself when it wraps nothing."""
    inner = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    return inner.__cause__ if inner.__cause__ is not None else inner


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, _ConnectFailed | sa_exc.TimeoutError):  # TimeoutError: pool exhausted
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(driver_error(exc), _UNAVAILABLE_DRIVER_ERRORS)


def violated_constraint(exc: sa_exc.IntegrityError) -> str | None:
    """The name of the constraint or index an INSERT/UPDATE violated (asyncpg reports it)."""
    name = getattr(driver_error(exc), "constraint_name", None)
    return name if isinstance(name, str) else None


@contextmanager
def unavailable_as_app_error() -> Iterator[None]:
    try:
        yield
    except (_ConnectFailed, sa_exc.SQLAlchemyError) as exc:
        if is_unavailable(exc):
            raise DatabaseUnavailableError() from exc
        raise


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
    """The engine for write sessions (reads use `create_read_pool`)."""
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
            raise _ConnectFailed(f"cannot connect to the database: {exc}") from exc

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


class CompiledStatement:
    """A statement compiled once to the driver's SQL, with its parameters' order."""

    def __init__(self, statement: Executable) -> None:
        compiled = statement.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
        self.sql: str = compiled.string
        self._names: list[str] = list(compiled.positiontup or [])
        self._defaults: dict[str, Any] = dict(compiled.params)  # literals such as LIMIT 1

    def args(self, params: dict[str, Any] | None) -> list[Any]:
        values = {**self._defaults, **(params or {})}
        return [values[name] for name in self._names]


_DIALECT = PGDialect_asyncpg(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]
_COMPILED: dict[Executable, CompiledStatement] = {}
# A pooled connection that died under us (server restarted, network path dropped).
_DEAD_CONNECTION = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    ConnectionResetError,
    BrokenPipeError,
)


def compiled_statement(statement: Executable) -> CompiledStatement:
    compiled = _COMPILED.get(statement)
    if compiled is None:
        compiled = _COMPILED[statement] = CompiledStatement(statement)
    return compiled


async def create_read_pool(url: str, settings: Settings) -> asyncpg.Pool:
    """The driver's own pool, for reads: no session, no transaction, no ping."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        **asyncpg_connect_args(url),
        min_size=0,
        max_size=settings.db_pool_size,
        timeout=settings.db_connect_timeout_s,
        server_settings=_server_settings(settings),
        statement_cache_size=_statement_cache_size(settings),
        # asyncpg resets a connection on release (RESET ALL, UNLISTEN, ...): a round trip per
        # read. Reads change no session state, so there is nothing to reset.
        reset=_keep_session_state,
    )
    return pool


async def _keep_session_state(connection: asyncpg.Connection) -> None:
    return None


class Database:
    """What a request uses the database through.

    Reads: a SQLAlchemy statement (built once, compiled once) run by asyncpg on a connection of
    the read pool, outside any transaction: one round trip, and none of the per-call work of
    the ORM and the async adapter, which costs more CPU than a small query does. Writes: a
    SQLModel session on the engine's pool, one transaction per request.

    `bind` (tests) runs everything on one connection that is inside a transaction of the
    test's: sessions use savepoints in it, and reads see their writes."""

    def __init__(
        self,
        engine: AsyncEngine,
        read_pool: asyncpg.Pool | None = None,
        bind: AsyncConnection | None = None,
        pool_timeout_s: float = 10.0,
        separate_reads: bool = False,
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
                rows: list[asyncpg.Record] = await driver.fetch(compiled.sql, *args)
                return rows
            try:
                return await self._fetch(compiled.sql, args)
            except _DEAD_CONNECTION as exc:
                # The pooled connection was dead (server restarted, connection dropped); its
                # contemporaries likely are too, in both pools: replace them all (the write
                # pool's checked-out connections finish their work and are then dropped).
                # A read can safely run again.
                log.info("database.reconnect", error=type(exc).__name__)
                assert self._read_pool is not None
                await self._read_pool.expire_connections()
                await self.engine.dispose(close=False)
                return await self._fetch(compiled.sql, args)
        except (OSError, asyncpg.PostgresError, *_DEAD_CONNECTION) as exc:
            if is_unavailable(exc) or isinstance(exc, (OSError, *_DEAD_CONNECTION)):
                raise DatabaseUnavailableError() from exc
            raise

    async def _fetch(self, sql: str, args: list[Any]) -> list[asyncpg.Record]:
        assert self._read_pool is not None
        # A bounded wait for a free connection (TimeoutError, a 503), as for writes; no timer
        # when one is free (one timer fewer to schedule and cancel on the hottest path).
        if self._read_slots.locked():
            async with asyncio.timeout(self._pool_timeout_s):
                await self._read_slots.acquire()
        else:
            await self._read_slots.acquire()
        try:
            async with self._read_pool.acquire() as connection:
                rows: list[asyncpg.Record] = await connection.fetch(sql, *args)
                return rows
        finally:
            self._read_slots.release()

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


# Dependencies are `async def` even when they do not await: FastAPI runs a plain `def`
# dependency in a worker thread, a thread hop per request (the same in settings, pagination,
# ai_kernel).
async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


async def write_session(database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    """One session, one transaction: committed when the handler returns, rolled back when it
    raises. Used with function scope, so the commit happens before the response is sent."""
    with unavailable_as_app_error():
        async with database.session() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise


WriteSessionDep = Annotated[AsyncSession, Depends(write_session, scope="function")]


async def one_statement_session(database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    """For a write that is a single statement (its checks inside it): the session's connection
    in autocommit, so the statement is its own transaction, committed when it returns (before
    the response), with no BEGIN and COMMIT round trips. Reads after it (to explain a refusal)
    are each their own snapshot. Under a test's bound connection, a savepoint as usual."""
    with unavailable_as_app_error():
        async with database.session() as session:
            if database.bound:
                yield session
                await session.commit()
                return
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session


OneStatementSessionDep = Annotated[AsyncSession, Depends(one_statement_session, scope="function")]


async def execute(
    session: AsyncSession, statement: Executable, params: dict[str, Any] | None = None
) -> Result[Any]:
    """A Core statement (multi-column select, INSERT/UPDATE ... RETURNING) in the session's
    transaction. sqlmodel's `exec()` is typed only for entity and single-column selects."""
    connection = await session.connection()
    return await connection.execute(statement, params)


# A row as the query functions behind the REST endpoints return it: a plain dict, whichever pool
# or session it came from, so that handlers build DTOs one way (`Model.model_validate(row)`).
RowDict = dict[str, Any]


async def fetch_row(
    source: Database | AsyncSession, statement: Executable, params: dict[str, Any] | None = None
) -> RowDict | None:
    """The first row of `statement`, as a dict, or None. With the Database: a read on the read
    pool (its own snapshot). With a write's session: any statement (an UPDATE ... RETURNING
    too), inside its transaction, seeing what it wrote."""
    if isinstance(source, Database):
        record = await source.read_one(statement, params)
        return dict(record) if record is not None else None
    row = (await execute(source, statement, params)).first()
    return dict(row._mapping) if row is not None else None


async def fetch_rows(
    db: Database, statement: Executable, params: dict[str, Any] | None = None
) -> list[RowDict]:
    """Every row of a read, as dicts."""
    return [dict(record) for record in await db.read(statement, params)]


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
            )
            if settings.db_pooler == "transaction":
                await _check_statement_timeout(database, url, settings)
            yield database
        finally:
            await read_pool.close()
    finally:
        await engine.dispose()
