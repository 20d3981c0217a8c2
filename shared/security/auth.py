"""Who is asking: the bearer guard.

`Authorization: Bearer <token>` is either a member of staff's access token (a JWT from
POST /token, see tokens.py) or the service credential ADMIN_TOKEN, which acts for no member of
staff in particular. A staff token is honoured only while its member of staff is active: one
primary-key read per request, so that deactivating someone revokes their tokens at once.
"""

import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import bindparam, select
from sqlmodel import col

from shared.database import Statement, database_of
from shared.database.models import Staff
from shared.http.errors import ForbiddenError, InvalidFieldError, UnauthorizedError
from shared.observability.request_context import staff_id_var
from shared.security.tokens import InvalidTokenError, TokenKeys
from shared.settings import settings_of

# tokenUrl feeds the Swagger UI "Authorize" dialog (POST /token, see features/auth).
oauth2_scheme = OAuth2PasswordBearer(
    tokenUrl="token",
    auto_error=False,
    description="A member of staff's access token from POST /token (a JWT, valid "
    "ACCESS_TOKEN_TTL_S), or the service token ADMIN_TOKEN (`dvd_admin` in development).",
)


def constant_time_equals(given: str, expected: str) -> bool:
    return secrets.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Caller:
    """A signed-in member of staff (`staff_id`, `store_id`), or the service credential (both
    None)."""

    staff_id: int | None
    store_id: int | None

    def acting_as(self, staff_id: int | None) -> int:
        """The member of staff a write records: the signed-in one (naming another is a 403),
        or, with the service credential, the one the request names (required)."""
        if self.staff_id is None:
            if staff_id is None:
                raise InvalidFieldError(
                    "staff_id", "staff_id is required with the service token (ADMIN_TOKEN)."
                )
            return staff_id
        if staff_id is not None and staff_id != self.staff_id:
            raise ForbiddenError(
                f"You are signed in as staff member {self.staff_id}: you cannot act as "
                f"staff member {staff_id}."
            )
        return self.staff_id


SERVICE = Caller(staff_id=None, store_id=None)

_ACTIVE = Statement(select(col(Staff.active)).where(col(Staff.staff_id) == bindparam("staff_id")))


async def _identify(token: str | None, request: Request) -> Caller | None:
    """None for a guest (no token); a wrong, expired or revoked token is a 401, never silently
    a guest."""
    if not token:  # none, or "Bearer " with nothing after it
        return None
    service_token = settings_of(request).admin_token.get_secret_value()
    if service_token and constant_time_equals(token, service_token):
        return SERVICE
    keys: TokenKeys = request.app.state.token_keys
    try:
        claims = keys.verify(token)
    except InvalidTokenError as exc:
        raise UnauthorizedError(str(exc), invalid_token=True) from None
    row = await database_of(request).row(_ACTIVE, {"staff_id": claims.staff_id})
    if row is None or not row["active"]:
        raise UnauthorizedError("This member of staff is no longer active.", invalid_token=True)
    staff_id_var.set(claims.staff_id)  # every later line of this request says who made it
    return Caller(claims.staff_id, claims.store_id)


# Each a dependency of one level over the bearer scheme, reading the app's settings and
# database from the request: FastAPI solves a dependency's whole sub-tree on every use, even
# a cached one, at several microseconds a node (a write's largest cost after the database).
# A route takes one of the two (a staff token would be read twice).
Token = Annotated[str | None, Depends(oauth2_scheme)]


async def current_caller(token: Token, request: Request) -> Caller | None:
    """Who is asking: None for a guest."""
    return await _identify(token, request)


async def require_caller(token: Token, request: Request) -> Caller:
    caller = await _identify(token, request)
    if caller is None:
        raise UnauthorizedError("Not authenticated: send Authorization: Bearer <token>.")
    return caller


async def is_staff(caller: Annotated[Caller | None, Depends(current_caller)]) -> bool:
    """For endpoints open to all that show staff more."""
    return caller is not None


StaffGuard = Depends(require_caller)
CallerDep = Annotated[Caller, Depends(require_caller)]
IsStaffDep = Annotated[bool, Depends(is_staff)]
