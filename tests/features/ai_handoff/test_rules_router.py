"""The offline router's first move over a table of questions, with titles and categories
looked up in the real test database (any case, whole words)."""

import pytest
from fastapi import FastAPI

from features.ai_handoff import query
from features.ai_handoff.rules_router import HANDOFF_TO_GENERAL, Call, Reply, answer, route
from shared.database import Database

GUEST = frozenset(
    {
        "Store-search_films",
        "Store-film_availability",
        "Store-streaming_recommendations",
        HANDOFF_TO_GENERAL,
    }
)
STAFF = GUEST | {"Customers-customer_rentals"}

SEARCH = "Store-search_films"
AVAILABILITY = "Store-film_availability"
STREAMING = "Store-streaming_recommendations"


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        (
            "What is the rental rate for the film ACADEMY DINOSAUR?",
            Call(SEARCH, {"title": "ACADEMY DINOSAUR"}),
        ),
        ("how much is academy dinosaur", Call(SEARCH, {"title": "ACADEMY DINOSAUR"})),
        ("Tell me about Ace Goldfinger", Call(SEARCH, {"title": "ACE GOLDFINGER"})),
        (
            "Is ACADEMY DINOSAUR available in store 2?",
            Call(AVAILABILITY, {"title": "ACADEMY DINOSAUR"}),
        ),
        ("any copies of alien center in stock?", Call(AVAILABILITY, {"title": "ALIEN CENTER"})),
        ("Do you have any dinosaur films?", Call(SEARCH, {"title": "dinosaur"})),
        ('Find the movie called "Chamber Italian"', Call(SEARCH, {"title": "CHAMBER ITALIAN"})),
        ('Find the movie called "Dinosaur Academy"', Call(SEARCH, {"title": "Dinosaur Academy"})),
        ("What comedy can I stream tonight?", Call(STREAMING, {"category": "Comedy"})),
        ("Anything streaming?", Call(STREAMING, {"category": None})),
        ("What is the capital of France?", Call(HANDOFF_TO_GENERAL, {})),
        ("Write a haiku about rain.", Call(HANDOFF_TO_GENERAL, {})),
        ("Who wrote Hamlet?", Call(HANDOFF_TO_GENERAL, {})),
        # A category word alone is not a store question; an apostrophe is not a quote.
        ("What's new in Python?", Call(HANDOFF_TO_GENERAL, {})),
        ("Can you recommend good music theory books?", Call(HANDOFF_TO_GENERAL, {})),
        (
            "What's the cheapest film that's in stock?",
            Reply("Which film? Give me part of its title, e.g. “dinosaur”."),
        ),
        # A title's words inside other words are not the title.
        ("Is an academy a good place to study dinosaurs?", Call(HANDOFF_TO_GENERAL, {})),
        (
            "What did customer 5 rent?",
            Reply("A customer's rentals are shown to signed-in staff only."),
        ),
    ],
)
async def test_first_move_for_a_guest(app: FastAPI, question: str, expected: Call | Reply) -> None:
    db: Database = app.state.database
    title, category = await query.named_in_question(db, question)

    assert route(question, title, category, GUEST) == expected


async def test_staff_get_customer_rentals(app: FastAPI) -> None:
    move = route("What did customer #42 rent lately?", None, None, STAFF)

    assert move == Call("Customers-customer_rentals", {"customer_id": 42})


def test_answers_state_only_what_the_rows_say() -> None:
    result = (
        '{"title":"ACADEMY DINOSAUR","rating":"PG","rental_rate":"0.99","category":"Documentary",'
        '"found":true,"stores":[{"store_id":1,"copies":4,"in_store":3},'
        '{"store_id":2,"copies":4,"in_store":4}]}'
    )

    text = answer("film_availability", result)

    assert text == (
        "ACADEMY DINOSAUR (PG) rents for $0.99. Copies — store 1: 3 of 4 in, store 2: 4 of 4 in."
    )
    assert answer("search_films", '{"query":"zzz","films":[]}') == (
        "No film in our catalogue has “zzz” in its title."
    )
    assert answer("search_films", '{"error":"The store database could not answer."}').startswith(
        "Sorry, I could not look that up"
    )


async def test_user_wildcards_are_taken_literally(app: FastAPI) -> None:
    db: Database = app.state.database

    assert await query.search_by_title(db, "%") == []
    assert await query.search_by_title(db, "_") == []
    assert len(await query.search_by_title(db, "a")) == query.SEARCH_LIMIT
