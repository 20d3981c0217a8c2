"""POST /token: the OAuth2 password flow, so the Swagger UI "Authorize" button works."""

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from features.auth import failed_logins
from shared.database import WriteSessionDep
from shared.http.errors import TooManyRequestsError, UnauthorizedError, UnsupportedMediaTypeError
from shared.security.auth import constant_time_equals
from shared.settings import SettingsDep

router = APIRouter(tags=["auth"])
log = structlog.get_logger(__name__)


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
    session: WriteSessionDep,
) -> TokenOut:
    client = request.client.host if request.client else "unknown"
    # Compare both fields every time so the timing does not reveal which one was wrong.
    user_ok = constant_time_equals(form.username, settings.admin_username)
    password_ok = constant_time_equals(form.password, settings.admin_password.get_secret_value())
    ok = user_ok and password_ok
    tally = await failed_logins.attempt(
        session,
        client,
        ok=ok,
        max_failures=settings.token_max_failures,
        window_s=settings.token_failure_window_s,
    )
    # Kept whatever the answer: the 401 and 429 below would roll the session back.
    await session.commit()
    if tally.locked:  # even the right password waits: a guesser must not learn it was right
        raise TooManyRequestsError(
            "Too many failed sign-in attempts; try again later.", tally.wait_s
        )
    if not ok:
        # Who and how often, never what was typed.
        log.warning("auth.token_failed", client=client, failures=tally.failures)
        raise UnauthorizedError("Incorrect username or password.")
    return TokenOut(access_token=settings.admin_token.get_secret_value())
