"""POST /token: staff sign in with their username and password (the OAuth2 password flow, so
the Swagger UI "Authorize" button works) and get a short-lived access token."""

import asyncio
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from features.auth import failed_logins, passwords, query
from shared.database import TransactionDep
from shared.http.errors import (
    Problem,
    TooManyRequestsError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)
from shared.http.params import client_address
from shared.observability.telemetry import sign_in_failures, sign_in_lockouts
from shared.security.tokens import TokenKeys
from shared.settings import SettingsDep

router = APIRouter(tags=["auth"])

# The kinds of refusal a client branches on (the `type` of the problem details).
BAD_CREDENTIALS = Problem("bad-credentials", 401, "Wrong username or password")
SIGN_IN_LOCKED = Problem("sign-in-locked", 429, "Too many failed sign-ins from this client")
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
    expires_in: int  # seconds (RFC 6749)
    # Who signed in, for the page to show.
    staff_id: int
    store_id: int
    name: str


@router.post(
    "/token",
    summary="Sign in as a member of staff: a short-lived bearer token",
    dependencies=[Depends(_form_only)],
    responses={
        **UnsupportedMediaTypeError.response_doc("The body is not a form (JSON, say)"),
        **UnauthorizedError.response_doc(
            "Wrong username or password, or an inactive account", BAD_CREDENTIALS
        ),
        **TooManyRequestsError.response_doc(
            "Too many failed attempts from this client: retry after `Retry-After` seconds",
            SIGN_IN_LOCKED,
        ),
    },
)
async def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    settings: SettingsDep,
    request: Request,
    transaction: TransactionDep,
) -> TokenOut:
    client = client_address(request)
    account = failed_logins.account_of(form.username)
    limits = failed_logins.Limits.of(settings)
    wait_s = await failed_logins.wait_s(transaction, client, account, limits)
    if wait_s > 0:
        log.warning("auth.token_locked", client=client)
        sign_in_lockouts.add(1)
        raise TooManyRequestsError(
            "Too many failed sign-in attempts; try again later.", wait_s, problem=SIGN_IN_LOCKED
        )
    staff = await query.staff_by_username(transaction, form.username)
    # argon2 takes tens of ms of CPU: off the event loop.
    ok, new_hash = await asyncio.to_thread(
        passwords.verify, form.password, staff["password"] if staff else None
    )
    ok = ok and staff is not None and staff["active"]
    if ok and new_hash is not None:
        await query.set_password(transaction, form.username, new_hash)
    failures = await failed_logins.record(transaction, client, account, limits, ok=ok)
    # Kept whatever the answer: the 401 below would roll the transaction back.
    await transaction.commit()
    if not ok or staff is None:
        # Who and how often, never what was typed.
        log.warning("auth.token_failed", client=client, failures=failures)
        sign_in_failures.add(1)
        raise UnauthorizedError(
            "Incorrect username or password, or the account is not active.",
            problem=BAD_CREDENTIALS,
        )
    keys: TokenKeys = request.app.state.token_keys
    token, ttl_s = keys.issue(staff["staff_id"], staff["store_id"])
    log.info("auth.token_issued", staff_id=staff["staff_id"], rehashed=new_hash is not None)
    return TokenOut(
        access_token=token,
        expires_in=ttl_s,
        staff_id=staff["staff_id"],
        store_id=staff["store_id"],
        name=f"{staff['first_name']} {staff['last_name']}",
    )
