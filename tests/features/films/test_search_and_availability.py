"""GET /films?q=&rating=&streaming=, GET /films/{id}/availability, PATCH /films/{id}."""

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support import ADMIN, column, scalar

SEARCH = """
    SELECT film_id FROM film
    WHERE fulltext @@ websearch_to_tsquery('english', :q)
    ORDER BY ts_rank(fulltext, websearch_to_tsquery('english', :q)) DESC, film_id
"""
FREE_COPIES = """
    SELECT i.inventory_id FROM inventory i
    WHERE i.film_id = :film AND i.store_id = :store AND NOT EXISTS (
        SELECT 1 FROM rental r WHERE r.inventory_id = i.inventory_id AND r.return_date IS NULL)
    ORDER BY i.inventory_id
"""


# -- full-text search ---------------------------------------------------------------------------


async def test_typing_dinosaur_finds_academy_dinosaur(client: httpx.AsyncClient) -> None:
    body = (await client.get("/films", params={"q": "dinosaur"})).json()

    assert "ACADEMY DINOSAUR" in [film["title"] for film in body["items"]]
    assert all("dinosaur" in f"{f['title']} {f['description']}".lower() for f in body["items"])


@pytest.mark.parametrize("q", ["dinosaur", "Mad Scientist", '"mad scientist"', "drama -epic"])
async def test_search_is_ranked_like_postgres_and_totals_every_match(
    client: httpx.AsyncClient, db: AsyncConnection, q: str
) -> None:
    expected = await column(db, SEARCH, q=q)

    first = (await client.get("/films", params={"q": q, "limit": 10})).json()
    rest = (await client.get("/films", params={"q": q, "limit": 100, "offset": 10})).json()

    assert first["total"] == rest["total"] == len(expected) > 0
    assert [f["film_id"] for f in first["items"] + rest["items"]] == expected[:110]


