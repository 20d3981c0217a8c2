import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from features.ai_summary.handler import is_recommended
from shared.ai.calls import MODEL_UNAVAILABLE
from tests.fakes import FakeChat
from tests.fixtures.logs import of


async def film_facts(db: AsyncConnection, film_id: int) -> tuple[str, str, Decimal]:
    row = (
        await db.execute(
            text("SELECT title, rating::text, rental_rate FROM film WHERE film_id = :id"),
            {"id": film_id},
        )
    ).one()
    return row.title, row.rating, row.rental_rate


def reply(title: str, rating: str, recommended: bool, summary: str = "A fine film.") -> str:
    return json.dumps(
        {"title": title, "rating": rating, "recommended": recommended, "summary": summary}
    )


async def test_summary_happy_path(
    client: httpx.AsyncClient, db: AsyncConnection, fake_chat: FakeChat
) -> None:
    title, rating, rate = await film_facts(db, 1)
    fake_chat.replies = [reply(title, rating, is_recommended(rating, rate), "Dinosaurs, mostly.")]

    response = await client.post("/ai/summary", json={"film_id": 1})

    assert response.status_code == 200
    assert response.json() == {
        "title": title,
        "rating": rating,
        "recommended": is_recommended(rating, rate),
        "summary": "Dinosaurs, mostly.",
    }
    [(history, _)] = fake_chat.requests
    prompt = str(history)
    assert title in prompt  # the facts in the prompt come from the database
    assert f"{rate:.2f}" in prompt
    cast_query = text(
        "SELECT initcap(first_name || ' ' || last_name) FROM actor JOIN film_actor"
        " USING (actor_id) WHERE film_id = 1"
    )
    cast: list[str] = list((await db.execute(cast_query)).scalars())
    assert len(cast) > 1
    assert all(name in prompt for name in cast)


async def test_each_summary_logs_its_faithfulness_but_not_its_text(
    client: httpx.AsyncClient,
    db: AsyncConnection,
    fake_chat: FakeChat,
    log_events: list[dict[str, Any]],
) -> None:
    title, rating, rate = await film_facts(db, 1)
    # Film 1: "A Epic Drama of a Feminist And a Mad Scientist who must Battle a Teacher in The
    # Canadian Rockies". Half of this summary's content words are in the facts.
    invented = "An epic drama: a feminist battles a teacher in Paris, winning prizes."
    fake_chat.replies = [reply(title, rating, is_recommended(rating, rate), invented)]

    assert (await client.post("/ai/summary", json={"film_id": 1})).status_code == 200

    [event] = of(log_events, "summary.done")
    assert event["attempts"] == 1
    assert 0.5 <= event["faithfulness"] < 1
    assert event["unsupported_names"] == 1  # Paris
    assert all("Paris" not in str(value) for e in log_events for value in e.values())


async def test_unknown_film_is_404_without_asking_the_model(
    client: httpx.AsyncClient, fake_chat: FakeChat
) -> None:
    response = await client.post("/ai/summary", json={"film_id": 99999})

    assert response.status_code == 404
    assert response.json()["detail"] == "Film 99999 not found."
    assert fake_chat.requests == []


@pytest.mark.parametrize(
    "body", [{}, {"film_id": "one"}, {"film_id": 0}, {"film_id": 1, "extra": True}, []]
)
async def test_bad_body_is_422(
    client: httpx.AsyncClient, fake_chat: FakeChat, body: object
) -> None:
    response = await client.post("/ai/summary", json=body)

    assert response.status_code == 422
    assert fake_chat.requests == []


async def test_invalid_json_is_retried_once_then_502(
    client: httpx.AsyncClient, fake_chat: FakeChat
) -> None:
    fake_chat.replies = ["Sure! Here is your summary.", '{"title": 1}']

    response = await client.post("/ai/summary", json={"film_id": 1})

    assert response.status_code == 502
    assert "did not return valid JSON for the summary schema" in response.json()["detail"]
    assert len(fake_chat.requests) == 2


async def test_a_retry_that_succeeds_is_200(
    client: httpx.AsyncClient, db: AsyncConnection, fake_chat: FakeChat
) -> None:
    title, rating, rate = await film_facts(db, 2)
    fake_chat.replies = ["{not json", reply(title, rating, is_recommended(rating, rate))]

    response = await client.post("/ai/summary", json={"film_id": 2})

    assert response.status_code == 200
    assert response.json()["title"] == title
    assert len(fake_chat.requests) == 2


async def test_model_disagreement_is_corrected_and_logged(
    client: httpx.AsyncClient,
    db: AsyncConnection,
    fake_chat: FakeChat,
    log_events: list[dict[str, Any]],
) -> None:
    # An R-rated film that rents below 3.00: the rule says recommended.
    film_id: int = (
        await db.execute(
            text("SELECT film_id FROM film WHERE rating = 'R' AND rental_rate < 3 LIMIT 1")
        )
    ).scalar_one()
    title, rating, _ = await film_facts(db, film_id)
    assert rating == "R"
    fake_chat.replies = [reply("SOMETHING ELSE", "G", False)]

    body = (await client.post("/ai/summary", json={"film_id": film_id})).json()

    assert (body["title"], body["rating"], body["recommended"]) == (title, "R", True)
    [event] = of(log_events, "summary.done")
    assert event["model_disagreed"] == ["rating", "recommended", "title"]
    assert event["film_id"] == film_id


async def test_long_summary_is_clipped_to_300_characters(
    client: httpx.AsyncClient, db: AsyncConnection, fake_chat: FakeChat
) -> None:
    title, rating, rate = await film_facts(db, 3)
    fake_chat.replies = [reply(title, rating, is_recommended(rating, rate), "word " * 200)]

    summary = (await client.post("/ai/summary", json={"film_id": 3})).json()["summary"]

    assert len(summary) <= 300
    assert summary.startswith("word word")


async def test_model_down_is_503(client: httpx.AsyncClient, fake_chat: FakeChat) -> None:
    fake_chat.fail_before_first = True

    response = await client.post("/ai/summary", json={"film_id": 1})

    assert response.status_code == 503
    assert response.json()["detail"] == MODEL_UNAVAILABLE  # not the upstream error text
    assert response.headers["retry-after"] == "5"  # ServiceUnavailableError's, as documented


@pytest.mark.parametrize(
    ("rating", "rate", "expected"),
    [
        ("R", "2.99", True),
        ("NC-17", "0.99", True),
        ("R", "3.00", False),
        ("NC-17", "4.99", False),
        ("PG-13", "0.99", False),
        ("G", "0.99", False),
        (None, "0.99", False),
    ],
)
def test_recommendation_rule(rating: str | None, rate: str, expected: bool) -> None:
    assert is_recommended(rating, Decimal(rate)) is expected


async def test_schema_is_in_openapi(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()

    schema = spec["components"]["schemas"]["FilmSummary"]
    assert set(schema["required"]) == {"title", "rating", "recommended", "summary"}
    assert schema["properties"]["summary"]["maxLength"] == 300
    operation = spec["paths"]["/ai/summary"]["post"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/FilmSummary"
    }
