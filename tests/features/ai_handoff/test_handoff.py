"""POST /ai/handoff through the real HandoffOrchestration and the real test database, with a
tool-calling fake model (router `llm`) or the offline rules router plus a fake general model
(router `rules`)."""

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from semantic_kernel.contents import ChatHistory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from devenv.database import connect, migrate
from features.ai_handoff.computed_chat import Call
from features.ai_handoff.tools import HANDOFF_TO_GENERAL
from main import create_app
from shared.ai.kernel import get_ai
from shared.settings import Settings, get_app_settings
from tests.fakes import (
    FakeChat,
    Move,
    Plan,
    ToolCallingFake,
    fake_runtime,
    last_tool_result,
    tool_runtime,
)
from tests.fixtures.logs import of
from tests.support import ADMIN, column, make_dev_settings, make_settings, scalar

FILM_QUESTION = "What is the rental rate for the film ACADEMY DINOSAUR?"
GENERAL_QUESTION = "What is the capital of France?"
CUSTOMER_TOOL = "Customers-customer_rentals"


def store_clerk(history: ChatHistory, offered: frozenset[str]) -> Move:
    """A model that looks films up and hands geography to the general agent."""
    result = last_tool_result(history)
    if result is not None:
        if result.get("found"):
            return f"{result['title']} rents for ${result['rental_rate']:.2f}."
        return "None."
    question = str(history.messages[-1].content)
    if "France" in question:
        if HANDOFF_TO_GENERAL in offered:
            return Call(HANDOFF_TO_GENERAL, {})
        return "Paris."  # the general agent
    return Call("Store-film_details", {"title": "academy dinosaur"})


def calls_once(call: Call, seen: list[dict[str, Any]]) -> Plan:
    """A model that makes `call`, keeps the tool's result in `seen`, and says "Done"."""

    def plan(history: ChatHistory, offered: frozenset[str]) -> Move:
        result = last_tool_result(history)
        if result is None:
            return call
        seen.append(result)
        return "Done."

    return plan


@pytest.fixture
def model(app: FastAPI) -> Iterator[ToolCallingFake]:
    chat = ToolCallingFake(ai_model_id="fake", plan=store_clerk)
    runtime = tool_runtime(chat, app.state.ai_slots)
    app.dependency_overrides[get_ai] = lambda: runtime
    yield chat
    app.dependency_overrides.pop(get_ai, None)


async def rate_of(db: AsyncConnection, title: str) -> Decimal:
    query = text("SELECT rental_rate FROM film WHERE title = :title")
    rate: Decimal = (await db.execute(query, {"title": title})).scalar_one()
    return rate


async def test_a_film_question_calls_the_search_tool_and_answers_with_the_database_rate(
    client: httpx.AsyncClient,
    db: AsyncConnection,
    model: ToolCallingFake,
    log_events: list[dict[str, Any]],
) -> None:
    await db.execute(text("UPDATE film SET rental_rate = 1.23 WHERE film_id = 1"))

    response = await client.post("/ai/handoff", json={"question": FILM_QUESTION})

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["agent"] == "search"
    assert body["router"] == "llm"
    assert "1.23" in body["answer"]  # from the database, as it is now
    assert body["tool_calls"] == [
        {"name": "film_details", "arguments": {"title": "academy dinosaur"}, "ok": True}
    ]
    assert body["films"][0] == {
        "film_id": 1,
        "title": "ACADEMY DINOSAUR",
        "rating": "PG",
        "rental_rate": 1.23,  # a number, as in /films
    }
    [run] = of(log_events, "handoff.run")
    assert (run["agent"], run["tools"], run["outcome"]) == ("SearchAgent", ["film_details"], "ok")
    assert all(FILM_QUESTION not in str(v) for e in log_events for v in e.values())


async def test_a_general_question_is_handed_off_without_a_tool(
    client: httpx.AsyncClient, model: ToolCallingFake
) -> None:
    response = await client.post("/ai/handoff", json={"question": GENERAL_QUESTION})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["agent"], body["answer"], body["tool_calls"], body["films"]) == (
        "general",
        "Paris.",
        [],
        [],
    )
    # Two model calls: the search agent's handoff, then the general agent, offered no tools.
    search_offer, general_offer = model.offered
    assert "Handoff-transfer_to_GeneralAgent" in search_offer
    assert "Handoff-complete_task" not in search_offer
    assert general_offer == frozenset()


