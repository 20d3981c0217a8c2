"""/ai/ask puts after the question the store's rows that fit what it asks (the real test
database, a fake model that records its prompt): a film named or meant, films asked for, the
categories, or none."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from features.ai_ask.handler import GROUNDING_FILMS, NO_CATALOGUE_PROMPT
from tests.fakes import FakeChat
from tests.support import column


def prompt_of(fake_chat: FakeChat) -> str:
    [(chat, _)] = fake_chat.requests
    return str(chat.messages[-1].content)


async def test_a_question_about_genres_gets_the_categories_and_no_film(
    client: httpx.AsyncClient, fake_chat: FakeChat, db: AsyncConnection
) -> None:
    response = await client.get("/ai/ask", params={"question": "Name three film genres"})

    assert response.status_code == 200
    prompt = prompt_of(fake_chat)
    categories = await column(db, "SELECT name FROM category")
    assert all(name in prompt for name in categories)
    titles = await column(db, "SELECT title FROM film")
    assert not [title for title in titles if title in prompt]


@pytest.mark.parametrize("question", ["What is the capital of France?", "tell me a joke"])
async def test_a_question_about_nothing_in_the_catalogue_gets_no_rows(
    client: httpx.AsyncClient, fake_chat: FakeChat, question: str
) -> None:
    response = await client.get("/ai/ask", params={"question": question})

    assert response.status_code == 200
    assert prompt_of(fake_chat) == f"{question}\n\n{NO_CATALOGUE_PROMPT}"


async def test_it_in_a_follow_up_is_the_film_just_named(
    client: httpx.AsyncClient, fake_chat: FakeChat
) -> None:
    history = [
        {"role": "user", "content": "do you have african egg"},
        {"role": "assistant", "content": "Yes, AFRICAN EGG is in."},
    ]
    response = await client.post(
        "/ai/ask", json={"question": "what is it about?", "history": history}
    )

    assert response.status_code == 200
    prompt = prompt_of(fake_chat)
    assert "- AFRICAN EGG (" in prompt
    assert prompt.count("\n- ") == 1  # that film alone


async def test_films_with_two_actors_are_the_films_they_share(
    client: httpx.AsyncClient, fake_chat: FakeChat, db: AsyncConnection
) -> None:
    pair = await column(
        db,
        "SELECT first_name || ' ' || last_name FROM actor WHERE actor_id IN (1, 10)"
        " ORDER BY actor_id",
    )
    shared = await column(
        db,
        "SELECT f.title FROM film f WHERE 2 = (SELECT count(*) FROM film_actor"
        " WHERE film_id = f.film_id AND actor_id IN (1, 10)) ORDER BY lower(f.title)",
    )
    question = f"any films with {pair[0].lower()} and {pair[1].lower()} together?"

    response = await client.get("/ai/ask", params={"question": question})

    assert response.status_code == 200
    prompt = prompt_of(fake_chat)
    assert shared
    assert [title for title in shared if f"- {title} (" in prompt] == shared[:GROUNDING_FILMS]
    assert prompt.count("\n- ") == min(len(shared), GROUNDING_FILMS)  # theirs alone
