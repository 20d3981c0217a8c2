"""Staff passwords: argon2 through pwdlib. Pagila's own are unsalted SHA-1 digests; one is
accepted once, at a successful sign-in, and replaced there by an argon2 hash (pwdlib's
`verify_and_update`)."""

import hashlib
import hmac
import re
import secrets
from functools import cache

from pwdlib import PasswordHash
from pwdlib.exceptions import UnknownHashError
from pwdlib.hashers.argon2 import Argon2Hasher
from pwdlib.hashers.base import ensure_str


class PagilaSha1Hasher:
    """Pagila's digests (40 hex characters): verified, never made, always to be replaced."""

    _DIGEST = re.compile(r"[0-9a-f]{40}")

    @classmethod
    def identify(cls, hash: str | bytes) -> bool:
        return cls._DIGEST.fullmatch(ensure_str(hash)) is not None

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        raise NotImplementedError("SHA-1 digests are only verified, to be replaced")

    def verify(self, password: str | bytes, hash: str | bytes) -> bool:
        given = password.encode() if isinstance(password, str) else password
        # The legacy scheme itself, verified once before it is replaced.
        digest = hashlib.sha1(given, usedforsecurity=False).hexdigest()
        return hmac.compare_digest(digest, ensure_str(hash))

    def check_needs_rehash(self, hash: str | bytes) -> bool:
        return True


PASSWORDS = PasswordHash((Argon2Hasher(), PagilaSha1Hasher()))


def hash_password(password: str) -> str:
    return PASSWORDS.hash(password)


@cache
def _stand_in_hash() -> str:
    return PASSWORDS.hash(secrets.token_urlsafe(16))


def verify(password: str, stored: str | None) -> tuple[bool, str | None]:
    """(whether `password` is right, the hash to store in place of `stored`, if any).

    Every call costs one argon2 verification, whether the account exists, has no password, or
    still has a fast SHA-1 digest: the time taken does not tell which usernames exist.
    """
    if stored is None or not Argon2Hasher.identify(stored):
        PASSWORDS.verify(password, _stand_in_hash())
    if stored is None:
        return False, None
    try:
        return PASSWORDS.verify_and_update(password, stored)
    except UnknownHashError:
        return False, None