async def test_customer_rentals_are_offered_to_staff_only(
    client: httpx.AsyncClient, model: ToolCallingFake
) -> None:
    guest = await client.post("/ai/handoff", json={"question": FILM_QUESTION})
    staff = await client.post("/ai/handoff", json={"question": FILM_QUESTION}, headers=ADMIN)
    wrong = await client.post(
        "/ai/handoff",
        json={"question": FILM_QUESTION},
        headers={"Authorization": "Bearer nope"},
    )

    assert (guest.status_code, staff.status_code, wrong.status_code) == (200, 200, 401)
    guest_offer, _, staff_offer, _ = model.offered
    assert CUSTOMER_TOOL not in guest_offer
    assert CUSTOMER_TOOL in staff_offer


async def test_a_failing_tool_is_reported_to_the_model_and_listed(
    fresh_pagila_url: str,
) -> None:
    """A real fault, on a database of this test's own: the tool's query fails, and the run
    goes on (its quota, its next model call) as it would in production."""
    await migrate(fresh_pagila_url)
    conn = await connect(fresh_pagila_url)
    try:
        await conn.execute("ALTER TABLE film RENAME COLUMN streaming_available TO gone")
    finally:
        await conn.close()
    app = create_app(make_settings(database_url=fresh_pagila_url), make_dev_settings())
    seen: list[dict[str, Any]] = []
    model = ToolCallingFake(
        ai_model_id="fake", plan=calls_once(Call("Store-find_films", {"streaming": True}), seen)
    )
    async with app.router.lifespan_context(app):
        app.dependency_overrides[get_ai] = lambda: tool_runtime(model, app.state.ai_slots)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            response = await client.post("/ai/handoff", json={"question": "streaming?"})

    assert response.status_code == 200, response.text
    assert response.json()["tool_calls"] == [
        {"name": "find_films", "arguments": {"streaming": True, "limit": 10}, "ok": False}
    ]
    assert seen[0] == {"error": "The store database could not answer (find_films)."}


async def test_a_bad_argument_is_explained_to_the_model(
    client: httpx.AsyncClient, model: ToolCallingFake
) -> None:
    seen: list[dict[str, Any]] = []
    model.plan = calls_once(Call("Store-find_films", {"rating": "XXX", "sort": "random"}), seen)

    response = await client.post("/ai/handoff", json={"question": "rated xxx?"})

    assert response.status_code == 200, response.text
    assert seen == [{"error": "rating must be one of G, PG, PG-13, R, NC-17"}]
    assert response.json()["tool_calls"][0]["ok"] is False


async def test_model_down_is_503_with_a_fixed_message(
    client: httpx.AsyncClient, model: ToolCallingFake
) -> None:
    model.fail = True

    response = await client.post("/ai/handoff", json={"question": FILM_QUESTION})

    assert response.status_code == 503
    assert response.json()["detail"] == "The language model is unavailable; please retry later."
    assert response.headers["retry-after"] == "5"  # ServiceUnavailableError's, as documented


async def test_a_stalled_model_is_504_and_the_run_is_cancelled(
    app: FastAPI, client: httpx.AsyncClient, model: ToolCallingFake, settings: Settings
) -> None:
    model.plan = lambda history, offered: None
    quick = settings.model_copy(update={"handoff_timeout_s": 0.5})
    app.dependency_overrides[get_app_settings] = lambda: quick
    try:
        response = await client.post("/ai/handoff", json={"question": FILM_QUESTION})
    finally:
        app.dependency_overrides.pop(get_app_settings, None)

    assert response.status_code == 504
    assert "0.5 s" in response.json()["detail"]
    assert model.stalled.is_set()
    assert model.cancelled.is_set()  # not left running after the response


async def test_an_empty_answer_is_502(client: httpx.AsyncClient, model: ToolCallingFake) -> None:
    model.plan = lambda history, offered: "  "

    response = await client.post("/ai/handoff", json={"question": FILM_QUESTION})

    assert response.status_code == 502


