"""The bearer guard: `Authorization: Bearer <ADMIN_TOKEN>` for write endpoints."""

import secrets
from typing import Annotated

from fastapi import Depends
from fastapi.security import OAuth2PasswordBearer

from shared.http.errors import UnauthorizedError
from shared.settings import SettingsDep

# tokenUrl feeds the Swagger UI "Authorize" dialog (POST /token, see features/auth).
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="token", auto_error=False)


def constant_time_equals(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


async def require_admin(
    token: Annotated[str | None, Depends(oauth2_scheme)], settings: SettingsDep
) -> None:
    if token is None:
        raise UnauthorizedError("Not authenticated: send Authorization: Bearer <token>.")
    if not constant_time_equals(token, settings.admin_token.get_secret_value()):
        raise UnauthorizedError("Invalid bearer token.")


async def is_admin(
    token: Annotated[str | None, Depends(oauth2_scheme)], settings: SettingsDep
) -> bool:
    """For endpoints open to all that show staff more: no token is a guest (False); a wrong
    token is a 401, not silently a guest."""
    if token is None:
        return False
    await require_admin(token, settings)
    return True


AdminGuard = Depends(require_admin)
IsAdminDep = Annotated[bool, Depends(is_admin)]
