"""JSON error responses for failures that are not the client's fault.

A database that is down, unreachable, starting up or too slow gives 503 (retry later), never a
traceback; anything unexpected gives a 500 JSON body and a logged stack trace.
"""

import asyncpg
import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from shared.database import DatabaseUnavailableError

log = structlog.get_logger(__name__)

DATABASE_UNAVAILABLE = (
    DatabaseUnavailableError,  # could not connect
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.QueryCanceledError,  # statement_timeout
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,  # connection pool exhausted
)


def is_database_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, DATABASE_UNAVAILABLE):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return True
        # SQLAlchemy wraps the driver's error in its adapter's (e.g. QueryCanceledError becomes
        # a generic DBAPIError); the asyncpg exception is that adapter error's cause.
        driver_error = exc.orig.__cause__ if exc.orig is not None else None
        return isinstance(driver_error, DATABASE_UNAVAILABLE)
    return False


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    if is_database_unavailable(exc):
        log.warning("database.unavailable", error=type(exc).__name__, detail=str(exc)[:300])
        return JSONResponse(
            {"detail": "The database is unavailable; please retry shortly."},
            status_code=503,
            headers={"Retry-After": "5"},
        )
    log.exception("request.failed")
    return JSONResponse({"detail": "Internal server error."}, status_code=500)


class AppError(Exception):
    """An error the client can act on; handlers raise these, never HTTPException."""

    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> object:
        return {"detail": self.detail}


class NotFoundError(AppError):
    status_code = 404


class ConflictError(AppError):
    status_code = 409


class BadGatewayError(AppError):
    """An upstream service (the language model) answered, but unusably."""

    status_code = 502


class InvalidFieldError(AppError):
    """A well-formed body whose field points at something that does not exist (422).

    The body has FastAPI's validation-error shape, so clients parse one format for all 422s."""

    status_code = 422

    def __init__(self, field: str, detail: str, location: str = "body") -> None:
        super().__init__(detail)
        self.field = field
        self.location = location

    def body(self) -> object:
        return {
            "detail": [
                {"loc": [self.location, self.field], "msg": self.detail, "type": "value_error"}
            ]
        }


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return JSONResponse(exc.body(), status_code=exc.status_code)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    # Registered for Exception so that it runs for database errors raised from dependencies too.
    app.add_exception_handler(Exception, _unhandled)