async def test_concurrent_requests_each_get_their_answer(
    committing_client: httpx.AsyncClient, model: ToolCallingFake
) -> None:
    """On the app's own pools, as in production: each request its own connections."""
    film, general = await asyncio.gather(
        committing_client.post("/ai/handoff", json={"question": FILM_QUESTION}),
        committing_client.post("/ai/handoff", json={"question": GENERAL_QUESTION}),
    )

    assert (film.status_code, general.status_code) == (200, 200)
    assert (film.json()["agent"], general.json()["agent"]) == ("search", "general")


@pytest.mark.parametrize(
    "body",
    [
        {"question": ""},
        {"question": "   "},
        {"question": "x" * 2001},
        {"question": "hi", "extra": 1},
        {"question": "hi\x00there"},  # PostgreSQL refuses NUL in text: never a 500
        {},
    ],
)
async def test_bad_questions_are_422(client: httpx.AsyncClient, body: dict[str, Any]) -> None:
    response = await client.post("/ai/handoff", json=body)

    assert response.status_code == 422


# The offline path: the rules router plays the search agent's model; the general agent is the
# (here fake) local model.


@pytest.fixture
def local_model(app: FastAPI) -> Iterator[FakeChat]:
    chat = FakeChat(ai_model_id="fake", chunks=["Paris", " is the capital."])
    runtime = fake_runtime(chat, app.state.ai_slots, provider="local")
    app.dependency_overrides[get_ai] = lambda: runtime
    yield chat
    app.dependency_overrides.pop(get_ai, None)


async def test_offline_a_film_question_is_answered_from_the_database(
    client: httpx.AsyncClient, db: AsyncConnection, local_model: FakeChat
) -> None:
    response = await client.post("/ai/handoff", json={"question": FILM_QUESTION.lower()})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["agent"], body["router"]) == ("search", "rules")
    assert f"${await rate_of(db, 'ACADEMY DINOSAUR')}" in body["answer"]
    assert [call["name"] for call in body["tool_calls"]] == ["film_details"]
    assert local_model.requests == []  # the local model was not needed


async def test_offline_a_general_question_goes_to_the_local_model(
    client: httpx.AsyncClient, local_model: FakeChat
) -> None:
    response = await client.post("/ai/handoff", json={"question": GENERAL_QUESTION})

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["agent"], body["router"], body["answer"]) == (
        "general",
        "rules",
        "Paris is the capital.",
    )
    [(history, _)] = local_model.requests
    assert GENERAL_QUESTION in str(history)


async def test_offline_customer_rentals_need_the_token(
    client: httpx.AsyncClient, local_model: FakeChat
) -> None:
    question = {"question": "What did customer 1 rent recently?"}

    guest = (await client.post("/ai/handoff", json=question)).json()
    staff = (await client.post("/ai/handoff", json=question, headers=ADMIN)).json()

    assert guest["tool_calls"] == []
    assert "staff" in guest["answer"]
    assert [call["name"] for call in staff["tool_calls"]] == ["customer_rentals"]
    assert "Mary Smith" in staff["answer"]  # Pagila's customer 1


async def test_offline_films_of_an_actor_come_from_the_database(
    client: httpx.AsyncClient, db: AsyncConnection, local_model: FakeChat
) -> None:
    response = await client.post(
        "/ai/handoff", json={"question": "Which films does Penelope Guiness appear in?"}
    )

    body = response.json()
    hers = set(
        await column(
            db, "SELECT title FROM film JOIN film_actor USING (film_id) WHERE actor_id = 1"
        )
    )
    assert body["agent"] == "search"
    assert f"({len(hers)}" in body["answer"]  # "Films with Penelope Guiness (19): ..."
    assert body["films"]
    assert {film["title"] for film in body["films"]} <= hers
    assert body["tool_calls"][0]["arguments"]["actor"] == "PENELOPE GUINESS"


async def test_offline_a_category_is_not_a_title_search(
    client: httpx.AsyncClient, db: AsyncConnection, local_model: FakeChat
) -> None:
    response = await client.post("/ai/handoff", json={"question": "Do you have any horror movies?"})

    body = response.json()
    horror = set(
        await column(
            db,
            "SELECT title FROM film JOIN film_category USING (film_id) "
            "JOIN category USING (category_id) WHERE name = 'Horror'",
        )
    )
    assert f"Horror films ({len(horror)}" in body["answer"]
    assert {film["title"] for film in body["films"]} <= horror
    assert "HORROR REIGN" not in body["answer"]  # a Travel film with "horror" in its title


