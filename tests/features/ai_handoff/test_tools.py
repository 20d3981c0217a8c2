"""Each store tool against the real test database; expected rows computed by SQL here."""

import json
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from features.ai_handoff import answers
from features.ai_handoff.results import RentalTerms, ToolResult
from features.ai_handoff.tools import CustomerTools, StoreTools, ToolRecord, _person
from shared.database import Database
from tests.support import column, scalar


@pytest.fixture
def record() -> ToolRecord:
    return ToolRecord()


@pytest.fixture
def store(database: Database, record: ToolRecord) -> StoreTools:
    return StoreTools(database, record)


def _json(result: ToolResult) -> dict[str, Any]:
    """What a model is sent of a tool's result."""
    sent: dict[str, Any] = json.loads(str(result))
    return sent


async def test_film_details_has_the_facts_and_the_whole_cast(
    store: StoreTools, db: AsyncConnection, record: ToolRecord
) -> None:
    result = _json(await store.film_details("academy DINOSAUR"))

    cast = await column(
        db,
        "SELECT a.first_name || ' ' || a.last_name FROM actor a JOIN film_actor USING (actor_id) "
        "WHERE film_id = 1 ORDER BY a.last_name, a.first_name",
    )
    length = await scalar(db, "SELECT length FROM film WHERE film_id = 1")
    rate = await scalar(db, "SELECT rental_rate FROM film WHERE film_id = 1")
    assert result["found"] is True
    assert (result["title"], result["length"], result["cast"]) == ("ACADEMY DINOSAUR", length, cast)
    assert Decimal(str(result["rental_rate"])) == rate
    assert result["category"] == "Documentary"
    assert [call.name for call in record.calls] == ["film_details"]
    assert list(record.films) == [1]


async def test_film_details_of_an_unknown_title_says_not_found(store: StoreTools) -> None:
    assert _json(await store.film_details("NO SUCH FILM")) == {
        "title": "NO SUCH FILM",
        "found": False,
    }


async def test_availability_counts_copies_in_each_store(
    store: StoreTools, db: AsyncConnection
) -> None:
    in_now = (
        "SELECT {} FROM inventory i WHERE film_id = 1 AND NOT EXISTS "
        "(SELECT FROM rental r WHERE r.inventory_id = i.inventory_id AND r.return_date IS NULL)"
    )
    before = await scalar(db, in_now.format("count(*)"))
    # Rent one copy that is in (rolled back after the test): one fewer in.
    copy = await scalar(db, in_now.format("min(inventory_id)"))
    await db.exec_driver_sql(
        "INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id) "
        f"VALUES (now(), {copy}, 1, 1)"
    )

    result = _json(await store.film_availability("Academy Dinosaur"))

    copies = await scalar(db, "SELECT count(*) FROM inventory WHERE film_id = 1")
    assert (result["copies"], result["in_stock"]) == (copies, before - 1)
    assert sum(s["copies"] for s in result["stores"]) == copies
    assert sum(s["in_stock"] for s in result["stores"]) == before - 1


async def test_find_films_combines_filters_and_counts_all_matches(
    store: StoreTools, db: AsyncConnection
) -> None:
    result = _json(await store.find_films(category="comedy", rating="g", sort="price", limit=3))

    expected = await scalar(
        db,
        "SELECT count(*) FROM film JOIN film_category USING (film_id) "
        "JOIN category USING (category_id) WHERE name = 'Comedy' AND rating = 'G'",
    )
    cheapest = await scalar(
        db,
        "SELECT min(rental_rate) FROM film JOIN film_category USING (film_id) "
        "JOIN category USING (category_id) WHERE name = 'Comedy' AND rating = 'G'",
    )
    assert result["total"] == expected
    assert len(result["films"]) == 3
    assert {f["rating"] for f in result["films"]} == {"G"}
    assert result["films"][0]["rental_rate"] == float(cheapest)


async def test_find_films_by_actor_topic_length_and_price(
    store: StoreTools, db: AsyncConnection
) -> None:
    by_actor = _json(await store.find_films(actor="penelope guiness", limit=20))
    topic = _json(await store.find_films(text="shark", max_length=100, max_price=2.99))

    films_of_actor = await column(
        db,
        "SELECT title FROM film JOIN film_actor USING (film_id) WHERE actor_id = 1",
    )
    sharks = await column(
        db,
        "SELECT title FROM film WHERE fulltext @@ websearch_to_tsquery('english', 'shark') "
        "AND length <= 100 AND rental_rate <= 2.99",
    )
    assert by_actor["total"] == len(films_of_actor)
    assert {f["title"] for f in by_actor["films"]} <= set(films_of_actor)
    assert topic["total"] == len(sharks) > 0
    assert {f["title"] for f in topic["films"]} <= set(sharks)


