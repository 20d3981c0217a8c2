"""Streaming subscriptions: create, list, end; never two overlapping for one customer."""

import asyncio
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.fixtures.logs import of
from tests.support import ADMIN, scalar


async def subscribe(
    client: httpx.AsyncClient, customer_id: int, start: str, end: str | None = None
) -> httpx.Response:
    body = {"plan_name": "premium", "start_date": start, "end_date": end}
    return await client.post(f"/customers/{customer_id}/subscriptions", json=body, headers=ADMIN)


async def test_subscribe_a_customer(client: httpx.AsyncClient, db: AsyncConnection) -> None:
    today: date = await scalar(db, "SELECT current_date")

    response = await subscribe(client, 5, today.isoformat())

    assert response.status_code == 201
    body = response.json()
    assert response.headers["Location"] == f"/subscriptions/{body['subscription_id']}"
    assert body == {
        "subscription_id": body["subscription_id"],
        "customer_id": 5,
        "plan_name": "premium",
        "start_date": today.isoformat(),
        "end_date": None,
        "active": True,
    }
    stored = (
        await db.execute(
            text(
                "SELECT customer_id, plan_name, start_date, end_date FROM streaming_subscription"
                " WHERE id = :id"
            ),
            {"id": body["subscription_id"]},
        )
    ).one()
    assert tuple(stored) == (5, "premium", today, None)
    assert (await client.get(response.headers["Location"], headers=ADMIN)).json() == body


async def test_list_latest_first_with_active_flags(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    today: date = await scalar(db, "SELECT current_date")
    past = await subscribe(client, 6, "2020-01-01", "2020-12-31")
    current = await subscribe(client, 6, (today - timedelta(days=3)).isoformat())

    response = await client.get("/customers/6/subscriptions", headers=ADMIN)

    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 2
    assert [s["subscription_id"] for s in body["items"]] == [
        current.json()["subscription_id"],
        past.json()["subscription_id"],
    ]
    assert [s["active"] for s in body["items"]] == [True, False]


async def test_a_customer_without_subscriptions_has_an_empty_list(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/customers/7/subscriptions", headers=ADMIN)

    assert response.json() == {"items": [], "total": 0, "limit": 20, "offset": 0}


@pytest.mark.parametrize(
    ("existing", "requested"),
    [
        (("2026-01-01", None), ("2030-05-01", "2030-06-01")),  # inside an open-ended one
        (("2026-01-01", "2026-01-31"), ("2026-01-31", None)),  # the last day is included
        (("2026-02-01", "2026-02-28"), ("2026-01-01", None)),  # an open-ended one covering it
        (("2026-02-01", "2026-02-28"), ("2026-01-15", "2026-02-01")),  # ends on its first day
    ],
)
async def test_an_overlapping_subscription_is_409_naming_the_one_it_overlaps(
    client: httpx.AsyncClient,
    db: AsyncConnection,
    existing: tuple[str, str | None],
    requested: tuple[str, str | None],
) -> None:
    first = (await subscribe(client, 8, *existing)).json()

    response = await subscribe(client, 8, *requested)

    assert response.status_code == 409
    assert f"subscription {first['subscription_id']}" in response.json()["detail"]
    assert (
        await scalar(db, "SELECT count(*) FROM streaming_subscription WHERE customer_id = 8") == 1
    )


async def test_adjacent_periods_and_other_customers_do_not_overlap(
    client: httpx.AsyncClient,
) -> None:
    january = await subscribe(client, 9, "2026-01-01", "2026-01-31")
    february = await subscribe(client, 9, "2026-02-01", None)
    someone_else = await subscribe(client, 10, "2026-01-15", None)

    assert [r.status_code for r in (january, february, someone_else)] == [201, 201, 201]


async def test_concurrent_overlapping_subscriptions_give_one_201_and_409s(
    committing_client: httpx.AsyncClient, app: FastAPI, log_events: list[dict[str, Any]]
) -> None:
    """Real transactions on separate connections. Requests that pass the overlap check together
    are kept apart by the exclusion constraint alone: rounds run until that has happened."""
    engine = app.state.database.engine
    customers = list(range(11, 21))
    try:
        for customer_id in customers:
            starts = [date(2027, 1, 1) + timedelta(days=i) for i in range(20)]
            responses = await asyncio.gather(
                *(subscribe(committing_client, customer_id, s.isoformat()) for s in starts)
            )
            assert sorted(r.status_code for r in responses) == [201] + [409] * 19
            async with engine.connect() as conn:
                stored = await scalar(
                    conn,
                    "SELECT count(*) FROM streaming_subscription WHERE customer_id = :c",
                    c=customer_id,
                )
            assert stored == 1
            if of(log_events, "subscription.conflict"):  # decided by the database
                break
        else:
            pytest.fail("no request ever got past the overlap check: the race was not tested")
    finally:
        async with engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM streaming_subscription WHERE customer_id = ANY(:c)"),
                {"c": customers},
            )


async def test_unknown_customer_is_404(client: httpx.AsyncClient) -> None:
    created = await subscribe(client, 99999, "2026-01-01")
    listed = await client.get("/customers/99999/subscriptions", headers=ADMIN)

    for response in (created, listed):
        assert response.status_code == 404
        assert response.json()["detail"] == "Customer 99999 not found."


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"plan_name": "basic", "start_date": "2026-02-01", "end_date": "2026-01-01"}, None),
        ({"plan_name": "", "start_date": "2026-02-01"}, "plan_name"),
        ({"plan_name": "   ", "start_date": "2026-02-01"}, "plan_name"),
        ({"plan_name": "x" * 51, "start_date": "2026-02-01"}, "plan_name"),
        ({"plan_name": "a\x00b", "start_date": "2026-02-01"}, "plan_name"),
        ({"plan_name": "basic", "start_date": "2026-02-30"}, "start_date"),
        ({"plan_name": "basic", "start_date": 1767225600}, "start_date"),
        ({"plan_name": "basic"}, "start_date"),
        ({"plan_name": "basic", "start_date": "2026-02-01", "price": 3}, "price"),
    ],
)
async def test_bad_bodies_are_422(
    client: httpx.AsyncClient, db: AsyncConnection, body: dict[str, object], field: str | None
) -> None:
    response = await client.post("/customers/12/subscriptions", json=body, headers=ADMIN)

    assert response.status_code == 422
    if field is not None:
        assert response.json()["errors"][0]["loc"][:2] == ["body", field]
    assert await scalar(db, "SELECT count(*) FROM streaming_subscription") == 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}])
