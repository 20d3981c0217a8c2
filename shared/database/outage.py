"""What an outage looks like: which database errors mean "unavailable" (a 503), not a bug.

Cannot connect, connection lost, pool exhausted, statement timeout: `DatabaseUnavailableError`,
an ordinary application error handled inside the request middleware. Every other database
error is a bug (500).
"""

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from sqlalchemy import exc as sa_exc

from shared.http.errors import Problem, ServiceUnavailableError


class DatabaseUnavailableError(ServiceUnavailableError):
    """The database cannot serve the request now (down, unreachable, overloaded, too slow)."""

    default_problem = Problem("database-unavailable", 503, "The database is unavailable")

    def __init__(self, detail: str = "The database is unavailable; please retry shortly.") -> None:
        super().__init__(detail)


class ConnectFailedError(Exception):
    """Raised by the engine's connect function, so that only a failed connect (not any OSError
    in a request) is read as an outage."""


# Driver errors that mean "unavailable", not "your SQL is wrong".
_UNAVAILABLE_DRIVER_ERRORS = (
    ConnectFailedError,
    asyncpg.PostgresConnectionError,  # incl. the connection closed under us
    asyncpg.OperatorInterventionError,  # shutting down, starting up, statement_timeout
    asyncpg.TooManyConnectionsError,
    ConnectionError,
    TimeoutError,
    # "cannot switch to state 12; another operation is in progress": a connection whose
    # server died mid-operation (seen on `kill -9` of the postmaster under load).
    asyncpg.InternalClientError,
)

# A pooled connection that died under us (server restarted, network path dropped).
DEAD_CONNECTION = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    ConnectionResetError,
    BrokenPipeError,
)


def driver_error(exc: BaseException) -> BaseException:
    """The driver's own exception under SQLAlchemy's wrappers (DBAPIError -> adapter error ->
    asyncpg error); `exc` itself when it wraps nothing."""
    inner = exc.orig if isinstance(exc, sa_exc.DBAPIError) and exc.orig is not None else exc
    return inner.__cause__ if inner.__cause__ is not None else inner


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, ConnectFailedError | sa_exc.TimeoutError):  # TimeoutError: pool exhausted
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
    """SQLAlchemy's errors that mean an outage, as `DatabaseUnavailableError`."""
    try:
        yield
    except (ConnectFailedError, sa_exc.SQLAlchemyError) as exc:
        if is_unavailable(exc):
            raise DatabaseUnavailableError() from exc
        raise
