"""Errors are problem details (RFC 9457): a stable `type` clients branch on, whose URI
documents itself, with the request id beside it."""

from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.fixtures.logs import of
from tests.support import ADMIN, scalar


async def test_an_error_says_its_kind_and_ties_itself_to_the_logs(
    client: httpx.AsyncClient, log_events: list[dict[str, Any]]
) -> None:
    response = await client.get("/films/424242", headers={"X-Request-ID": "rid-7"})

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    [access] = of(log_events, "request")
    assert response.json() == {
        "type": "/problems/not-found",
        "title": "Not found",
        "status": 404,
        "detail": "Film 424242 not found.",
        "instance": "/films/424242",
        "request_id": "rid-7",
        "trace_id": access.get("trace_id"),  # the request's trace, when one is recorded
    }
    kind = await client.get(response.json()["type"])
    assert kind.json() == {"type": "/problems/not-found", "title": "Not found", "status": 404}


async def test_the_two_refusals_of_a_rental_are_told_apart_by_type(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    rental_id = await scalar(db, "SELECT min(rental_id) FROM rental WHERE return_date IS NULL")
    copy = await scalar(db, "SELECT inventory_id FROM rental WHERE rental_id = :r", r=rental_id)

    out = await client.post(
        "/customers/1/rentals", json={"inventory_id": copy, "staff_id": 1}, headers=ADMIN
    )
    await client.put(f"/rentals/{rental_id}/return", headers=ADMIN)
    again = await client.put(f"/rentals/{rental_id}/return", headers=ADMIN)

    assert (out.status_code, out.json()["type"]) == (409, "/problems/copy-is-out")
    assert (again.status_code, again.json()["type"]) == (409, "/problems/already-returned")


async def test_a_validation_error_lists_its_fields(client: httpx.AsyncClient) -> None:
    response = await client.get("/films", params={"limit": 0})

    body = response.json()
    assert response.status_code == 422
    assert body["type"] == "/problems/validation"
    assert body["detail"] == "query.limit: Input should be greater than or equal to 1"
    assert [error["loc"] for error in body["errors"]] == [["query", "limit"]]


async def test_every_kind_is_listed_and_an_unknown_one_is_a_404(
    client: httpx.AsyncClient,
) -> None:
    kinds = (await client.get("/problems")).json()
    unknown = await client.get("/problems/no-such-kind")

    types = {kind["type"] for kind in kinds}
    assert {"/problems/copy-is-out", "/problems/ai-quota", "/problems/validation"} <= types
    assert unknown.status_code == 404
    assert unknown.json()["type"] == "/problems/not-found"
