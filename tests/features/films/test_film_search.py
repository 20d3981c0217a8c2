"""The one film search (features/films/query.py), which the films page and the store assistant
share: each filter against SQL written here, and the assistant's topic against the page's q."""

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from features.films.query import FilmFilters, fetch_page, find
from shared.database import Database
from tests.support import column, scalar

EVERY = 10_000  # a limit past any match: every match returned

# Each filter alone, and the films it admits, by SQL written here (on film f).
FILTERS: list[tuple[FilmFilters, str]] = [
    (FilmFilters(q="shark"), "f.fulltext @@ websearch_to_tsquery('english', 'shark')"),
    (FilmFilters(title="Dinosaur"), "'DINOSAUR' = ANY (string_to_array(f.title, ' '))"),
    (  # every word, in any order: not any of them
        FilmFilters(title="dinosaur Academy"),
        "string_to_array(f.title, ' ') @> ARRAY['DINOSAUR', 'ACADEMY']",
    ),
    (
        FilmFilters(category="sci-FI"),
        "EXISTS (SELECT FROM film_category JOIN category c USING (category_id)"
        " WHERE film_id = f.film_id AND c.name = 'Sci-Fi')",
    ),
    (FilmFilters(rating="pg-13"), "f.rating = 'PG-13'"),
    (
        FilmFilters(actor="Penelope GUINESS"),
        "EXISTS (SELECT FROM film_actor JOIN actor a USING (actor_id) WHERE film_id = f.film_id"
        " AND a.first_name = 'PENELOPE' AND a.last_name = 'GUINESS')",
    ),
    (FilmFilters(titles=["academy dinosaur", "ACE GOLDFINGER"]), "f.film_id IN (1, 2)"),
    (FilmFilters(min_price=Decimal("2.99")), "f.rental_rate >= 2.99"),
    (FilmFilters(max_price=Decimal("0.99")), "f.rental_rate <= 0.99"),
    (FilmFilters(min_days=7), "f.rental_duration >= 7"),
    (FilmFilters(feature="deleted SCENES"), "'Deleted Scenes' = ANY (f.special_features)"),
    (FilmFilters(min_length=180), "f.length >= 180"),
    (FilmFilters(max_length=50), "f.length <= 50"),
    (FilmFilters(min_year=2005), "f.release_year >= 2005"),
    (FilmFilters(max_year=1995), "f.release_year <= 1995"),
    (FilmFilters(streaming=True), "f.streaming_available"),
    (FilmFilters(streaming=False), "NOT f.streaming_available"),
]


async def _found(database: Database, filters: FilmFilters, **order: Any) -> list[int]:
    return [row["film_id"] for row in await find(database, filters, limit=EVERY, **order)]


def _given(filters: FilmFilters) -> str:
    return ",".join(f"{name}={value}" for name, value in filters.params().items())


@pytest.mark.parametrize(("filters", "where"), FILTERS, ids=[_given(f) for f, _ in FILTERS])
async def test_each_filter_admits_the_films_sql_does_on_the_page_and_for_the_assistant(
    database: Database, db: AsyncConnection, filters: FilmFilters, where: str
) -> None:
    # Pagila's films are all of one year, and none streams: spread over twenty years, and a
    # third streaming (the test's own database).
    await db.execute(
        text(
            "UPDATE film SET release_year = 1990 + film_id % 20,"
            " streaming_available = (film_id % 3 = 0)"
        )
    )
    expected = await column(db, f"SELECT film_id FROM film f WHERE {where} ORDER BY film_id")
    total, items = await fetch_page(database, limit=EVERY, offset=0, filters=filters)
    found = await find(database, filters, sort=None, limit=EVERY)

    assert 0 < len(expected) < await scalar(db, "SELECT count(*) FROM film")  # it narrows
    assert sorted(row["film_id"] for row in items) == expected
    assert sorted(row["film_id"] for row in found) == expected
    assert total == found[0]["total"] == len(expected)


async def test_the_actors_filter_wants_every_actor_named(
    database: Database, db: AsyncConnection
) -> None:
    pair = await column(
        db,
        "SELECT a.first_name || ' ' || a.last_name FROM film_actor JOIN actor a USING (actor_id)"
        " WHERE film_id = 1 ORDER BY actor_id LIMIT 2",
    )
    expected = await column(
        db,
        "SELECT film_id FROM film_actor JOIN actor a USING (actor_id)"
        " WHERE a.first_name || ' ' || a.last_name = ANY (:pair)"
        " GROUP BY film_id HAVING count(*) = 2 ORDER BY film_id",
        pair=pair,
    )

    found = await _found(database, FilmFilters(actors=[name.title() for name in pair]), sort=None)

    assert 1 in expected
    assert sorted(found) == expected


