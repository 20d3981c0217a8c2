"""Access tokens: short-lived JWTs (HS256, pyjwt) that say which member of staff signed in.

Claims: `sub` the staff id (a string, as RFC 7519 has it), `store` their store, `iat`, `exp`;
the header's `kid` names the key. Two keys may be accepted at once: JWT_SECRET, which signs,
and JWT_PREVIOUS_SECRET after a rotation, until the tokens it signed have expired.
"""

import hashlib
import time
from dataclasses import dataclass

import jwt

from shared.settings import Settings

ALGORITHM = "HS256"


def key_id(secret: str) -> str:
    """A key's public name: a digest of it, so that nothing about the key is configured twice."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class StaffClaims:
    staff_id: int
    store_id: int
    expires_at: int  # seconds since the epoch


class InvalidTokenError(Exception):
    """Why a token is refused, in words a client can act on (the 401's description)."""


class TokenKeys:
    """The signing key and every key still accepted, by key id."""

    def __init__(self, settings: Settings) -> None:
        current = settings.jwt_secret.get_secret_value()
        self._current_kid = key_id(current)
        self._keys = {self._current_kid: current}
        if settings.jwt_previous_secret is not None:
            previous = settings.jwt_previous_secret.get_secret_value()
            self._keys[key_id(previous)] = previous
        self.ttl_s = settings.access_token_ttl_s

    def issue(self, staff_id: int, store_id: int) -> tuple[str, int]:
        """A token for this member of staff, and its lifetime in seconds."""
        now = int(time.time())
        claims = {"sub": str(staff_id), "store": store_id, "iat": now, "exp": now + self.ttl_s}
        token = jwt.encode(
            claims,
            self._keys[self._current_kid],
            algorithm=ALGORITHM,
            headers={"kid": self._current_kid},
        )
        return token, self.ttl_s

    def verify(self, token: str) -> StaffClaims:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.DecodeError as exc:
            raise InvalidTokenError("The token is malformed.") from exc
        key = self._keys.get(kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidTokenError("The token was signed with a key this server does not accept.")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                options={"require": ["sub", "store", "iat", "exp"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise InvalidTokenError("The token has expired: sign in again.") from exc
        except jwt.InvalidSignatureError as exc:
            raise InvalidTokenError("The token's signature is invalid.") from exc
        except jwt.InvalidTokenError as exc:
            raise InvalidTokenError("The token is malformed.") from exc
        try:
            return StaffClaims(int(claims["sub"]), int(claims["store"]), int(claims["exp"]))
        except (TypeError, ValueError) as exc:
            raise InvalidTokenError("The token is malformed.") from exc