async def test_offline_a_topic_that_narrows_to_nothing_shows_what_there_is(
    client: httpx.AsyncClient, db: AsyncConnection, local_model: FakeChat
) -> None:
    response = await client.post(
        "/ai/handoff", json={"question": "any comedies about a xylophone?"}
    )

    body = response.json()
    comedies = await scalar(
        db,
        "SELECT count(*) FROM film_category JOIN category USING (category_id) "
        "WHERE name = 'Comedy'",
    )
    assert [call["arguments"].get("text") for call in body["tool_calls"]] == ["xylophone", None]
    assert "gives none" in body["answer"]  # the no, for exactly what was asked
    assert f"Comedy films ({comedies}" in body["answer"]  # and what there is


async def test_a_tool_calling_model_drives_the_new_tools(
    client: httpx.AsyncClient, db: AsyncConnection, model: ToolCallingFake
) -> None:
    def plan(history: ChatHistory, offered: frozenset[str]) -> Move:
        result = last_tool_result(history)
        if result is None:
            return Call(
                "Store-find_films", {"category": "Horror", "sort": "length_desc", "limit": 1}
            )
        if "films" in result:
            return Call("Store-film_details", {"title": result["films"][0]["title"]})
        return f"{result['title']}, {result['length']} minutes, with {result['cast'][0]}."

    model.plan = plan

    response = await client.post("/ai/handoff", json={"question": "longest horror film?"})

    body = response.json()
    longest = await scalar(
        db,
        "SELECT max(length) FROM film JOIN film_category USING (film_id) "
        "JOIN category USING (category_id) WHERE name = 'Horror'",
    )
    assert [call["name"] for call in body["tool_calls"]] == ["find_films", "film_details"]
    assert f"{longest} minutes" in body["answer"]
    offered = model.offered[0]
    assert {
        "Store-find_films",
        "Store-list_categories",
        "Store-top_actors",
        "Store-rental_terms",
    } <= offered


@pytest.mark.parametrize(
    "question",
    ["What's a good way to store DVDs?", "who won the oscar for best picture in 2020"],
)
async def test_offline_a_question_not_about_our_films_goes_general(
    client: httpx.AsyncClient, local_model: FakeChat, question: str
) -> None:
    response = await client.post("/ai/handoff", json={"question": question})

    body = response.json()
    assert body["agent"] == "general"  # not "we have no films matching ..."
    assert body["tool_calls"] == []  # nothing looked up first
    assert body["answer"] == "Paris is the capital."  # the (fake) general model's


async def test_offline_asking_for_a_film_we_do_not_have_is_a_true_no(
    client: httpx.AsyncClient, db: AsyncConnection, local_model: FakeChat
) -> None:
    found = await scalar(
        db,
        "SELECT count(*) FROM film WHERE fulltext @@ websearch_to_tsquery('english', 'jurassic')",
    )
    response = await client.post("/ai/handoff", json={"question": "do you have jurassic?"})

    body = response.json()
    assert found == 0
    assert body["agent"] == "search"
    assert body["answer"] == "We have no film titled “jurassic”."


@pytest.mark.parametrize(
    "question",
    [
        "is zebra mystique in stock at the lethbridge store",
        "how much to rent velvet pancake?",
        "is crimson walrus available",  # no film word at all
    ],
)
async def test_offline_stock_or_price_of_a_film_we_do_not_have_is_a_no_not_a_guess(
    client: httpx.AsyncClient, db: AsyncConnection, local_model: FakeChat, question: str
) -> None:
    response = await client.post("/ai/handoff", json={"question": question})

    body = response.json()
    # Looked for by the words of its title.
    searched = [call["arguments"]["title"] for call in body["tool_calls"]]
    found = await scalar(
        db,
        "SELECT count(*) FROM film WHERE fulltext @@ websearch_to_tsquery('english', :text)",
        text=searched[0],
    )
    assert found == 0
    assert body["agent"] == "search"  # not the general model's invention
    assert body["answer"] == f"We have no film titled “{searched[0]}”."


