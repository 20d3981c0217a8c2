"""The offline router's reading of questions: the linker (titles and actors with typos,
categories with plurals and synonyms) against the real test database, what is asked, and the
first move it makes, over a table of questions typed the way people type."""

from typing import Any

import pytest
from fastapi import FastAPI

from features.ai_handoff import answers
from features.ai_handoff.computed_chat import Call, Reply
from features.ai_handoff.rules_router import first_move
from features.ai_handoff.tools import (
    CUSTOMER_RENTALS,
    CUSTOMERS_PLUGIN,
    FILM_AVAILABILITY,
    FILM_DETAILS,
    FIND_FILMS,
    HANDOFF_TO_GENERAL,
    LIST_CATEGORIES,
    RENTAL_TERMS,
    STORE_PLUGIN,
    TOP_ACTORS,
    qualified,
)
from features.catalogue.query import word_forms
from features.catalogue.understanding import read as read_question
from shared.database import Database

DETAILS = qualified(STORE_PLUGIN, FILM_DETAILS)
AVAILABILITY = qualified(STORE_PLUGIN, FILM_AVAILABILITY)
FIND = qualified(STORE_PLUGIN, FIND_FILMS)
TERMS = Call(qualified(STORE_PLUGIN, RENTAL_TERMS), {})
GUEST = frozenset(
    {
        DETAILS,
        AVAILABILITY,
        FIND,
        qualified(STORE_PLUGIN, LIST_CATEGORIES),
        qualified(STORE_PLUGIN, TOP_ACTORS),
        TERMS.function,
        HANDOFF_TO_GENERAL,
    }
)
STAFF = GUEST | {qualified(CUSTOMERS_PLUGIN, CUSTOMER_RENTALS)}


def find(**arguments: Any) -> Call:
    return Call(FIND, {**arguments, "limit": 10})


@pytest.fixture
def database(app: FastAPI) -> Database:
    db: Database = app.state.database
    return db


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # A film, named with typos and in any case; what is asked about it.
        ("how much is acadmey dinosuar", Call(DETAILS, {"title": "ACADEMY DINOSAUR"})),
        ("Who's in ACE GOLDFINGER?", Call(DETAILS, {"title": "ACE GOLDFINGER"})),
        ("what is alien centre about", Call(DETAILS, {"title": "ALIEN CENTER"})),
        ("is academy dinosaur in stock", Call(AVAILABILITY, {"title": "ACADEMY DINOSAUR"})),
        ("how many copies of alien center", Call(AVAILABILITY, {"title": "ALIEN CENTER"})),
        # With a film and an actor named, the film's cast answers it.
        ("is penelope guiness in academy dinosaur", Call(DETAILS, {"title": "ACADEMY DINOSAUR"})),
        (
            "who is in academy dinosaur with penelope guiness",
            Call(DETAILS, {"title": "ACADEMY DINOSAUR"}),
        ),
        # Films by an actor (a misspelt and a sound-alike surname), a category, a rating.
        ("Which films does Penelope Guiness appear in?", find(actor="PENELOPE GUINESS")),
        ("films with penelope guinness", find(actor="PENELOPE GUINESS")),
        ("anything with harrison bail?", find(actor="HARRISON BALE")),
        # Alike in sound (MTNS) but 5 edits apart: not MADNESS ATTACKS.
        ("mutinous attacks?", Call(HANDOFF_TO_GENERAL, {})),
        ("Do you have any horror movies?", find(category="Horror")),
        ("got any comedies", find(category="Comedy")),
        ("any good sci fi", find(category="Sci-Fi")),
        ("something scary please", find(category="Horror")),
        ("cartoons for my kid", find(category="Animation")),
        ("comedies rated g", find(category="Comedy", rating="G")),
        ("pg-13 films", find(rating="PG-13")),
        # Superlatives, bounds ("under" and "over" leave the amount out), counts, streaming.
        ("what's the longest movie", find(sort="length_desc")),
        ("cheapest horror film", find(category="Horror", sort="price")),
        ("movies under 90 minutes rated pg", find(rating="PG", max_length=89)),
        ("films over 2 hours", find(min_length=121)),
        ("movies under two and a half hours", find(max_length=149)),  # not "$2"
        ("under an hour and a half", find(max_length=89)),
        # A bound past any film's length: none taken (and no float overflow), nothing placed.
        ("films over " + "9" * 400 + " minutes", Call(HANDOFF_TO_GENERAL, {})),
        ("films under $1", find(max_price="0.99")),
        ("how many horror films do you have", find(category="Horror")),
        ("what can i stream", find(streaming=True)),
        # A topic, alone or within a category.
        ("a documentary about a shark", find(text="shark", category="Documentary")),
        ("do you have a movie about a crocodile", find(text="crocodile")),
        # A title we do not carry, by its words (not just "wars"); a topic after "about".
        ("do you have any star wars movies", find(title="star wars")),
        ("most popular movie", find(sort="popular")),  # "popular" is an order, not a topic
        ("shortest sci fi film", find(category="Sci-Fi", sort="length")),
        # The catalogue as a whole.
        ("what genres do you have", Call(qualified(STORE_PLUGIN, LIST_CATEGORIES), {})),
        (
            "who are the most prolific actors",
            Call(qualified(STORE_PLUGIN, TOP_ACTORS), {"limit": 5}),
        ),
        # The store's terms, asked of renting in general; a film named is its own price.
        ("how much is a rental", TERMS),
        ("how long can i keep a dvd", TERMS),
        ("what do you charge for movies", TERMS),
        ("rental period?", TERMS),
        ("how much to rent velvet pancake", find(title="velvet pancake")),  # a title, not terms
        ("how much are comedies", find(category="Comedy")),
        ("how much is academy dinosaur", Call(DETAILS, {"title": "ACADEMY DINOSAUR"})),
        # Not about the store: a category word alone does not make one.
        ("What is the capital of France?", Call(HANDOFF_TO_GENERAL, {})),
        ("what's new with you", Call(HANDOFF_TO_GENERAL, {})),
        ("I love music theory", Call(HANDOFF_TO_GENERAL, {})),
        ("how do I boil an egg", Call(HANDOFF_TO_GENERAL, {})),
        ("tell me a joke", Call(HANDOFF_TO_GENERAL, {})),
    ],
)
async def test_first_move(database: Database, question: str, expected: Call | Reply) -> None:
    understood = await read_question(database, question)

    assert first_move(understood, GUEST) == expected