async def test_writes_need_the_bearer_token(
    client: httpx.AsyncClient, db: AsyncConnection, headers: dict[str, str]
) -> None:
    created = await client.post(
        "/customers/5/subscriptions",
        json={"plan_name": "basic", "start_date": "2026-01-01"},
        headers=headers,
    )
    ended = await client.put("/subscriptions/1/end", headers=headers)

    assert [created.status_code, ended.status_code] == [401, 401]
    assert await scalar(db, "SELECT count(*) FROM streaming_subscription") == 0


# -- ending -------------------------------------------------------------------------------------


async def test_end_today_by_default(client: httpx.AsyncClient, db: AsyncConnection) -> None:
    today: date = await scalar(db, "SELECT current_date")
    sid = (await subscribe(client, 13, "2026-01-01")).json()["subscription_id"]

    response = await client.put(f"/subscriptions/{sid}/end", headers=ADMIN)

    assert response.status_code == 200
    assert response.json()["end_date"] == today.isoformat()
    assert await scalar(db, "SELECT end_date FROM streaming_subscription WHERE id = :i", i=sid) == (
        today
    )


async def test_end_on_a_day_then_a_new_period_may_follow(client: httpx.AsyncClient) -> None:
    sid = (await subscribe(client, 14, "2026-01-01")).json()["subscription_id"]

    ended = await client.put(
        f"/subscriptions/{sid}/end", json={"end_date": "2026-03-31"}, headers=ADMIN
    )
    refused = await subscribe(client, 14, "2026-03-31")
    following = await subscribe(client, 14, "2026-04-01")

    assert ended.status_code == 200
    assert ended.json()["end_date"] == "2026-03-31"
    assert (refused.status_code, following.status_code) == (409, 201)


async def test_ending_may_shorten_but_never_extend(client: httpx.AsyncClient) -> None:
    sid = (await subscribe(client, 15, "2026-01-01", "2026-06-30")).json()["subscription_id"]
    url = f"/subscriptions/{sid}/end"

    earlier = await client.put(url, json={"end_date": "2026-05-31"}, headers=ADMIN)
    later = await client.put(url, json={"end_date": "2026-12-31"}, headers=ADMIN)
    same = await client.put(url, json={"end_date": "2026-05-31"}, headers=ADMIN)

    assert earlier.status_code == 200
    assert (later.status_code, same.status_code) == (409, 409)
    assert later.json()["detail"] == f"Subscription {sid} already ends on 2026-05-31."


async def test_ending_before_the_start_is_422(client: httpx.AsyncClient) -> None:
    sid = (await subscribe(client, 16, "2026-06-01")).json()["subscription_id"]

    response = await client.put(
        f"/subscriptions/{sid}/end", json={"end_date": "2026-05-31"}, headers=ADMIN
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "end_date"]


async def test_unknown_subscription_is_404(client: httpx.AsyncClient) -> None:
    ended = await client.put("/subscriptions/424242/end", headers=ADMIN)
    fetched = await client.get("/subscriptions/424242", headers=ADMIN)

    for response in (ended, fetched):
        assert response.status_code == 404
        assert response.json()["detail"] == "Subscription 424242 not found."