async def test_find_films_by_release_year(store: StoreTools, db: AsyncConnection) -> None:
    year = await scalar(db, "SELECT min(release_year) FROM film")

    that_year = _json(await store.find_films(min_year=year, max_year=year, limit=1))
    later = _json(await store.find_films(min_year=year + 1, limit=1))

    assert that_year["total"] == await scalar(
        db, "SELECT count(*) FROM film WHERE release_year = :y", y=year
    )
    assert later["total"] == await scalar(
        db, "SELECT count(*) FROM film WHERE release_year > :y", y=year
    )


async def test_a_price_bound_of_any_size_is_taken(store: StoreTools, db: AsyncConnection) -> None:
    result = _json(await store.find_films(max_price=100, limit=1))

    assert result["total"] == await scalar(db, "SELECT count(*) FROM film")


async def test_find_films_sorts_longest_first(store: StoreTools, db: AsyncConnection) -> None:
    result = _json(await store.find_films(sort="length_desc", limit=1))

    assert result["films"][0]["length"] == await scalar(db, "SELECT max(length) FROM film")


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"rating": "XXX"}, "rating must be one of G, PG, PG-13, R, NC-17"),
        (
            {"sort": "random"},
            "sort must be one of price, price_desc, length, length_desc, popular, replacement, "
            "replacement_desc, days, days_desc, cast_desc",
        ),
        ({"max_price": float("nan")}, "max_price must be a number of dollars"),
    ],
)
async def test_find_films_explains_a_bad_argument(
    store: StoreTools, record: ToolRecord, arguments: dict[str, Any], error: str
) -> None:
    assert _json(await store.find_films(**arguments)) == {"error": error}
    assert [call.ok for call in record.calls] == [False]


async def test_list_categories_and_top_actors(store: StoreTools, db: AsyncConnection) -> None:
    categories = _json(await store.list_categories())["categories"]
    actors = _json(await store.top_actors(limit=3))["actors"]

    assert [c["name"] for c in categories] == await column(
        db, "SELECT name FROM category ORDER BY name"
    )
    top = await column(
        db,
        "SELECT count(*) FROM film_actor GROUP BY actor_id ORDER BY count(*) DESC LIMIT 3",
    )
    assert [a["films"] for a in actors][:3] == top


async def test_rental_terms_are_each_rate_with_its_films_and_the_ranges(
    store: StoreTools, db: AsyncConnection
) -> None:
    result = _json(await store.rental_terms())

    rates = (
        await db.execute(
            text("SELECT rental_rate, count(*) FROM film GROUP BY rental_rate ORDER BY 1")
        )
    ).all()
    days = (
        await db.execute(text("SELECT min(rental_duration), max(rental_duration) FROM film"))
    ).one()
    lost = (
        await db.execute(text("SELECT min(replacement_cost), max(replacement_cost) FROM film"))
    ).one()
    assert [(Decimal(str(r["rental_rate"])), r["films"]) for r in result["rates"]] == [
        tuple(row) for row in rates
    ]
    assert (result["days"]["min"], result["days"]["max"]) == tuple(days)
    assert tuple(Decimal(str(v)) for v in result["replacement_cost"].values()) == tuple(lost)


async def test_rental_terms_of_an_empty_catalogue_say_so(
    store: StoreTools, db: AsyncConnection
) -> None:
    # The test's own database, its catalogue emptied.
    await db.execute(text("TRUNCATE film CASCADE"))

    result = await store.rental_terms()

    assert _json(result) == {"rates": [], "days": None, "replacement_cost": None}
    assert isinstance(result, RentalTerms)
    assert answers.rental_terms(result).startswith("We have no films to rent yet")


async def test_customer_rentals(
    database: Database, db: AsyncConnection, record: ToolRecord
) -> None:
    tools = CustomerTools(database, record)

    known = _json(await tools.customer_rentals(1))
    unknown = _json(await tools.customer_rentals(2**40))

    assert known["name"] == "Mary Smith"
    assert len(known["rentals"]) == 5
    assert unknown == {"customer_id": 2**40, "found": False}


async def test_film_details_has_its_features_replacement_cost_and_language(
    store: StoreTools, db: AsyncConnection
) -> None:
    result = _json(await store.film_details("ACADEMY DINOSAUR"))

    features = await scalar(db, "SELECT special_features FROM film WHERE film_id = 1")
    cost = await scalar(db, "SELECT replacement_cost FROM film WHERE film_id = 1")
    language = await scalar(
        db, "SELECT trim(name) FROM language JOIN film USING (language_id) WHERE film_id = 1"
    )
    assert result["special_features"] == features
    assert Decimal(str(result["replacement_cost"])) == cost
    assert result["language"] == language


