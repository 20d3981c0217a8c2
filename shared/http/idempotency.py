"""Safe retries: the `Idempotency-Key` request header (IETF httpapi draft, Stripe's practice).

A write sent with a key reserves it, in the write's own transaction, with a fingerprint of the
request (method, path, body); the response is recorded in the same transaction. So the key's
record commits with the write or not at all:
- a retry with the same key and request gets the first response again (status, body, headers,
  and `Idempotent-Replayed: true`) and the work is not done twice, whichever worker answers;
- the same key with another request is a 422;
- two requests with one key at once: the second waits for the first's transaction (PostgreSQL's
  unique index), then replays it;
- a refused write (4xx) rolls back with its key: a retry tries again.
Keys are per caller (a member of staff, or the service token) and kept IDEMPOTENCY_KEY_TTL_S.
"""

import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.responses import Response
from pydantic import BaseModel
from pydantic_core import to_json
from sqlalchemy import Float, LargeBinary, SmallInteger, String, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from shared.database import Database, DatabaseDep, Rows, Statement
from shared.http.errors import InvalidFieldError, Problem
from shared.security.auth import Caller, CallerDep
from shared.settings import SettingsDep

KEY_REUSED = Problem(
    "idempotency-key-reused", 422, "The Idempotency-Key was used for another request"
)

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        # Printable, no spaces; quoted (a structured-field string, as the draft has it) or not.
        pattern=r'^"?[\x21\x23-\x7e]+"?$',
        description="Makes a retry safe: the same key with the same request gets the first "
        "response again, without doing the work twice (kept IDEMPOTENCY_KEY_TTL_S).",
        examples=['"8e03978e-40d5-43e8-bc93-6894a57f9324"'],
    ),
]

# Keys past their time go (this one's too, so that it may be used afresh): few at a time, the
# ones that have just expired, found by the created_at index.
_FORGET_EXPIRED = Statement(
    text(
        "DELETE FROM idempotency_key WHERE created_at < now() - make_interval(secs => :ttl_s)"
    ).bindparams(bindparam("ttl_s", type_=Float))
)

# Reserves the key, or waits for a transaction that holds it and then finds it taken.
_RESERVE = Statement(
    text(
        """
    INSERT INTO idempotency_key (owner, key, fingerprint, status, body, headers)
    VALUES (:owner, :key, :fingerprint, 0, '', '{}')
    ON CONFLICT (owner, key) DO NOTHING
    RETURNING true AS reserved
    """
    ).bindparams(
        bindparam("owner", type_=String),
        bindparam("key", type_=String),
        bindparam("fingerprint", type_=String),
    )
)

_RECORDED = Statement(
    text(
        "SELECT fingerprint, status, body, headers FROM idempotency_key"
        " WHERE owner = :owner AND key = :key"
    ).bindparams(bindparam("owner", type_=String), bindparam("key", type_=String))
)

_RECORD = Statement(
    text(
        "UPDATE idempotency_key SET status = :status, body = :body, headers = :headers"
        " WHERE owner = :owner AND key = :key"
    ).bindparams(
        bindparam("owner", type_=String),
        bindparam("key", type_=String),
        bindparam("status", type_=SmallInteger),
        bindparam("body", type_=LargeBinary),
        bindparam("headers", type_=JSONB),
    )
)


@dataclass(frozen=True)
class Idempotency:
    """The key of one write, if it has one (then `writes` is a transaction)."""

    writes: Rows
    key: str | None
    owner: str
    ttl_s: float

    async def replay(self, request: Request, body: BaseModel | None = None) -> Response | None:
        """The first response to this key, if there was one; else the key is now reserved (in
        the session's transaction) and the caller does the work. None without a key."""
        if self.key is None:
            return None
        fingerprint = _fingerprint(request, body)
        params = {"owner": self.owner, "key": self.key}
        await self.writes.write(_FORGET_EXPIRED, {"ttl_s": self.ttl_s})
        if await self.writes.write(_RESERVE, {**params, "fingerprint": fingerprint}):
            return None
        recorded = await self.writes.row(_RECORDED, params)
        assert recorded is not None  # reserved by another transaction, which has committed
        if recorded["fingerprint"] != fingerprint:
            raise InvalidFieldError(
                "Idempotency-Key",
                "This Idempotency-Key was already used for another request; use a new key.",
                location="header",
                problem=KEY_REUSED,
            )
        headers = {**recorded["headers"], "Idempotent-Replayed": "true"}
        return Response(
            recorded["body"], recorded["status"], headers=headers, media_type="application/json"
        )

    async def created(self, response: Response, body: BaseModel, location: str) -> None:
        """A 201 at `location`: recorded for the key, and its Location header set."""
        headers = {"Location": location}
        await self.record(201, body, headers)
        response.headers.update(headers)

    async def record(self, status: int, body: BaseModel, headers: dict[str, str]) -> None:
        """The response to this key, kept with the write (same transaction)."""
        if self.key is None:
            return
        params = {
            "owner": self.owner,
            "key": self.key,
            "status": status,
            "body": to_json(body),  # as the response model writes it
            "headers": headers,
        }
        await self.writes.write(_RECORD, params)


def _fingerprint(request: Request, body: BaseModel | None) -> str:
    request_line = f"{request.method} {request.url.path}"
    payload = body.model_dump(mode="json") if body is not None else None
    canonical = json.dumps([request_line, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _owner(caller: Caller) -> str:
    return f"staff:{caller.staff_id}" if caller.staff_id is not None else "service"


def _idempotent_write(*, one_statement: bool) -> Any:
    """A write that takes `Idempotency-Key`. With a key, its statements run in a transaction
    (the key's record and the write commit together); without, in the route's own way
    (`one_statement`: the write is one statement, in autocommit)."""

    async def write(
        database: DatabaseDep,
        caller: CallerDep,
        settings: SettingsDep,
        key: IdempotencyKeyHeader = None,
    ) -> AsyncIterator[Idempotency]:
        async with _writes(database, transaction=key is not None or not one_statement) as writes:
            yield Idempotency(
                writes,
                key.strip('"') if key else None,
                _owner(caller),
                settings.idempotency_key_ttl_s,
            )

    return Depends(write, scope="function")


@asynccontextmanager
async def _writes(database: Database, *, transaction: bool) -> AsyncIterator[Rows]:
    if not transaction:
        yield database
        return
    async with database.transaction() as opened:
        yield opened


IdempotentOneStatementDep = Annotated[Idempotency, _idempotent_write(one_statement=True)]
IdempotentTransactionDep = Annotated[Idempotency, _idempotent_write(one_statement=False)]
