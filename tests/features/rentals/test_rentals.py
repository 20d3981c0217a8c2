import asyncio
from datetime import datetime

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.support import ADMIN, column, scalar

FREE_COPY = """
    SELECT i.inventory_id FROM inventory i
    WHERE NOT EXISTS (SELECT 1 FROM rental r
                      WHERE r.inventory_id = i.inventory_id AND r.return_date IS NULL)
    ORDER BY i.inventory_id LIMIT 1 OFFSET :skip
"""
COPY_OUT = "SELECT inventory_id FROM rental WHERE return_date IS NULL ORDER BY rental_id LIMIT 1"


async def free_copy(db: AsyncConnection, skip: int = 0) -> int:
    inventory_id: int = await scalar(db, FREE_COPY, skip=skip)
    return inventory_id


async def rent(
    client: httpx.AsyncClient, customer_id: int, inventory_id: int, staff_id: int = 1
) -> httpx.Response:
    return await client.post(
        f"/customers/{customer_id}/rentals",
        json={"inventory_id": inventory_id, "staff_id": staff_id},
        headers=ADMIN,
    )


# -- the guard ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, "Bearer"),
        (
            {"Authorization": "Bearer wrong"},
            'Bearer error="invalid_token", error_description="The token is malformed."',
        ),
        ({"Authorization": "Basic ZHZkX2FkbWlu"}, "Bearer"),
        ({"Authorization": "Bearer "}, "Bearer"),
    ],
)
async def test_writes_need_a_bearer_token(
    client: httpx.AsyncClient, db: AsyncConnection, headers: dict[str, str], challenge: str
) -> None:
    copy = await free_copy(db)
    create = await client.post(
        "/customers/1/rentals", json={"inventory_id": copy, "staff_id": 1}, headers=headers
    )
    give_back = await client.put("/rentals/1/return", headers=headers)

    for response in (create, give_back):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == challenge
    assert (
        await scalar(
            db,
            "SELECT count(*) FROM rental WHERE inventory_id = :i AND return_date IS NULL",
            i=copy,
        )
        == 0
    )


# -- renting ------------------------------------------------------------------------------------


async def test_rent_a_copy(client: httpx.AsyncClient, db: AsyncConnection) -> None:
    copy = await free_copy(db)
    before: datetime = await scalar(db, "SELECT clock_timestamp()")

    response = await rent(client, customer_id=5, inventory_id=copy, staff_id=2)

    after: datetime = await scalar(db, "SELECT clock_timestamp()")

    assert response.status_code == 201
    rental = response.json()
    assert response.headers["Location"] == f"/rentals/{rental['rental_id']}"
    assert (rental["customer_id"], rental["inventory_id"], rental["staff_id"]) == (5, copy, 2)
    assert rental["return_date"] is None
    # rental_date is the database's clock (now(): the statement's transaction's start).
    assert before <= datetime.fromisoformat(rental["rental_date"]) <= after
    stored = (
        await db.execute(
            text("SELECT customer_id, inventory_id, staff_id FROM rental WHERE rental_id = :id"),
            {"id": rental["rental_id"]},
        )
    ).one()
    assert tuple(stored) == (5, copy, 2)


async def test_unknown_customer_is_404(client: httpx.AsyncClient, db: AsyncConnection) -> None:
    response = await rent(client, customer_id=99999, inventory_id=await free_copy(db))

    assert response.status_code == 404
    assert response.json()["detail"] == "Customer 99999 not found."