async def test_stores_have_their_address_manager_copies_and_staff(
    store: StoreTools, db: AsyncConnection
) -> None:
    await db.execute(text("UPDATE staff SET active = false WHERE staff_id = 2"))

    result = _json(await store.stores())

    expected = (
        await db.execute(
            text(
                "SELECT s.store_id, a.address, c.city, m.first_name || ' ' || m.last_name,"
                " (SELECT count(*) FROM inventory i WHERE i.store_id = s.store_id)"
                " FROM store s JOIN address a USING (address_id) JOIN city c USING (city_id)"
                " JOIN staff m ON m.staff_id = s.manager_staff_id ORDER BY s.store_id"
            )
        )
    ).all()
    got = [
        (s["store_id"], s["address"], s["city"], s["manager"], s["copies"])
        for s in result["stores"]
    ]
    assert got == [tuple(row) for row in expected]
    # Active staff only: store 2's one member was just made inactive.
    assert [s["staff"] for s in result["stores"]] == [1, 0]


async def test_staff_are_names_and_stores_only(store: StoreTools, db: AsyncConnection) -> None:
    result = _json(await store.staff())

    names = await column(
        db, "SELECT first_name || ' ' || last_name FROM staff WHERE active ORDER BY staff_id"
    )
    assert [p["name"] for p in result["staff"]] == names
    said = json.dumps(result).lower()
    secrets = await column(db, "SELECT email FROM staff UNION ALL SELECT password FROM staff")
    assert secrets
    assert all(secret.lower() not in said for secret in secrets)
    assert "password" not in said


async def test_catalogue_totals_are_counted(store: StoreTools, db: AsyncConnection) -> None:
    result = _json(await store.catalogue_totals())

    for what in ("film", "actor", "category", "inventory", "store"):
        assert await scalar(db, f"SELECT count(*) FROM {what}") in result.values()
    assert result["films"] == await scalar(db, "SELECT count(*) FROM film")
    assert result["copies"] == await scalar(db, "SELECT count(*) FROM inventory")


async def test_a_customer_card_has_contact_payments_and_what_is_out(
    database: Database, db: AsyncConnection, record: ToolRecord
) -> None:
    tools = CustomerTools(database, record)
    out = await column(
        db,
        "SELECT f.title FROM rental r JOIN inventory USING (inventory_id) JOIN film f"
        " USING (film_id) WHERE r.customer_id = 9 AND r.return_date IS NULL",
    )

    card = _json(await tools.customer_rentals(9))

    paid = await scalar(db, "SELECT sum(amount) FROM payment WHERE customer_id = 9")
    phone = await scalar(
        db, "SELECT phone FROM customer JOIN address USING (address_id) WHERE customer_id = 9"
    )
    assert out  # Pagila's customer 9 has a copy out
    assert [r["title"] for r in card["out_now"]] == out
    assert all(r["returned"] is None for r in card["out_now"])
    assert Decimal(str(card["paid"])) == paid
    assert card["phone"] == phone


async def test_film_renters_are_those_with_it_out_then_the_latest(
    database: Database, db: AsyncConnection, record: ToolRecord
) -> None:
    tools = CustomerTools(database, record)
    title = await scalar(
        db,
        "SELECT min(f.title) FROM rental r JOIN inventory USING (inventory_id) JOIN film f"
        " USING (film_id) WHERE r.return_date IS NULL",
    )
    out = await column(
        db,
        "SELECT c.customer_id FROM rental r JOIN inventory USING (inventory_id) JOIN film f"
        " USING (film_id) JOIN customer c USING (customer_id)"
        " WHERE f.title = :title AND r.return_date IS NULL ORDER BY r.rental_date DESC",
        title=title,
    )

    result = _json(await tools.film_renters(title.lower()))

    renters = result["renters"]
    assert [r["customer_id"] for r in renters[: len(out)]] == out
    assert all(r["returned"] is None for r in renters[: len(out)])
    assert all(r["returned"] is not None for r in renters[len(out) :])
    assert _json(await tools.film_renters("NO SUCH FILM")) == {
        "title": "NO SUCH FILM",
        "found": False,
    }


def test_a_name_in_capitals_is_capitalised_and_any_other_kept_as_written() -> None:
    assert _person("MARY", "SMITH") == "Mary Smith"  # Pagila's customers and actors
    assert _person("Ronald", "McDonald") == "Ronald McDonald"  # not "Mcdonald"
    assert _person(None, "Hillyer") == "Hillyer"
