"""Conditional requests: catalogue reads carry an ETag (a digest of the body) and answer a
matching If-None-Match with 304; PATCH /films/{id} honours If-Match with 412."""

import httpx
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support import ADMIN, scalar


async def test_a_page_of_films_is_not_sent_again_until_it_changes(
    client: httpx.AsyncClient,
) -> None:
    first = await client.get("/films", params={"limit": 3})
    etag = first.headers["ETag"]
    again = await client.get("/films", params={"limit": 3}, headers={"If-None-Match": etag})
    film_id = first.json()["items"][0]["film_id"]
    streaming = first.json()["items"][0]["streaming_available"]
    await client.patch(
        f"/films/{film_id}", json={"streaming_available": not streaming}, headers=ADMIN
    )
    changed = await client.get("/films", params={"limit": 3}, headers={"If-None-Match": etag})

    assert first.status_code == 200
    assert first.headers["Cache-Control"] == "public, no-cache"
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag
    assert changed.json()["items"][0]["streaming_available"] is not streaming


async def test_each_read_says_how_long_it_may_be_kept(client: httpx.AsyncClient) -> None:
    categories = await client.get("/categories")
    availability = await client.get("/films/1/availability")
    film = await client.get("/films/1")
    weak = await client.get("/films/1", headers={"If-None-Match": f"W/{film.headers['ETag']}"})

    assert categories.headers["Cache-Control"] == "public, max-age=300"
    assert availability.headers["Cache-Control"] == "no-cache"
    assert all(r.headers["ETag"].startswith('"') for r in (categories, availability, film))
    assert weak.status_code == 304  # If-None-Match compares weakly (RFC 9110)


async def test_availability_changes_its_etag_with_a_rental(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    before = await client.get("/films/1/availability")
    copy = before.json()["stores"][0]["available_inventory_ids"][0]
    await client.post(
        "/customers/1/rentals", json={"inventory_id": copy, "staff_id": 1}, headers=ADMIN
    )
    after = await client.get(
        "/films/1/availability", headers={"If-None-Match": before.headers["ETag"]}
    )

    assert after.status_code == 200
    assert after.json()["in_stock"] == before.json()["in_stock"] - 1


async def test_a_change_based_on_a_stale_read_is_refused(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    read = await client.get("/films/2")
    etag = read.headers["ETag"]
    streaming = read.json()["streaming_available"]

    mine = await client.patch(
        "/films/2",
        json={"streaming_available": not streaming},
        headers={**ADMIN, "If-Match": etag},
    )
    theirs = await client.patch(
        "/films/2",
        json={"streaming_available": streaming},
        headers={**ADMIN, "If-Match": etag},  # based on the same, now stale, read
    )

    assert mine.status_code == 200
    assert mine.headers["ETag"] == (await client.get("/films/2")).headers["ETag"]
    assert theirs.status_code == 412
    assert theirs.json()["type"] == "/problems/precondition-failed"
    assert (
        await scalar(db, "SELECT streaming_available FROM film WHERE film_id = 2") is not streaming
    )