@pytest.mark.parametrize("field", ["inventory_id", "staff_id"])
async def test_unknown_inventory_or_staff_is_422_naming_the_field(
    client: httpx.AsyncClient, db: AsyncConnection, field: str
) -> None:
    body = {"inventory_id": await free_copy(db), "staff_id": 1, field: 99999}

    response = await client.post("/customers/1/rentals", json=body, headers=ADMIN)

    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["loc"] == ["body", field]
    assert "99999" in error["msg"]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"inventory_id": 1},
        {"inventory_id": "x", "staff_id": 1},
        {"inventory_id": 1, "staff_id": 1, "rental_date": "2020-01-01"},
    ],
)
async def test_malformed_body_is_422(client: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await client.post("/customers/1/rentals", json=body, headers=ADMIN)

    assert response.status_code == 422


async def test_a_copy_already_out_is_409(client: httpx.AsyncClient, db: AsyncConnection) -> None:
    copy = await scalar(db, COPY_OUT)
    before = await scalar(db, "SELECT count(*) FROM rental")

    response = await rent(client, customer_id=1, inventory_id=copy)

    assert response.status_code == 409
    assert str(copy) in response.json()["detail"]
    assert await scalar(db, "SELECT count(*) FROM rental") == before


async def test_renting_twice_is_409_and_returning_frees_the_copy(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    copy = await free_copy(db)
    first = await rent(client, customer_id=1, inventory_id=copy)
    second = await rent(client, customer_id=2, inventory_id=copy)
    returned = await client.put(f"/rentals/{first.json()['rental_id']}/return", headers=ADMIN)
    third = await rent(client, customer_id=2, inventory_id=copy)

    assert [r.status_code for r in (first, second, returned, third)] == [201, 409, 200, 201]


def _counted() -> dict[str, float]:
    """The rentals' counters as Prometheus reads them."""
    wanted = {
        "pagila_rentals_created_total": "created",
        "pagila_rentals_returned_total": "returned",
        "pagila_conflicts_total": "conflicts",
    }
    counted = dict.fromkeys(wanted.values(), 0.0)
    for family in REGISTRY.collect():
        for sample in family.samples:
            reason = sample.labels.get("reason", "copy-is-out")  # conflicts: this kind
            if sample.name in wanted and reason == "copy-is-out":
                counted[wanted[sample.name]] += sample.value
    return counted


async def test_rentals_returns_and_refusals_are_counted(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    before = _counted()
    copy = await free_copy(db)
    first = await rent(client, customer_id=1, inventory_id=copy)
    await rent(client, customer_id=2, inventory_id=copy)  # 409: the copy is out
    await client.put(f"/rentals/{first.json()['rental_id']}/return", headers=ADMIN)
    after = _counted()

    assert {name: after[name] - before[name] for name in after} == {
        "created": 1,
        "returned": 1,
        "conflicts": 1,
    }


async def test_concurrent_rentals_of_one_copy_give_one_201_and_409s(
    committing_client: httpx.AsyncClient, app: FastAPI
) -> None:
    """Real transactions on separate connections: the race the unique index decides."""
    engine = app.state.database.engine
    async with engine.connect() as conn:
        copy = await free_copy(conn, skip=7)
    try:
        responses = await asyncio.gather(
            *(rent(committing_client, customer_id=10 + i, inventory_id=copy) for i in range(20))
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] + [409] * 19
        async with engine.connect() as conn:
            open_rentals = await scalar(
                conn,
                "SELECT count(*) FROM rental WHERE inventory_id = :i AND return_date IS NULL",
                i=copy,
            )
        assert open_rentals == 1
    finally:
        async with engine.begin() as conn:
            await conn.execute(
                text(
                    "DELETE FROM rental WHERE inventory_id = :i AND rental_date > now() - "
                    "interval '1 hour' AND return_date IS NULL"
                ),
                {"i": copy},
            )


# -- returning ----------------------------------------------------------------------------------


async def test_return_sets_return_date_once(client: httpx.AsyncClient, db: AsyncConnection) -> None:
    rental_id = (await rent(client, 1, await free_copy(db))).json()["rental_id"]

    before: datetime = await scalar(db, "SELECT clock_timestamp()")
    first = await client.put(f"/rentals/{rental_id}/return", headers=ADMIN)
    after: datetime = await scalar(db, "SELECT clock_timestamp()")
    again = await client.put(f"/rentals/{rental_id}/return", headers=ADMIN)

    assert first.status_code == 200
    assert before <= datetime.fromisoformat(first.json()["return_date"]) <= after
    # With its film, as a customer's list shows it.
    film = await scalar(
        db,
        "SELECT json_build_array(f.film_id, f.title) FROM rental JOIN inventory USING "
        "(inventory_id) JOIN film f USING (film_id) WHERE rental_id = :id",
        id=rental_id,
    )
    assert [first.json()["film_id"], first.json()["title"]] == film
    assert again.status_code == 409
    assert again.json()["detail"] == f"Rental {rental_id} was already returned."


async def test_return_of_unknown_rental_is_404(client: httpx.AsyncClient) -> None:
    response = await client.put("/rentals/99999999/return", headers=ADMIN)

    assert response.status_code == 404


# -- reading ------------------------------------------------------------------------------------


async def test_get_rental(client: httpx.AsyncClient, db: AsyncConnection) -> None:
    response = await client.get("/rentals/1", headers=ADMIN)

    assert response.status_code == 200
    expected = await scalar(
        db,
        "SELECT json_build_array(customer_id, f.film_id, f.title) FROM rental JOIN inventory "
        "USING (inventory_id) JOIN film f USING (film_id) WHERE rental_id = 1",
    )
    body = response.json()
    assert [body["customer_id"], body["film_id"], body["title"]] == expected
    assert (await client.get("/rentals/99999999", headers=ADMIN)).status_code == 404


async def test_customer_rentals_newest_first_with_total(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    expected = await column(
        db,
        "SELECT rental_id FROM rental WHERE customer_id = 3"
        " ORDER BY rental_date DESC, rental_id DESC",
    )
    first = (await client.get("/customers/3/rentals", params={"limit": 10}, headers=ADMIN)).json()
    second = (
        await client.get("/customers/3/rentals", params={"limit": 10, "offset": 10}, headers=ADMIN)
    ).json()

    assert first["total"] == second["total"] == len(expected)
    assert [r["rental_id"] for r in first["items"] + second["items"]] == expected[:20]
    dates = [r["rental_date"] for r in first["items"]]
    assert dates == sorted(dates, reverse=True)
    # Each with its film, for a person to read.
    films = (
        await db.execute(
            text(
                "SELECT r.rental_id, f.film_id, f.title FROM rental r"
                " JOIN inventory i USING (inventory_id) JOIN film f USING (film_id)"
                " WHERE r.customer_id = 3"
            )
        )
    ).all()
    by_rental = {rental_id: (film_id, title) for rental_id, film_id, title in films}
    for rental in first["items"]:
        assert (rental["film_id"], rental["title"]) == by_rental[rental["rental_id"]]


async def test_new_rental_comes_first_in_the_customer_list(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    new = (await rent(client, 3, await free_copy(db))).json()

    listing = (await client.get("/customers/3/rentals", params={"limit": 1}, headers=ADMIN)).json()

    [listed] = listing["items"]
    assert {k: v for k, v in listed.items() if k not in ("film_id", "title")} == new
    film = (
        await db.execute(
            text(
                "SELECT film_id, title FROM inventory JOIN film USING (film_id)"
                " WHERE inventory_id = :i"
            ),
            {"i": new["inventory_id"]},
        )
    ).one()
    assert (listed["film_id"], listed["title"]) == tuple(film)


async def test_customer_rentals_of_unknown_customer_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/customers/99999/rentals", headers=ADMIN)).status_code == 404
    assert (
        await client.get("/customers/1/rentals", params={"limit": 500}, headers=ADMIN)
    ).status_code == 422