async def test_the_language_filter_reads_the_films_language(
    database: Database, db: AsyncConnection
) -> None:
    # Pagila's films are all in English: a few are made Italian (the test's own database).
    await db.execute(
        text(
            "UPDATE film SET language_id = (SELECT language_id FROM language"
            " WHERE name = 'Italian') WHERE film_id IN (3, 5, 8)"
        )
    )

    assert await _found(database, FilmFilters(language="italian"), sort=None) == [3, 5, 8]
    every = await scalar(db, "SELECT count(*) FROM film")
    assert len(await _found(database, FilmFilters(language="English"), sort=None)) == every - 3


async def test_a_topic_is_searched_by_the_words_some_film_holds_and_a_typed_search_by_all(
    database: Database, db: AsyncConnection
) -> None:
    sharks = await column(
        db,
        "SELECT film_id FROM film WHERE fulltext @@ websearch_to_tsquery('english', 'shark')"
        " ORDER BY ts_rank(fulltext, websearch_to_tsquery('english', 'shark')) DESC,"
        " lower(title)",
    )

    assert await _found(database, FilmFilters(topic="shark zanzibarquokka"), sort=None) == sharks
    assert await _found(database, FilmFilters(topic="zanzibarquokka"), sort=None) == []
    assert await _found(database, FilmFilters(q="shark zanzibarquokka"), sort=None) == []
    total, _ = await fetch_page(
        database, limit=1, offset=0, filters=FilmFilters(q="shark zanzibarquokka")
    )
    assert total == 0


async def test_filters_combine_and_the_order_asked_comes_first(
    database: Database, db: AsyncConnection
) -> None:
    await db.execute(text("UPDATE film SET streaming_available = (film_id % 3 = 0)"))
    expected = await column(
        db,
        "SELECT f.film_id FROM film f JOIN film_category USING (film_id)"
        " JOIN category c USING (category_id)"
        " WHERE c.name = 'Comedy' AND f.streaming_available AND f.rental_rate <= 2.99"
        " ORDER BY f.length DESC NULLS LAST, lower(f.title)",
    )
    filters = FilmFilters(category="comedy", streaming=True, max_price=Decimal("2.99"))

    found = await _found(database, filters, sort="length_desc")

    assert len(expected) > 1
    assert found == expected


async def test_with_a_topic_and_an_order_the_order_comes_first_then_the_best_match(
    database: Database, db: AsyncConnection
) -> None:
    expected = await column(
        db,
        "SELECT film_id FROM film, websearch_to_tsquery('english', 'shark') AS q"
        " WHERE fulltext @@ q ORDER BY rental_rate, ts_rank(fulltext, q) DESC, lower(title)",
    )

    assert await _found(database, FilmFilters(topic="shark"), sort="price") == expected


async def test_each_film_found_says_how_often_it_was_rented_and_its_cast_size(
    database: Database, db: AsyncConnection
) -> None:
    counts = """
        SELECT f.film_id, f.title,
               (SELECT count(*) FROM rental JOIN inventory USING (inventory_id)
                 WHERE inventory.film_id = f.film_id) AS times_rented,
               (SELECT count(*) FROM film_actor WHERE film_id = f.film_id) AS cast_size
          FROM film f
    """
    by_film = {
        row.film_id: (row.times_rented, row.cast_size)
        for row in (await db.execute(text(counts))).all()
    }
    most_rented = await column(
        db, f"SELECT film_id FROM ({counts}) AS c ORDER BY times_rented DESC, lower(title) LIMIT 5"
    )

    popular = await find(database, FilmFilters(), sort="popular", limit=5)
    horror = await find(database, FilmFilters(category="horror"), sort=None, limit=5)

    assert [row["film_id"] for row in popular] == most_rented
    for row in [*popular, *horror]:
        assert (row["times_rented"], row["cast_size"]) == by_film[row["film_id"]]
    assert len({row["times_rented"] for row in horror}) > 1  # counted per film, not one number


# Each order and the film column it sorts on, highest first or not (written here, apart from
# the query's own table).
SORTED_ON = {
    "price": ("rental_rate", False),
    "price_desc": ("rental_rate", True),
    "length": ("length", False),
    "length_desc": ("length", True),
    "popular": ("times_rented", True),
    "replacement": ("replacement_cost", False),
    "replacement_desc": ("replacement_cost", True),
    "days": ("rental_duration", False),
    "days_desc": ("rental_duration", True),
    "cast_desc": ("cast_size", True),
}


@pytest.mark.parametrize(("sort", "on"), SORTED_ON.items())
async def test_each_film_found_in_an_order_says_the_value_it_was_sorted_on(
    database: Database, sort: Any, on: tuple[str, bool]
) -> None:
    column_name, highest_first = on

    rows = await find(database, FilmFilters(category="comedy"), sort=sort, limit=EVERY)

    values = [row["sorted_on"] for row in rows]
    assert values == [row[column_name] for row in rows]
    assert values == sorted(values, reverse=highest_first)
    assert len(set(values)) > 1  # an order that tells the films apart
