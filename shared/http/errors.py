"""Application errors, answered as problem details (RFC 9457, `application/problem+json`).

Every error body says what kind of error it is in `type`, a stable URI (`/problems/<slug>`,
which documents it), so that clients branch on the kind and never on the text; `title` names
the kind, `detail` says what happened this time, `instance` is the path asked, and
`request_id` and `trace_id` tie it to the logs and traces. A validation error (422) lists its
fields in `errors` (FastAPI's `loc`, `msg`, `type`).

Handlers raise `AppError`s (never `HTTPException`), each carrying its `Problem` (a feature may
name a more specific one: `ConflictError(..., problem=COPY_IS_OUT)`); the handler installed here
answers them inside the request middleware, so each is logged with its real status. Anything
else is a bug: `shared.observability.logs` answers it with a 500.
"""

import math
import re
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.routing import compile_path
from starlette.types import Scope

from shared.observability.request_context import current_trace_id, request_id_var

log = structlog.get_logger(__name__)

PROBLEM_JSON = "application/problem+json"
# Every kind of error this API answers, by slug: GET /problems/{slug} documents each.
PROBLEMS: dict[str, "Problem"] = {}


@dataclass(frozen=True)
class Problem:
    """A kind of error: its slug (the last part of its `type`), status and title."""

    slug: str
    status: int
    title: str

    def __post_init__(self) -> None:
        assert PROBLEMS.setdefault(self.slug, self) == self, f"two problems named {self.slug}"

    @property
    def type(self) -> str:
        return f"/problems/{self.slug}"


class ProblemDetails(BaseModel):
    """The body of every error response (RFC 9457)."""

    type: str = Field(examples=["/problems/not-found"])
    title: str = Field(examples=["Not found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["Film 99999 not found."])
    instance: str = Field(examples=["/films/99999"])
    request_id: str | None = Field(examples=["7be0983c8d535fbe491df099190cc5c8"])
    trace_id: str | None = Field(
        description="The request's OpenTelemetry trace id, when it is traced"
    )
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="Validation errors (422): each with `loc`, `msg` and `type`"
    )


def problem_body(scope: Scope, problem: Problem, detail: str, **extensions: Any) -> dict[str, Any]:
    return {
        "type": problem.type,
        "title": problem.title,
        "status": problem.status,
        "detail": detail,
        "instance": scope.get("path", ""),
        "request_id": request_id_var.get(),
        "trace_id": current_trace_id(),
        **extensions,
    }


def problem_response(
    scope: Scope,
    problem: Problem,
    detail: str,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    return JSONResponse(
        problem_body(scope, problem, detail, **extensions),
        status_code=problem.status,
        headers=headers,
        media_type=PROBLEM_JSON,
    )


def problem_doc(
    description: str, *problems: Problem, status: int | None = None
) -> dict[int | str, dict[str, Any]]:
    """An entry for a route's `responses=`: the status, the body model, and which `type`s it
    may carry."""
    code = status or problems[0].status
    types = ", ".join(f"`{p.type}`" for p in problems)
    return {
        code: {
            "model": ProblemDetails,
            "description": f"{description} (type {types})",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}},
        }
    }


BAD_REQUEST = Problem("bad-request", 400, "The request could not be read")
UNAUTHENTICATED = Problem("unauthenticated", 401, "Not signed in")
INVALID_TOKEN = Problem("invalid-token", 401, "The bearer token is refused")
FORBIDDEN = Problem("forbidden", 403, "Not allowed")
NOT_FOUND = Problem("not-found", 404, "Not found")
METHOD_NOT_ALLOWED = Problem("method-not-allowed", 405, "Method not allowed")
CONFLICT = Problem("conflict", 409, "Conflict")
PRECONDITION_FAILED = Problem("precondition-failed", 412, "The resource has changed")
PAYLOAD_TOO_LARGE = Problem("payload-too-large", 413, "Request body too large")
UNSUPPORTED_MEDIA_TYPE = Problem("unsupported-media-type", 415, "Unsupported media type")
VALIDATION = Problem("validation", 422, "Invalid request")
PRECONDITION_REQUIRED = Problem("precondition-required", 428, "If-Match is required")
TOO_MANY_REQUESTS = Problem("too-many-requests", 429, "Too many requests")
INTERNAL = Problem("internal", 500, "Internal server error")
BAD_GATEWAY = Problem("bad-gateway", 502, "The model answered unusably")
UNAVAILABLE = Problem("unavailable", 503, "A dependency is unavailable")
GATEWAY_TIMEOUT = Problem("gateway-timeout", 504, "The model took too long")


