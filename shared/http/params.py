"""What every feature reads of a request alike: ids in paths, the client's address."""

from typing import Annotated

from fastapi import Path, Request

from shared.database.models import MAX_ID

# Any id in a path (film, customer, rental, subscription): Pagila's keys are `integer`, so a
# larger one is a 422 before any SQL, not a driver error.
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


def client_address(request: Request) -> str:
    """Who is asking, by address: the connection's peer, or what a proxy uvicorn trusts
    (FORWARDED_ALLOW_IPS) says it forwarded for. What per-client limits key on."""
    return request.client.host if request.client else "unknown"
