"""Safe retries (shared/http/idempotency.py): a write sent again with its Idempotency-Key gets
the first response, and the work is done once."""

import asyncio
import json
import secrets
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from tests.support import ADMIN, scalar

FREE_COPY = """
    SELECT i.inventory_id FROM inventory i
    WHERE NOT EXISTS (SELECT 1 FROM rental r
                      WHERE r.inventory_id = i.inventory_id AND r.return_date IS NULL)
    ORDER BY i.inventory_id DESC LIMIT 1 OFFSET :skip
"""


def keyed(key: str) -> dict[str, str]:
    return {**ADMIN, "Idempotency-Key": f'"{key}"'}


@pytest.fixture
async def committed(app: FastAPI) -> AsyncIterator[AsyncEngine]:
    """The app's engine, for tests whose requests really commit; their rentals and keys go
    afterwards (rentals of copies counted from the end of the inventory, today's)."""
    engine: AsyncEngine = app.state.database.engine
    async with engine.connect() as conn:
        newest = await scalar(conn, "SELECT max(rental_id) FROM rental")
    yield engine
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM rental WHERE rental_id > :n"), {"n": newest})
        await conn.execute(text("DELETE FROM idempotency_key WHERE owner = 'service'"))


async def test_a_rental_whose_response_was_lost_is_retried_into_the_same_201(
    live_url: str, committed: AsyncEngine
) -> None:
    """The connection is cut once the rental is committed, before the client reads anything;
    the retry with the key gets the first response, and there is one rental."""
    async with committed.connect() as conn:
        copy = await scalar(conn, FREE_COPY, skip=0)
        before = await scalar(conn, "SELECT max(rental_id) FROM rental")
    key = str(uuid.uuid4())
    body = json.dumps({"inventory_id": copy, "staff_id": 1}).encode()
    target = urlsplit(live_url)
    _, writer = await asyncio.open_connection(target.hostname, target.port)
    head = (
        f"POST /customers/3/rentals HTTP/1.1\r\nHost: {target.netloc}\r\n"
        f'Authorization: {ADMIN["Authorization"]}\r\nIdempotency-Key: "{key}"\r\n'
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    await writer.drain()
    async with asyncio.timeout(10):
        while True:  # committed: the rental is there for anyone to see
            async with committed.connect() as conn:
                made = await scalar(
                    conn, "SELECT max(rental_id) FROM rental WHERE inventory_id = :i", i=copy
                )
                if made is not None and made > before:
                    break
            await asyncio.sleep(0.01)
    writer.close()  # the response, if sent, is never read: lost
    await writer.wait_closed()

    async with httpx.AsyncClient(base_url=live_url, timeout=10) as http:
        retried = await http.post(
            "/customers/3/rentals", json={"inventory_id": copy, "staff_id": 1}, headers=keyed(key)
        )
        unkeyed = await http.post(
            "/customers/3/rentals", json={"inventory_id": copy, "staff_id": 1}, headers=ADMIN
        )

    assert retried.status_code == 201
    assert retried.json()["rental_id"] == made
    assert retried.headers["Location"] == f"/rentals/{made}"
    assert retried.headers["Idempotent-Replayed"] == "true"
    assert unkeyed.status_code == 409  # without the key, the same request is a new rental
    async with committed.connect() as conn:
        rentals = await scalar(
            conn,
            "SELECT count(*) FROM rental WHERE inventory_id = :i AND rental_id > :before",
            i=copy,
            before=before,
        )
    assert rentals == 1


async def test_one_key_sent_twice_at_once_rents_once(
    committing_client: httpx.AsyncClient, committed: AsyncEngine
) -> None:
    async with committed.connect() as conn:
        copy = await scalar(conn, FREE_COPY, skip=1)
    key = secrets.token_hex(8)
    request = {"inventory_id": copy, "staff_id": 2}

    first, second = await asyncio.gather(
        *(
            committing_client.post("/customers/4/rentals", json=request, headers=keyed(key))
            for _ in range(2)
        )
    )

    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json() == second.json()
    assert sorted(r.headers.get("Idempotent-Replayed", "") for r in (first, second)) == [
        "",
        "true",
    ]


async def test_the_same_key_for_another_request_is_a_422(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    copy = await scalar(db, FREE_COPY, skip=2)
    other = await scalar(db, FREE_COPY, skip=3)

    first = await client.post(
        "/customers/5/rentals", json={"inventory_id": copy, "staff_id": 1}, headers=keyed("k-1")
    )
    reused = await client.post(
        "/customers/5/rentals", json={"inventory_id": other, "staff_id": 1}, headers=keyed("k-1")
    )

    assert first.status_code == 201
    assert reused.status_code == 422
    assert reused.json()["type"] == "/problems/idempotency-key-reused"
    assert reused.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]


async def test_a_return_retried_with_its_key_is_the_same_200(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    rental_id = await scalar(db, "SELECT min(rental_id) FROM rental WHERE return_date IS NULL")

    first = await client.put(f"/rentals/{rental_id}/return", headers=keyed("ret-1"))
    retried = await client.put(f"/rentals/{rental_id}/return", headers=keyed("ret-1"))
    unkeyed = await client.put(f"/rentals/{rental_id}/return", headers=ADMIN)

    assert (first.status_code, retried.status_code) == (200, 200)
    assert retried.content == first.content  # the first response's very bytes
    assert unkeyed.status_code == 409
    assert unkeyed.json()["type"] == "/problems/already-returned"


async def test_a_subscription_retried_with_its_key_is_made_once(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    request = {"plan_name": "basic", "start_date": "2031-01-01", "end_date": "2031-01-31"}

    first = await client.post("/customers/6/subscriptions", json=request, headers=keyed("s-1"))
    retried = await client.post("/customers/6/subscriptions", json=request, headers=keyed("s-1"))

    assert (first.status_code, retried.status_code) == (201, 201)
    assert retried.json() == first.json()
    assert (
        await scalar(db, "SELECT count(*) FROM streaming_subscription WHERE customer_id = 6") == 1
    )


@pytest.mark.parametrize("key", ["", "has space", "x" * 256])
async def test_a_malformed_key_is_a_422(client: httpx.AsyncClient, key: str) -> None:
    response = await client.put("/rentals/1/return", headers={**ADMIN, "Idempotency-Key": key})

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["header", "Idempotency-Key"]
