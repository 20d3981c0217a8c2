"""Rows as the query functions return them: plain dicts, whichever pool or session they came
from, so that handlers build DTOs one way (`Model.model_validate(row)`)."""

import asyncio
from typing import Any

import asyncpg
import structlog
from sqlalchemy import String, bindparam, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Result
from sqlalchemy.sql.expression import Executable
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database.core import Database
from shared.database.outage import DEAD_CONNECTION, DatabaseUnavailableError, is_unavailable
from shared.database.statements import compiled_statement

# Where a session keeps the driver connection its statements run on directly (`session.info`:
# the Session's own place for a user's data). Set by `one_statement_session`.
DRIVER_CONNECTION = "pagila.driver_connection"

log = structlog.get_logger(__name__)


async def execute(
    session: AsyncSession, statement: Executable, params: dict[str, Any] | None = None
) -> Result[Any]:
    """A Core statement (multi-column select, INSERT/UPDATE ... RETURNING) in the session's
    transaction. sqlmodel's `exec()` is typed only for entity and single-column selects."""
    connection = await session.connection()
    return await connection.execute(statement, params)


_TAKE_TURNS = text("SELECT pg_advisory_xact_lock(hashtext(:name))").bindparams(
    bindparam("name", type_=String)
)


async def take_turns(session: AsyncSession, name: str) -> None:
    """Waits for, then holds until the session's transaction ends, the advisory lock `name`:
    transactions that count and then write one tally (a client's sign-ins, its AI calls) take
    turns, each seeing what the one before committed, so a burst cannot slip past a limit."""
    await execute(session, _TAKE_TURNS, {"name": name})


RowDict = dict[str, Any]


async def fetch_row(
    source: Database | AsyncSession, statement: Executable, params: dict[str, Any] | None = None
) -> RowDict | None:
    """The first row of `statement`, as a dict, or None. With the Database: a read on the read
    pool (its own snapshot). With a write's session: any statement (an UPDATE ... RETURNING
    too), inside its transaction, seeing what it wrote; with a one-statement session, on its
    driver connection, in autocommit."""
    if isinstance(source, Database):
        record = await source.read_one(statement, params)
        return dict(record) if record is not None else None
    driver: asyncpg.Connection | None = source.info.get(DRIVER_CONNECTION)
    if driver is not None:
        records = await _fetch_on_driver(source, driver, statement, params)
        return dict(records[0]) if records else None
    row = (await execute(source, statement, params)).first()
    return dict(row._mapping) if row is not None else None


async def _fetch_on_driver(
    session: AsyncSession,
    driver: asyncpg.Connection,
    statement: Executable,
    params: dict[str, Any] | None,
) -> list[asyncpg.Record]:
    """`statement`, compiled once, on the session's own connection: none of the ORM's and the
    async adapter's per-statement work (which costs several times the driver's CPU). Errors
    come out as they do from SQLAlchemy: a constraint as its IntegrityError (handlers catch
    one error, whichever way the statement ran), an outage as DatabaseUnavailableError, and a
    dead connection is dropped with every pooled one made before it, as a read does."""
    compiled = compiled_statement(statement)
    args = compiled.args(params)
    try:
        records: list[asyncpg.Record] = await driver.fetch(compiled.sql, *args)
    except asyncpg.IntegrityConstraintViolationError as exc:
        raise sa_exc.IntegrityError(compiled.sql, args, exc) from exc
    except asyncio.CancelledError:
        # Cut off mid-statement: not reused, as SQLAlchemy's own path would not reuse it. (asyncpg
        # makes the next query wait for the cancellation; tried, the next write succeeds either
        # way: this is the conservative choice, not a tested fix.)
        await _drop(session, None)
        raise
    except (OSError, asyncpg.PostgresError, *DEAD_CONNECTION) as exc:
        # Dead: closed under us (a restart, a dropped path; an admin shutdown closes it too).
        # Not a DataError (an argument the driver refused: a bug, on a healthy connection).
        dead = driver.is_closed() or (
            isinstance(exc, (OSError, *DEAD_CONNECTION)) and not isinstance(exc, asyncpg.DataError)
        )
        if dead:
            await _drop(session, exc)
        if dead or is_unavailable(exc):
            raise DatabaseUnavailableError() from exc
        raise
    return records


async def _drop(session: AsyncSession, exc: BaseException | None) -> None:
    """The session's connection is never handed out again; when it died, its contemporaries
    likely did too (a restart), so the pool replaces them all."""
    connection = await session.connection()
    await connection.invalidate(exc)
    if exc is not None:
        log.info("database.reconnect", error=type(exc).__name__)
        await connection.engine.dispose(close=False)


async def fetch_rows(
    db: Database, statement: Executable, params: dict[str, Any] | None = None
) -> list[RowDict]:
    """Every row of a read, as dicts."""
    return [dict(record) for record in await db.read(statement, params)]
