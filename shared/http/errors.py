"""Application errors: each carries its status, headers and OpenAPI description; one JSON shape.

Handlers raise these (never `HTTPException`); the handler installed here turns them into JSON
inside the request middleware, so every error response carries the request id and is logged
with its real status. Anything else is a bug: `shared.observability` answers it with a 500.
"""

import math
import re
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import compile_path

log = structlog.get_logger(__name__)


class ErrorBody(BaseModel):
    """Every error that is not a request-validation error (422) has this body."""

    detail: str = Field(examples=["Film 99999 not found."])


class AppError(Exception):
    """An error the client can act on (4xx) or a dependency that failed (5xx)."""

    status_code: ClassVar[int] = 400
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def body(self) -> object:
        return {"detail": self.detail}

    def response_headers(self) -> dict[str, str]:
        return self.headers

    @classmethod
    def response_doc(cls, description: str) -> dict[int | str, dict[str, Any]]:
        """An entry for a route's `responses=`: this error's status, body model, description."""
        return {cls.status_code: {"model": ErrorBody, "description": description}}


class UnauthorizedError(AppError):
    """No credentials, or wrong ones. `invalid_token`: a token was sent and is refused (expired,
    tampered, revoked); RFC 6750 then says so in WWW-Authenticate, with the reason."""

    status_code = 401

    def __init__(self, detail: str, *, invalid_token: bool = False) -> None:
        super().__init__(detail)
        self.invalid_token = invalid_token

    def response_headers(self) -> dict[str, str]:
        if not self.invalid_token:
            return {"WWW-Authenticate": "Bearer"}
        reason = self.detail.replace('"', "'")
        return {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{reason}"'}


class ForbiddenError(AppError):
    """Signed in, but not allowed to do this."""

    status_code = 403


class NotFoundError(AppError):
    status_code = 404


class ConflictError(AppError):
    status_code = 409


class BadGatewayError(AppError):
    """An upstream service (the language model) answered, but unusably."""

    status_code = 502


class TooManyRequestsError(AppError):
    status_code = 429

    def __init__(self, detail: str, retry_after_s: float) -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s

    def response_headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, math.ceil(self.retry_after_s)))}


class GatewayTimeoutError(AppError):
    """An upstream service (the language model) took longer than we wait."""

    status_code = 504


class ServiceUnavailableError(AppError):
    """A dependency (database, language model) is down or too slow: retry later."""

    status_code = 503
    headers = {"Retry-After": "5"}  # noqa: RUF012 - read-only class constant


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


class UnsupportedMediaTypeError(AppError):
    """A body of a kind the operation does not take (JSON where a form is expected)."""

    status_code = 415


class BadRequestError(AppError):
    """A body that cannot be read at all (not UTF-8, a broken form); FastAPI raises it."""

    status_code = 400


# Every operation may answer these; documented once, for the whole app.
APP_RESPONSES = BadRequestError.response_doc("The request body could not be read")
UNAUTHORIZED_RESPONSE = UnauthorizedError.response_doc("Missing or invalid bearer token")
UNAVAILABLE_RESPONSE = ServiceUnavailableError.response_doc(
    "A dependency (database or model) is unavailable; retry after `Retry-After` seconds"
)


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    if exc.status_code >= 500:
        # Not the client's fault: worth a line, without a traceback (the cause says enough).
        cause = exc.__cause__
        log.warning(
            "request.dependency_failed",
            status=exc.status_code,
            error=type(exc).__name__,
            cause=f"{type(cause).__name__}: {str(cause)[:300]}" if cause else None,
        )
    return JSONResponse(exc.body(), status_code=exc.status_code, headers=exc.response_headers())


# A 422 names the field and the rule; it echoes at most this much of what was sent.
ECHO_MAX_CHARS = 100
ERRORS_MAX = 20


def _echo(value: Any) -> Any:
    """What was sent, bounded and JSON-safe: NaN and infinities (which JSON cannot carry) as
    text, long strings cut, objects and lists not echoed at all."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if abs(value) < 10**18 else str(value)[:20] + "…"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str | bytes):
        text = value if isinstance(value, str) else value.decode(errors="replace")
        text = text if len(text) <= ECHO_MAX_CHARS else text[:ECHO_MAX_CHARS] + "…"
        # A lone surrogate ("\ud800" is valid JSON) cannot be encoded as UTF-8: escape it.
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return f"<{type(value).__name__}>"


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    detail: list[dict[str, Any]] = [
        {
            "type": error["type"],
            "loc": [_echo(part) for part in error["loc"]],
            "msg": str(error["msg"])[:500],
            "input": _echo(error.get("input")),
            **({"ctx": {k: _echo(v) for k, v in error["ctx"].items()}} if error.get("ctx") else {}),
        }
        for error in errors[:ERRORS_MAX]
    ]
    if len(errors) > ERRORS_MAX:
        detail.append(
            {"type": "too_many_errors", "loc": [], "msg": f"{len(errors) - ERRORS_MAX} more"}
        )
    return JSONResponse({"detail": detail}, status_code=422)


def _methods_by_path(app: Any) -> list[tuple[re.Pattern[str], str]]:
    """Each documented path's pattern and its methods ("GET, PATCH"), from the OpenAPI document
    (FastAPI routes are one method each, nested in included routers), built on the first 405."""
    table: list[tuple[re.Pattern[str], str]] | None = getattr(app.state, "methods_by_path", None)
    if table is None:
        table = [
            (compile_path(path)[0], ", ".join(sorted(method.upper() for method in operations)))
            for path, operations in app.openapi()["paths"].items()
        ]
        app.state.methods_by_path = table
    return table


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors, FastAPI's way, except that a 405 lists every method the path
    allows: Starlette names only those of the first route that matched the path."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 405:
        path = request.scope["path"]
        for pattern, methods in _methods_by_path(request.app):
            if pattern.match(path):
                exc = StarletteHTTPException(
                    405, exc.detail, {**(exc.headers or {}), "Allow": methods}
                )
                break
    return await http_exception_handler(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
