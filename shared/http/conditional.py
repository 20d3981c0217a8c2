"""Conditional requests (RFC 9110): catalogue reads carry an `ETag` and answer a matching
`If-None-Match` with 304 and no body; a write that takes `If-Match` refuses a stale one with 412.

The ETag is a digest of the JSON body itself (BLAKE2b, 128 bits), so it changes exactly when
the representation does, whatever changed it, with nothing to invalidate. Its cost: the body is
serialised (as it would be anyway) and hashed, a few microseconds for a page of films; a 304
saves the client the transfer and the parse, not our query (`just bench` measures both).
"""

import hashlib
from collections.abc import Sequence
from typing import Annotated

from fastapi import Header, Request
from fastapi.responses import Response
from pydantic import BaseModel
from pydantic_core import to_json

from shared.http.asgi import raw_header
from shared.http.errors import PreconditionFailedError

# What each kind of read may be cached as. The catalogue changes rarely but staff may change a
# film at any time: a cache may keep it but must ask again (a 304 costs little). Categories are
# not changed through the API. Availability changes with every rental.
CATALOGUE = "public, no-cache"
CATEGORIES = "public, max-age=300"
AVAILABILITY = "no-cache"


def etag_of(value: BaseModel | Sequence[BaseModel]) -> str:
    return _etag(to_json(value))


def _etag(body: bytes) -> str:
    return f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'


def _matches(header: str, etag: str) -> bool:
    """Whether `If-None-Match` / `If-Match` names this ETag (or `*`); weak forms compare equal
    for If-None-Match, as RFC 9110 has it."""
    candidates = {candidate.strip().removeprefix("W/") for candidate in header.split(",")}
    return "*" in candidates or etag in candidates


def conditional_json(
    request: Request, value: BaseModel | Sequence[BaseModel], cache_control: str
) -> Response:
    """`value` as JSON (as its response model would write it) with its ETag, or 304 when the
    client already has it."""
    body = to_json(value)
    etag = _etag(body)
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if_none_match = raw_header(request.scope, b"if-none-match")
    if if_none_match is not None and _matches(if_none_match.decode("latin-1"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


# A 304 for the OpenAPI document: not modified since the ETag in If-None-Match.
NOT_MODIFIED: dict[int | str, dict[str, object]] = {
    304: {"description": "Not modified: the ETag sent in `If-None-Match` is still current"}
}

IfMatchHeader = Annotated[
    str | None,
    Header(
        alias="If-Match",
        max_length=1000,
        description="The ETag the change was based on (from a GET): if the resource has "
        "changed since, nothing is changed and the answer is 412.",
        examples=['"5d41402abc4b2a76b9719d911017c592"'],
    ),
]


def check_if_match(if_match: str | None, current: BaseModel, what: str) -> None:
    """412 unless `If-Match` (when sent) names the current representation's ETag."""
    if if_match is not None and not _matches(if_match, etag_of(current)):
        raise PreconditionFailedError(
            f"{what} has changed since you read it: GET it again, then retry with its new ETag."
        )