async def test_offline_the_rental_terms_come_from_the_catalogue(
    client: httpx.AsyncClient, db: AsyncConnection, local_model: FakeChat
) -> None:
    response = await client.post("/ai/handoff", json={"question": "how much is a rental?"})

    body = response.json()
    rates = await column(db, "SELECT DISTINCT rental_rate FROM film ORDER BY 1")
    shortest, longest = (
        await db.execute(text("SELECT min(rental_duration), max(rental_duration) FROM film"))
    ).one()
    assert body["agent"] == "search"
    assert [call["name"] for call in body["tool_calls"]] == ["rental_terms"]
    assert all(f"${rate:.2f}" in body["answer"] for rate in rates)
    assert f"{shortest} to {longest} days" in body["answer"]


async def test_offline_a_superlative_names_the_ties_and_keeps_the_category_name(
    client: httpx.AsyncClient, db: AsyncConnection, local_model: FakeChat
) -> None:
    response = await client.post("/ai/handoff", json={"question": "shortest sci fi film"})

    body = response.json()
    shortest = await column(
        db,
        "SELECT title FROM film JOIN film_category USING (film_id) JOIN category USING "
        "(category_id) WHERE name = 'Sci-Fi' AND length = (SELECT min(length) FROM film "
        "JOIN film_category USING (film_id) JOIN category USING (category_id) "
        "WHERE name = 'Sci-Fi')",
    )
    assert body["answer"].startswith("The shortest of our Sci-Fi films: ")
    assert all(title in body["answer"] for title in shortest)


async def test_offline_the_most_rented_film_and_its_ties_come_by_rentals(
    client: httpx.AsyncClient, db: AsyncConnection, local_model: FakeChat
) -> None:
    response = await client.post("/ai/handoff", json={"question": "most popular movie?"})

    body = response.json()
    most = await column(
        db,
        "SELECT f.title FROM film f JOIN inventory USING (film_id) JOIN rental USING "
        "(inventory_id) GROUP BY f.film_id HAVING count(*) = (SELECT max(n) FROM (SELECT "
        "count(*) AS n FROM inventory JOIN rental USING (inventory_id) GROUP BY film_id) c)",
    )
    assert body["answer"].startswith("The most rented of our films: ")
    # The films it names are exactly the most rented ones (ties by rentals, not by length).
    named = [film["title"] for film in body["films"] if film["title"] in body["answer"]]
    assert set(named) == set(most)


async def ask_offline(client: httpx.AsyncClient, question: str, **kwargs: Any) -> str:
    response = await client.post("/ai/handoff", json={"question": question}, **kwargs)
    assert response.status_code == 200, response.text
    answer: str = response.json()["answer"]
    return answer


async def test_offline_answers_say_what_the_database_has_when_it_has_little(
    client: httpx.AsyncClient, db: AsyncConnection, local_model: FakeChat
) -> None:
    """Each change below is in this test's transaction only (rolled back)."""
    no_copies = await scalar(
        db,
        "SELECT title FROM film f WHERE NOT EXISTS "
        "(SELECT FROM inventory i WHERE i.film_id = f.film_id) ORDER BY title LIMIT 1",
    )
    year = await scalar(db, "SELECT release_year FROM film WHERE film_id = 1")
    await db.execute(text("DELETE FROM film_actor WHERE film_id = 1"))
    await db.execute(text("UPDATE film SET rating = NULL WHERE film_id = 1"))
    newcomer = await scalar(
        db,
        "INSERT INTO customer (store_id, first_name, last_name, address_id) "
        "VALUES (1, 'NEW', 'COMER', 1) RETURNING customer_id",
    )

    assert await ask_offline(client, f"is {no_copies.lower()} in stock?") == (
        f"We hold no copies of {no_copies}: 0 in any store."
    )
    assert (await ask_offline(client, "who's in academy dinosaur")).startswith(
        "We have no cast listed for ACADEMY DINOSAUR."
    )
    assert (await ask_offline(client, "what is academy dinosaur rated")).startswith(
        "ACADEMY DINOSAUR is not rated."
    )
    assert (await ask_offline(client, "when did academy dinosaur come out")).startswith(
        f"ACADEMY DINOSAUR came out in {year}."
    )
    staff = {"headers": ADMIN}
    assert await ask_offline(client, f"what did customer {newcomer} rent?", **staff) == (
        f"New Comer (customer {newcomer}) has no rentals."
    )
    assert await ask_offline(client, "what did customer 999999 rent?", **staff) == (
        "There is no customer 999999."
    )
