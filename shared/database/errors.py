"""Database errors, translated in one place (`translated`): whichever way a statement ran (the
driver's pool or a SQLAlchemy session), what comes out is ours.

- `DatabaseUnavailableError` (503): cannot connect, connection lost, no pooled connection in
  time, the server shutting down, a statement timeout.
- `WriteConflictError` (409 unless a feature says more): a constraint or unique index refused
  the write, or PostgreSQL aborted it to let a concurrent one win (deadlock, serialization).
- Anything else is a bug (500): a wrong statement, an argument the driver refused.
"""

from types import TracebackType
from typing import Literal

import asyncpg
from sqlalchemy import exc as sa_exc

from shared.http.errors import ConflictError, Problem, ServiceUnavailableError
from shared.observability.telemetry import db_unavailable


class DatabaseUnavailableError(ServiceUnavailableError):
    """The database cannot serve the request now (down, unreachable, overloaded, too slow)."""

    default_problem = Problem("database-unavailable", 503, "The database is unavailable")

    def __init__(self, detail: str = "The database is unavailable; please retry shortly.") -> None:
        super().__init__(detail)


class WriteConflictError(ConflictError):
    """A write refused by a constraint (`constraint`: its name), or aborted by PostgreSQL in
    favour of a concurrent one (`aborted`: a deadlock or a serialization failure). Features
    turn the ones they expect into their own problem; any other is still a clear 409."""

    default_problem = Problem("write-conflict", 409, "The write conflicts with the data")

    def __init__(self, constraint: str | None, *, aborted: bool = False) -> None:
        super().__init__("The write conflicts with the data or with a concurrent write; retry.")
        self.constraint = constraint
        self.aborted = aborted


class ConnectFailedError(Exception):
    """Raised by our connect functions: a connection that could not be made, whatever the
    driver raised (an outage)."""


# The driver's errors that mean "unavailable", not "your SQL is wrong".
_UNAVAILABLE = (
    ConnectFailedError,
    asyncpg.PostgresConnectionError,  # incl. the connection closed under us
    asyncpg.OperatorInterventionError,  # shutting down, starting up, statement_timeout
    asyncpg.TooManyConnectionsError,
    # "cannot switch to state 12; another operation is in progress": a connection whose
    # server died mid-operation (seen on `kill -9` of the postmaster under load).
    asyncpg.InternalClientError,
    OSError,  # incl. ConnectionResetError, BrokenPipeError
    TimeoutError,  # no pooled connection in time
)

# PostgreSQL refused a write because of the data (a NOT NULL violation is ours: a bug), or
# aborted it for a concurrent one.
_REFUSED = asyncpg.IntegrityConstraintViolationError
_ABORTED = (asyncpg.DeadlockDetectedError, asyncpg.SerializationError)

# A pooled connection that died under us (server restarted, network path dropped): the pool
# then replaces it and every connection made before it.
DEAD_CONNECTION = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    ConnectionResetError,
    BrokenPipeError,
)


def _driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception under SQLAlchemy's wrappers (DBAPIError -> the adapter's
    error -> asyncpg's)."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None:
        return exc.orig.__cause__ or exc.orig
    return exc


def is_dead(exc: BaseException) -> bool:
    """The connection the statement ran on is gone, not the statement wrong."""
    error = _driver_error(exc)
    return isinstance(error, DEAD_CONNECTION) and not isinstance(error, asyncpg.DataError)


def _cause(error: BaseException) -> str:
    """Why a 503, for the metric: no connection in time, no connection, or the server."""
    if isinstance(error, TimeoutError | sa_exc.TimeoutError) and not isinstance(
        error, asyncpg.PostgresError
    ):
        return "pool_timeout"
    if isinstance(error, asyncpg.PostgresError) and not isinstance(
        error, asyncpg.PostgresConnectionError
    ):
        return "server"  # shutting down, statement timeout, too many connections
    return "connection"


def ours(exc: BaseException) -> Exception | None:
    """Our error for a database error, or None when it is a bug (it propagates as it is)."""
    if isinstance(exc, DatabaseUnavailableError | WriteConflictError):
        return exc
    error = _driver_error(exc)
    if isinstance(error, _ABORTED):
        return WriteConflictError(None, aborted=True)
    if isinstance(error, _REFUSED) and not isinstance(error, asyncpg.NotNullViolationError):
        name = getattr(error, "constraint_name", None)
        return WriteConflictError(name if isinstance(name, str) else None)
    # The driver's InterfaceError (not an argument it refused) on its own connection: closed or
    # broken under us. Under SQLAlchemy it is an outage only when SQLAlchemy says the connection
    # was lost; else a misuse, a bug.
    broken = (
        error is exc
        and isinstance(error, asyncpg.InterfaceError)
        and not isinstance(error, asyncpg.DataError)
    )
    unavailable = (
        isinstance(exc, sa_exc.TimeoutError)  # the engine's pool: no connection in time
        or (isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated)
        or broken
        or isinstance(error, _UNAVAILABLE)
    )
    if not unavailable:
        return None
    db_unavailable.add(1, {"cause": _cause(error if error is not exc else exc)})
    return DatabaseUnavailableError()


_DATABASE_ERRORS = (
    OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError,
    sa_exc.SQLAlchemyError, ConnectFailedError, TimeoutError,
)  # fmt: skip


class _Translated:
    """A context manager of no state, so one object serves every statement (a generator-based
    one costs a generator per statement, on every read)."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, _: TracebackType | None
    ) -> Literal[False]:  # raises ours, or lets the error through: never swallows one
        if not isinstance(exc, _DATABASE_ERRORS):
            return False  # none, or not the database's
        error = ours(exc)
        if error is None or error is exc:
            return False
        raise error from exc


_TRANSLATED = _Translated()


def translated() -> _Translated:
    """Every database error raised inside, as ours (see the module's doc)."""
    return _TRANSLATED
