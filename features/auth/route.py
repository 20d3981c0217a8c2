"""POST /token: the OAuth2 password flow, so the Swagger UI "Authorize" button works."""

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from shared.auth import constant_time_equals
from shared.errors import UnauthorizedError
from shared.settings import SettingsDep

router = APIRouter(tags=["auth"])


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth2 token type, not a secret


@router.post(
    "/token",
    summary="Exchange the admin credentials for the bearer token",
    responses=UnauthorizedError.response_doc("Wrong username or password"),
)
async def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], settings: SettingsDep
) -> TokenOut:
    # Compare both fields every time so the timing does not reveal which one was wrong.
    user_ok = constant_time_equals(form.username, settings.admin_username)
    password_ok = constant_time_equals(form.password, settings.admin_password.get_secret_value())
    if not (user_ok and password_ok):
        raise UnauthorizedError("Incorrect username or password.")
    return TokenOut(access_token=settings.admin_token.get_secret_value())
