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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Header, Request
from fastapi.responses import Response
from pydantic import BaseModel
from pydantic_core import to_json
from sqlalchemy import Float, LargeBinary, SmallInteger, String, bindparam, text
from sqlalchemy.dialects.postgresql import JSONB

from shared.database import Database, Rows, Statement, Transaction, database_of
from shared.http.errors import InvalidFieldError, Problem
from shared.security.auth import Caller, CallerDep
from shared.settings import settings_of

Done = TypeVar("Done", bound=BaseModel)

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
class IdempotentWrite:
    """A write that takes `Idempotency-Key`: `run` does it, in its own way without a key (one
    statement in autocommit, or a transaction), and with a key in a transaction that reserves
    the key first and records the response last. A plain dependency, and the route's bearer
    guard (staff or the service token): nothing is opened until `run`, which returns once the
    write has committed (before the response is sent)."""

    database: Database
    caller: Caller  # who writes
    key: str | None
    owner: str
    ttl_s: float
    one_statement: bool  # without a key, the write is one statement: no transaction

    async def run(
        self,
        request: Request,
        response: Response,
        work: Callable[[Rows], Awaitable[Done]],
        *,
        body: BaseModel | None = None,
        location: Callable[[Done], str] | None = None,
    ) -> Done | Response:
        """`work` done once per key: its result, or the first response to this key again.
        With `location`, a 201 whose Location header it gives; else a 200."""
        status, headers = 200, {}
        if self.key is None and self.one_statement:
            done = await work(self.database)
        else:
            async with self.database.transaction() as transaction:
                if self.key is not None and (
                    replayed := await self._replay(transaction, request, body)
                ):
                    return replayed
                done = await work(transaction)
                if location is not None:
                    status, headers = 201, {"Location": location(done)}
                await self._record(transaction, status, done, headers)
        if location is not None:
            response.headers["Location"] = location(done)
        return done

    async def _replay(
        self, transaction: Transaction, request: Request, body: BaseModel | None
    ) -> Response | None:
        """The first response to this key, if there was one; else the key is now reserved (in
        the transaction) and the caller does the work."""
        fingerprint = _fingerprint(request, body)
        params = {"owner": self.owner, "key": self.key}
        await transaction.write(_FORGET_EXPIRED, {"ttl_s": self.ttl_s})
        if await transaction.write(_RESERVE, {**params, "fingerprint": fingerprint}):
            return None
        recorded = await transaction.row(_RECORDED, params)
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

    async def _record(
        self, transaction: Transaction, status: int, done: BaseModel, headers: dict[str, str]
    ) -> None:
        """The response to this key, kept with the write (same transaction)."""
        if self.key is None:
            return
        params = {
            "owner": self.owner,
            "key": self.key,
            "status": status,
            "body": to_json(done),  # as the response model writes it
            "headers": headers,
        }
        await transaction.write(_RECORD, params)


def _fingerprint(request: Request, body: BaseModel | None) -> str:
    request_line = f"{request.method} {request.url.path}"
    payload = body.model_dump(mode="json") if body is not None else None
    canonical = json.dumps([request_line, payload], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _owner(caller: Caller) -> str:
    return f"staff:{caller.staff_id}" if caller.staff_id is not None else "service"


def _idempotent_write(*, one_statement: bool) -> Any:
    async def write(
        request: Request, caller: CallerDep, key: IdempotencyKeyHeader = None
    ) -> IdempotentWrite:
        return IdempotentWrite(
            database_of(request),
            caller,
            key.strip('"') if key else None,
            _owner(caller),
            settings_of(request).idempotency_key_ttl_s,
            one_statement,
        )

    return Depends(write)


IdempotentOneStatementDep = Annotated[IdempotentWrite, _idempotent_write(one_statement=True)]
IdempotentTransactionDep = Annotated[IdempotentWrite, _idempotent_write(one_statement=False)]
