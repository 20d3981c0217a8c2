"""POST /token: the OAuth2 password flow, so the Swagger UI "Authorize" button works."""

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from features.auth.failed_logins import FailedLogins
from shared.auth import constant_time_equals
from shared.errors import TooManyRequestsError, UnauthorizedError, UnsupportedMediaTypeError
from shared.settings import SettingsDep

router = APIRouter(tags=["auth"])
log = structlog.get_logger(__name__)


def _failed_logins(request: Request, settings: SettingsDep) -> FailedLogins:
    """The app's tally of failed attempts (one per app, created with its first use)."""
    state = request.app.state
    if getattr(state, "failed_logins", None) is None:
        state.failed_logins = FailedLogins(
            settings.token_max_failures, settings.token_failure_window_s
        )
    failed: FailedLogins = state.failed_logins
    return failed


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


async def _form_only(request: Request) -> None:
    """A JSON body would otherwise get "Field required" for fields it does contain."""
    if not request.headers.get("content-type", "").lower().startswith(_FORMS):
        raise UnsupportedMediaTypeError(
            "POST /token takes a form (application/x-www-form-urlencoded), not JSON: "
            "username=...&password=..."
        )


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret


@router.post(
    "/token",
    summary="Exchange the admin credentials for the bearer token",
    dependencies=[Depends(_form_only)],
    responses={
        **UnsupportedMediaTypeError.response_doc("The body is not a form (JSON, say)"),
        **UnauthorizedError.response_doc("Wrong username or password"),
        **TooManyRequestsError.response_doc(
            "Too many failed attempts from this client: retry after `Retry-After` seconds"
        ),
    },
)
async def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    settings: SettingsDep,
    request: Request,
) -> TokenOut:
    failed = _failed_logins(request, settings)
    client = request.client.host if request.client else "unknown"
    if (wait_s := failed.wait_s(client)) > 0:
        raise TooManyRequestsError("Too many failed sign-in attempts; try again later.", wait_s)
    # Compare both fields every time so the timing does not reveal which one was wrong.
    user_ok = constant_time_equals(form.username, settings.admin_username)
    password_ok = constant_time_equals(form.password, settings.admin_password.get_secret_value())
    if not (user_ok and password_ok):
        # Who and how often, never what was typed.
        failures = failed.failed(client)
        log.warning("auth.token_failed", client=client, failures=failures)
        raise UnauthorizedError("Incorrect username or password.")
    failed.succeeded(client)
    return TokenOut(access_token=settings.admin_token.get_secret_value())