class AppError(Exception):
    """An error the client can act on (4xx) or a dependency that failed (5xx)."""

    default_problem: ClassVar[Problem] = BAD_REQUEST
    headers: ClassVar[dict[str, str]] = {}

    def __init__(self, detail: str, *, problem: Problem | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.problem = problem or self.default_problem

    @property
    def status_code(self) -> int:
        return self.problem.status

    def extensions(self) -> dict[str, Any]:
        return {}

    def response_headers(self) -> dict[str, str]:
        return self.headers

    @classmethod
    def response_doc(cls, description: str, *problems: Problem) -> dict[int | str, dict[str, Any]]:
        """An entry for a route's `responses=`: this error's status, body, and `type`s."""
        return problem_doc(description, *(problems or (cls.default_problem,)))


class UnauthorizedError(AppError):
    """No credentials, or wrong ones. `invalid_token`: a token was sent and is refused (expired,
    tampered, revoked); RFC 6750 then says so in WWW-Authenticate, with the reason."""

    default_problem = UNAUTHENTICATED

    def __init__(
        self, detail: str, *, invalid_token: bool = False, problem: Problem | None = None
    ) -> None:
        super().__init__(detail, problem=problem or (INVALID_TOKEN if invalid_token else None))
        self.invalid_token = invalid_token

    def response_headers(self) -> dict[str, str]:
        if not self.invalid_token:
            return {"WWW-Authenticate": "Bearer"}
        reason = self.detail.replace('"', "'")
        return {"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{reason}"'}


class ForbiddenError(AppError):
    """Signed in, but not allowed to do this."""

    default_problem = FORBIDDEN


class NotFoundError(AppError):
    default_problem = NOT_FOUND


class ConflictError(AppError):
    default_problem = CONFLICT


class PreconditionFailedError(AppError):
    default_problem = PRECONDITION_FAILED


class BadGatewayError(AppError):
    """An upstream service (the language model) answered, but unusably."""

    default_problem = BAD_GATEWAY


class TooManyRequestsError(AppError):
    default_problem = TOO_MANY_REQUESTS

    def __init__(
        self, detail: str, retry_after_s: float, *, problem: Problem | None = None
    ) -> None:
        super().__init__(detail, problem=problem)
        self.retry_after_s = retry_after_s

    def response_headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, math.ceil(self.retry_after_s)))}


class GatewayTimeoutError(AppError):
    """An upstream service (the language model) took longer than we wait."""

    default_problem = GATEWAY_TIMEOUT


class ServiceUnavailableError(AppError):
    """A dependency (database, language model) is down or too slow: retry later."""

    default_problem = UNAVAILABLE
    headers = {"Retry-After": "5"}  # noqa: RUF012 - read-only class constant


class InvalidFieldError(AppError):
    """A well-formed body whose field points at something that does not exist (422), listed
    in `errors` as FastAPI lists a validation error, so clients read one shape for all 422s."""

    default_problem = VALIDATION

    def __init__(
        self, field: str, detail: str, location: str = "body", *, problem: Problem | None = None
    ) -> None:
        super().__init__(detail, problem=problem)
        self.field = field
        self.location = location

    def extensions(self) -> dict[str, Any]:
        return {
            "errors": [
                {"loc": [self.location, self.field], "msg": self.detail, "type": "value_error"}
            ]
        }


class UnsupportedMediaTypeError(AppError):
    """A body of a kind the operation does not take (JSON where a form is expected)."""

    default_problem = UNSUPPORTED_MEDIA_TYPE


class BadRequestError(AppError):
    """A body that cannot be read at all (not UTF-8, a broken form); FastAPI raises it."""

    default_problem = BAD_REQUEST


# Every operation may answer these; documented once, for the whole app.
APP_RESPONSES = {
    **problem_doc("The request body could not be read", BAD_REQUEST),
    **problem_doc("Invalid request: the fields in `errors`", VALIDATION),
}
UNAUTHORIZED_RESPONSE = problem_doc(
    "Missing or refused bearer token", UNAUTHENTICATED, INVALID_TOKEN
)
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
    return problem_response(
        request.scope, exc.problem, exc.detail, exc.response_headers(), **exc.extensions()
    )


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
    listed: list[dict[str, Any]] = [
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
        listed.append(
            {"type": "too_many_errors", "loc": [], "msg": f"{len(errors) - ERRORS_MAX} more"}
        )
    first = listed[0] if listed else {"loc": [], "msg": "invalid"}
    where = ".".join(str(part) for part in first["loc"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    detail = f"{where}: {first['msg']}{more}" if where else f"{first['msg']}{more}"
    return problem_response(request.scope, VALIDATION, detail, errors=listed)


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


# Starlette's own errors (no route, a method the route lacks, a body over the limit), by status.
_HTTP_PROBLEMS = {
    problem.status: problem
    for problem in (BAD_REQUEST, NOT_FOUND, METHOD_NOT_ALLOWED, PAYLOAD_TOO_LARGE)
}


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors as problem details; a 405 lists every method the path allows:
    Starlette names only those of the first route that matched the path."""
    assert isinstance(exc, StarletteHTTPException)
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        path = request.scope["path"]
        for pattern, methods in _methods_by_path(request.app):
            if pattern.match(path):
                headers["Allow"] = methods
                break
    if exc.status_code in (204, 304) or exc.status_code < 400:
        return Response(status_code=exc.status_code, headers=headers)
    problem = _HTTP_PROBLEMS.get(exc.status_code) or Problem(
        f"http-{exc.status_code}", exc.status_code, HTTPStatus(exc.status_code).phrase
    )
    return problem_response(request.scope, problem, str(exc.detail), headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