@pytest.mark.parametrize(
    ("question", "topic"),
    [
        ("what time do you close", "opening hours"),
        ("are you open on sundays", "opening hours"),
        ("what happens if i return it late", "late fees"),
        ("can i rent 3 movies at once", "how many films you can rent at once"),
    ],
)
async def test_a_store_question_the_database_cannot_answer_is_said_so(
    database: Database, question: str, topic: str
) -> None:
    move = first_move(await read_question(database, question), GUEST)

    # Not handed to the general model, which would make the store's policy up.
    assert isinstance(move, Reply)
    assert move.text.startswith(f"I have nothing on {topic}:")


@pytest.mark.parametrize(
    ("question", "intents"),
    [
        ("how long is academy dinosaur", ("length",)),
        ("how long can i keep academy dinosaur", ("price",)),  # the rental period, not minutes
        ("when is academy dinosaur due back", ("price",)),
    ],
)
async def test_what_is_asked_about_a_film(
    database: Database, question: str, intents: tuple[str, ...]
) -> None:
    understood = await read_question(database, question)

    assert (understood.film, understood.film_intents) == ("ACADEMY DINOSAUR", intents)


async def test_an_ambiguous_first_name_asks_which_actor(database: Database) -> None:
    move = first_move(await read_question(database, "films with penelope"), GUEST)

    assert isinstance(move, Reply)
    # Every Penelope in the catalogue, from the database: Pagila has four.
    assert all(name in move.text for name in ("Guiness", "Pinkett", "Cronyn", "Monroe"))


async def test_customer_rentals_are_for_staff(database: Database) -> None:
    understood = await read_question(database, "what did customer 5 rent")

    assert first_move(understood, STAFF) == Call(
        qualified(CUSTOMERS_PLUGIN, CUSTOMER_RENTALS), {"customer_id": 5}
    )
    assert first_move(understood, GUEST) == Reply(answers.STAFF_ONLY)


@pytest.mark.parametrize(
    ("question", "forms"),
    [
        ("Comedies?", {"comedies", "comedy"}),
        ("sci fi", {"sci-fi"}),
        ("kids' movies", {"kids", "children", "movies", "movie"}),
        ("New releases", {"category-new", "new"}),
    ],
)
def test_words_carry_their_catalogue_forms(question: str, forms: set[str]) -> None:
    words = list(word_forms(question))

    assert forms <= set(words)
    assert len(words) == len(set(words))


async def test_a_customer_named_by_name_is_found_for_staff_only(database: Database) -> None:
    # Customer 5 of Pagila is ELIZABETH BROWN; named exactly, in any case.
    understood = await read_question(
        database, "what has elizabeth brown rented lately?", staff=True
    )

    assert first_move(understood, STAFF) == Call(
        qualified(CUSTOMERS_PLUGIN, CUSTOMER_RENTALS), {"customer_id": 5}
    )
    assert first_move(understood, GUEST) == Reply(answers.STAFF_ONLY)


async def test_a_guests_question_cannot_tell_a_customers_name_from_another(
    database: Database,
) -> None:
    customer = await read_question(database, "is elizabeth brown nice")
    nobody = await read_question(database, "is elizabeth qwertyuiop nice")

    # The same reading whether or not the name is a customer's: nothing to learn from it.
    assert (customer.intent, customer.customer_id) == (nobody.intent, nobody.customer_id)


async def test_a_store_named_in_a_stock_question_is_read(database: Database) -> None:
    understood = await read_question(database, "is academy dinosaur in stock at store 2")

    assert (understood.film, understood.store_id) == ("ACADEMY DINOSAUR", 2)
