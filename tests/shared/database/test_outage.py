"""The database's errors come out as ours, whichever way the statement ran: the driver's pool
(a read, a one-statement write) or a transaction's session."""

from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import Integer, bindparam, text
from sqlalchemy import exc as sa_exc

from shared.database import (
    Database,
    DatabaseUnavailableError,
    Statement,
    WriteConflictError,
    open_database,
)
from shared.database.errors import ours, translated
from shared.database.models import OPEN_RENTAL_INDEX
from tests.support import make_settings

_SLEEP = Statement(text("SELECT pg_sleep(2)"))
_NO_TABLE = Statement(text("SELECT * FROM no_such_table"))
_SECOND_OPEN_RENTAL = Statement(
    text(
        "INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id)"
        " SELECT now(), inventory_id, 1, 1 FROM rental"
        " WHERE return_date IS NULL AND inventory_id = :inventory_id"
    ).bindparams(bindparam("inventory_id", type_=Integer))
)
_OUT = Statement(text("SELECT min(inventory_id) AS id FROM rental WHERE return_date IS NULL"))


@pytest.fixture
async def impatient(test_database_url: str) -> AsyncIterator[Database]:
    """The test's database with a 100 ms statement timeout."""
    settings = make_settings(database_url=test_database_url, db_statement_timeout_ms=100)
    async with open_database(test_database_url, settings) as database:
        yield database


async def test_a_statement_timeout_is_unavailable_on_either_path(impatient: Database) -> None:
    with pytest.raises(DatabaseUnavailableError) as read:
        await impatient.rows(_SLEEP)
    with pytest.raises(DatabaseUnavailableError) as in_transaction:
        async with impatient.transaction() as transaction:
            await transaction.rows(_SLEEP)

    assert isinstance(read.value.__cause__, asyncpg.QueryCanceledError)
    assert isinstance(in_transaction.value.__cause__, sa_exc.DBAPIError)  # looked through


async def test_a_violated_index_is_a_write_conflict_naming_it_on_either_path(
    database: Database,
) -> None:
    out = await database.row(_OUT)
    assert out is not None
    params = {"inventory_id": out["id"]}

    with pytest.raises(WriteConflictError) as one_statement:
        await database.write(_SECOND_OPEN_RENTAL, params)
    with pytest.raises(WriteConflictError) as in_transaction:
        async with database.transaction() as transaction:
            await transaction.write(_SECOND_OPEN_RENTAL, params)

    assert one_statement.value.constraint == OPEN_RENTAL_INDEX
    assert in_transaction.value.constraint == OPEN_RENTAL_INDEX


async def test_a_bad_statement_is_a_bug_not_an_outage(database: Database) -> None:
    with pytest.raises(asyncpg.UndefinedTableError):
        await database.rows(_NO_TABLE)
    with pytest.raises(sa_exc.ProgrammingError):
        async with database.transaction() as transaction:
            await transaction.rows(_NO_TABLE)


class _AdaptedError(Exception):
    """As SQLAlchemy's asyncpg adapter raises a driver error: the driver's as its cause."""


def _under_sqlalchemy(error: Exception, *, invalidated: bool = False) -> sa_exc.DBAPIError:
    adapted = _AdaptedError()
    adapted.__cause__ = error
    return sa_exc.DBAPIError("SELECT 1", None, adapted, connection_invalidated=invalidated)


def test_which_driver_errors_are_an_outage_a_conflict_or_a_bug() -> None:
    misuse = asyncpg.InterfaceError("the server expects 2 arguments, 1 was passed")

    # On the driver's own connection, a broken connection is an outage; under SQLAlchemy, only
    # when SQLAlchemy says the connection was lost, else a misuse (a bug).
    assert isinstance(ours(misuse), DatabaseUnavailableError)
    assert ours(_under_sqlalchemy(misuse)) is None
    assert isinstance(ours(_under_sqlalchemy(misuse, invalidated=True)), DatabaseUnavailableError)
    # An argument the driver refused is a bug on either path.
    assert ours(asyncpg.DataError("invalid input")) is None
    # A deadlock is a conflict PostgreSQL aborted; a NOT NULL violation is ours: a bug.
    deadlock = ours(_under_sqlalchemy(asyncpg.DeadlockDetectedError("deadlock detected")))
    assert isinstance(deadlock, WriteConflictError)
    assert (deadlock.constraint, deadlock.aborted) == (None, True)
    assert ours(asyncpg.NotNullViolationError("null value")) is None


def test_a_connection_in_a_broken_state_is_an_outage_not_a_bug() -> None:
    # Seen under load when the postmaster was killed (test_database_crash): asyncpg found the
    # pooled connection mid-operation. It is no asyncpg.InterfaceError nor PostgresError.
    broken = asyncpg.InternalClientError("cannot switch to state 12; another operation (2)")

    with pytest.raises(DatabaseUnavailableError), translated():
        raise broken
