import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support import column, scalar

CATEGORY_COUNT = """
    SELECT count(DISTINCT fc.film_id) FROM film_category fc
    JOIN category c USING (category_id) WHERE lower(c.name) = lower(:name)
"""


async def test_default_page_matches_sql(client: httpx.AsyncClient, db: AsyncConnection) -> None:
    response = await client.get("/films")

    assert response.status_code == 200
    body = response.json()
    assert body["limit"] == 20
    assert body["offset"] == 0
    assert body["total"] == await scalar(db, "SELECT count(*) FROM film")
    assert [f["film_id"] for f in body["items"]] == await column(
        db, "SELECT film_id FROM film ORDER BY film_id LIMIT 20"
    )


async def test_item_fields_come_from_the_database(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    item = (await client.get("/films", params={"limit": 1})).json()["items"][0]

    row = (
        await db.execute(
            text(
                "SELECT f.title, f.description, f.release_year, f.rating::text,"
                " f.rental_rate::float, f.length, c.name FROM film f"
                " JOIN film_category USING (film_id) JOIN category c USING (category_id)"
                " WHERE f.film_id = :id"
            ),
            {"id": item["film_id"]},
        )
    ).one()
    assert (
        item["title"],
        item["description"],
        item["release_year"],
        item["rating"],
        item["rental_rate"],
        item["length"],
        item["category"],
    ) == tuple(row)
    assert item["streaming_available"] is False


@pytest.mark.parametrize(("limit", "offset"), [(5, 0), (7, 10), (100, 950)])
async def test_limit_and_offset_slice_the_ordered_films(
    client: httpx.AsyncClient, db: AsyncConnection, limit: int, offset: int
) -> None:
    body = (await client.get("/films", params={"limit": limit, "offset": offset})).json()

    expected = await column(
        db, "SELECT film_id FROM film ORDER BY film_id LIMIT :l OFFSET :o", l=limit, o=offset
    )
    assert [f["film_id"] for f in body["items"]] == expected
    assert (body["limit"], body["offset"]) == (limit, offset)


async def test_offset_past_the_end_gives_an_empty_page_with_the_total(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    body = (await client.get("/films", params={"offset": 5000})).json()

    assert body["items"] == []
    assert body["total"] == await scalar(db, "SELECT count(*) FROM film")


@pytest.mark.parametrize("spelling", ["Comedy", "comedy", "COMEDY", "cOmEdY"])
async def test_category_filter_is_case_insensitive(
    client: httpx.AsyncClient, db: AsyncConnection, spelling: str
) -> None:
    body = (await client.get("/films", params={"category": spelling, "limit": 100})).json()

    expected_total = await scalar(db, CATEGORY_COUNT, name="comedy")
    assert expected_total > 0
    assert body["total"] == expected_total
    assert len(body["items"]) == min(100, expected_total)
    assert {f["category"] for f in body["items"]} == {"Comedy"}
    ids = [f["film_id"] for f in body["items"]]
    assert ids == sorted(ids)


async def test_category_pages_cover_every_film_of_the_category_once(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    seen: list[int] = []
    for offset in range(0, 200, 15):
        page = await client.get(
            "/films", params={"category": "action", "limit": 15, "offset": offset}
        )
        seen += [f["film_id"] for f in page.json()["items"]]

    assert seen == await column(
        db,
        "SELECT fc.film_id FROM film_category fc JOIN category c USING (category_id)"
        " WHERE c.name = 'Action' ORDER BY fc.film_id",
    )


async def test_unknown_category_gives_an_empty_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/films", params={"category": "Westerns"})

    assert response.status_code == 200
    assert response.json() == {"items": [], "total": 0, "limit": 20, "offset": 0}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"category": ""}, "category"),
    ],
)
async def test_bad_paging_gives_422_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, str | int], field: str
) -> None:
    response = await client.get("/films", params=params)

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", field]


async def test_streaming_flag_reflects_the_database(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    await db.exec_driver_sql("UPDATE film SET streaming_available = true WHERE film_id = 2")

    assert (await client.get("/films/2")).json()["streaming_available"] is True
    assert (await client.get("/films/3")).json()["streaming_available"] is False


async def test_get_one_film(client: httpx.AsyncClient, db: AsyncConnection) -> None:
    response = await client.get("/films/1")

    assert response.status_code == 200
    film = response.json()
    assert film["film_id"] == 1
    assert film["title"] == await scalar(db, "SELECT title FROM film WHERE film_id = 1")
    assert film["category"] == "Documentary"


async def test_unknown_film_is_404(client: httpx.AsyncClient) -> None:
    response = await client.get("/films/424242")

    assert response.status_code == 404
    assert response.json()["detail"] == "Film 424242 not found."


async def test_film_id_must_be_positive(client: httpx.AsyncClient) -> None:
    assert (await client.get("/films/0")).status_code == 422
    assert (await client.get("/films/abc")).status_code == 422