async def test_search_combines_with_category_rating_and_streaming(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    await db.execute(text("UPDATE film SET streaming_available = (film_id % 2 = 0)"))
    expected = await column(
        db,
        "SELECT f.film_id FROM film f JOIN film_category USING (film_id)"
        " JOIN category c USING (category_id)"
        " WHERE f.fulltext @@ websearch_to_tsquery('english', 'drama') AND c.name = 'Action'"
        " AND f.rating = 'PG' AND f.streaming_available"
        " ORDER BY ts_rank(f.fulltext, websearch_to_tsquery('english', 'drama')) DESC, f.film_id",
    )

    body = (
        await client.get(
            "/films",
            params={"q": "drama", "category": "action", "rating": "PG", "streaming": "true"},
        )
    ).json()

    assert [f["film_id"] for f in body["items"]] == expected  # best match first
    assert body["total"] == len(expected) > 0
    for film in body["items"]:
        assert (film["category"], film["rating"], film["streaming_available"]) == (
            "Action",
            "PG",
            True,
        )


@pytest.mark.parametrize("streaming", [True, False])
async def test_streaming_filter(
    client: httpx.AsyncClient, db: AsyncConnection, streaming: bool
) -> None:
    await db.execute(text("UPDATE film SET streaming_available = film_id IN (3, 5, 8)"))

    body = (await client.get("/films", params={"streaming": str(streaming).lower()})).json()

    if streaming:
        assert [f["film_id"] for f in body["items"]] == [3, 5, 8]
    assert body["total"] == (3 if streaming else 997)
    assert {f["streaming_available"] for f in body["items"]} == {streaming}


async def test_rating_filter(client: httpx.AsyncClient, db: AsyncConnection) -> None:
    body = (await client.get("/films", params={"rating": "NC-17", "limit": 100})).json()

    assert body["total"] == await scalar(db, "SELECT count(*) FROM film WHERE rating = 'NC-17'")
    assert {f["rating"] for f in body["items"]} == {"NC-17"}


async def test_a_search_matching_nothing_is_an_empty_page(client: httpx.AsyncClient) -> None:
    for q in ["zzzyzzx", "the"]:  # "the" is a stop word: an empty query matches nothing
        response = await client.get("/films", params={"q": q})
        assert response.status_code == 200
        assert response.json() == {"items": [], "total": 0, "limit": 20, "offset": 0}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": ""}, "q"),
        ({"q": "   "}, "q"),
        ({"q": "a\x00b"}, "q"),
        ({"q": "x" * 201}, "q"),
        ({"rating": "PG13"}, "rating"),
        ({"rating": "pg"}, "rating"),
        ({"streaming": "maybe"}, "streaming"),
    ],
)
async def test_bad_filters_are_422_naming_the_parameter(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    response = await client.get("/films", params=params)

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", field]


# -- availability -------------------------------------------------------------------------------


async def test_availability_per_store_matches_the_inventory(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    response = await client.get("/films/1/availability")

    assert response.status_code == 200
    body = response.json()
    assert (body["film_id"], body["title"]) == (1, "ACADEMY DINOSAUR")
    assert [s["store_id"] for s in body["stores"]] == await column(
        db, "SELECT DISTINCT store_id FROM inventory WHERE film_id = 1 ORDER BY store_id"
    )
    for store in body["stores"]:
        free = await column(db, FREE_COPIES, film=1, store=store["store_id"])
        assert store["available_inventory_ids"] == free
        assert store["in_stock"] == len(free)
        assert store["copies"] == await scalar(
            db,
            "SELECT count(*) FROM inventory WHERE film_id = 1 AND store_id = :s",
            s=store["store_id"],
        )
        # Street and city, for the page's store picker, as the database has them.
        assert store["address"] == await scalar(
            db,
            "SELECT a.address || ', ' || c.city FROM store s JOIN address a USING (address_id) "
            "JOIN city c USING (city_id) WHERE s.store_id = :s",
            s=store["store_id"],
        )
        assert store["manager_staff_id"] == await scalar(
            db, "SELECT manager_staff_id FROM store WHERE store_id = :s", s=store["store_id"]
        )
    assert body["copies"] == sum(s["copies"] for s in body["stores"])
    assert body["in_stock"] == sum(s["in_stock"] for s in body["stores"])


async def test_a_rented_copy_leaves_the_shelf_and_a_return_puts_it_back(
    client: httpx.AsyncClient,
) -> None:
    before = (await client.get("/films/1/availability")).json()["stores"][0]
    copy = before["available_inventory_ids"][0]

    rented = await client.post(
        "/customers/3/rentals", json={"inventory_id": copy, "staff_id": 1}, headers=ADMIN
    )
    during = (await client.get("/films/1/availability")).json()["stores"][0]
    await client.put(f"/rentals/{rented.json()['rental_id']}/return", headers=ADMIN)
    after = (await client.get("/films/1/availability")).json()["stores"][0]

    assert copy not in during["available_inventory_ids"]
    assert during["in_stock"] == before["in_stock"] - 1
    assert during["copies"] == before["copies"]
    assert after == before


async def test_a_film_without_copies_has_no_stores(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    film = await scalar(
        db,
        "SELECT film_id FROM film f WHERE NOT EXISTS"
        " (SELECT 1 FROM inventory i WHERE i.film_id = f.film_id) ORDER BY film_id LIMIT 1",
    )

    body = (await client.get(f"/films/{film}/availability")).json()

    assert (body["copies"], body["in_stock"], body["stores"]) == (0, 0, [])


async def test_availability_of_an_unknown_film_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/films/424242/availability")

    assert response.status_code == 404
    assert response.json()["detail"] == "Film 424242 not found."
    assert (await client.get("/films/2147483648/availability")).status_code == 422


# -- PATCH /films/{id} --------------------------------------------------------------------------


async def test_staff_can_make_a_film_streamable(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    response = await client.patch("/films/7", json={"streaming_available": True}, headers=ADMIN)

    assert response.status_code == 200
    assert response.json()["streaming_available"] is True
    assert response.json()["title"] == await scalar(db, "SELECT title FROM film WHERE film_id = 7")
    assert await scalar(db, "SELECT streaming_available FROM film WHERE film_id = 7") is True
    listed = (await client.get("/films", params={"streaming": "true"})).json()
    assert 7 in [f["film_id"] for f in listed["items"]]

    back = await client.patch("/films/7", json={"streaming_available": False}, headers=ADMIN)
    assert back.json()["streaming_available"] is False


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
async def test_patching_a_film_needs_the_bearer_token(
    client: httpx.AsyncClient, db: AsyncConnection, headers: dict[str, str]
) -> None:
    response = await client.patch("/films/7", json={"streaming_available": True}, headers=headers)

    assert response.status_code == 401
    assert await scalar(db, "SELECT streaming_available FROM film WHERE film_id = 7") is False


@pytest.mark.parametrize(
    "body",
    [{}, {"streaming_available": "yes"}, {"streaming_available": 1}, {"title": "X"}, None],
)
async def test_bad_patch_bodies_are_422(
    client: httpx.AsyncClient, body: dict[str, object] | None
) -> None:
    response = await client.patch("/films/7", json=body, headers=ADMIN)

    assert response.status_code == 422


async def test_patching_an_unknown_film_is_404(client: httpx.AsyncClient) -> None:
    response = await client.patch(
        "/films/424242", json={"streaming_available": True}, headers=ADMIN
    )

    assert response.status_code == 404
    assert response.json()["detail"] == "Film 424242 not found."
