"""Data access for the store assistant's tools and its offline router. Statements are built
once; each call is one read on a pooled connection, released at once, so no connection is held
while a model thinks."""

from typing import Any

import asyncpg
from sqlalchemy import String, and_, bindparam, cast, exists, func, literal, select, true
from sqlmodel import col

from shared.database import Database
from shared.models import (
    Category,
    Customer,
    Film,
    FilmCategory,
    Inventory,
    Rental,
    film_category_name,
)

SEARCH_LIMIT = 5
RENTALS_LIMIT = 5

_FILM = (
    col(Film.film_id),
    col(Film.title),
    col(Film.rating),
    col(Film.rental_rate),
    film_category_name().label("category"),
)


def like_pattern(text: str) -> str:
    """`%text%` for ILIKE ... ESCAPE '\\', with the user's own %, _ and \\ taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


SEARCH_BY_TITLE = (
    select(*_FILM)
    .where(col(Film.title).ilike(bindparam("pattern"), escape="\\"))
    .order_by(col(Film.title))
    .limit(SEARCH_LIMIT)
)

# Exact, thanks to the one-open-rental-per-copy index: a copy is in when it has no open rental.
_OPEN_RENTAL = exists().where(
    and_(col(Rental.inventory_id) == col(Inventory.inventory_id), col(Rental.return_date).is_(None))
)
AVAILABILITY = (
    select(
        *_FILM,
        col(Inventory.store_id),
        func.count(col(Inventory.inventory_id)).label("copies"),
        func.count(col(Inventory.inventory_id)).filter(~_OPEN_RENTAL).label("in_store"),
    )
    .outerjoin(Inventory, col(Inventory.film_id) == col(Film.film_id))
    .where(func.lower(col(Film.title)) == func.lower(bindparam("title")))
    .group_by(col(Film.film_id), col(Inventory.store_id))
    .order_by(col(Film.film_id), col(Inventory.store_id))
)

CUSTOMER = select(
    col(Customer.customer_id), col(Customer.first_name), col(Customer.last_name)
).where(col(Customer.customer_id) == bindparam("customer_id"))

RECENT_RENTALS = (
    select(
        col(Rental.rental_id),
        col(Rental.rental_date),
        col(Rental.return_date),
        *_FILM,
    )
    .join(Inventory, col(Inventory.inventory_id) == col(Rental.inventory_id))
    .join(Film, col(Film.film_id) == col(Inventory.film_id))
    .where(col(Rental.customer_id) == bindparam("customer_id"))
    .order_by(col(Rental.rental_date).desc(), col(Rental.rental_id).desc())
    .limit(RENTALS_LIMIT)
)

_IN_CATEGORY = exists().where(
    col(FilmCategory.film_id) == col(Film.film_id),
    col(FilmCategory.category_id) == col(Category.category_id),
    func.lower(col(Category.name)) == func.lower(bindparam("category", type_=String)),
)
STREAMING = (
    select(*_FILM)
    .where(col(Film.streaming_available).is_(true()))
    .where(cast(bindparam("category", type_=String), String).is_(None) | _IN_CATEGORY)
    .order_by(col(Film.title))
    .limit(SEARCH_LIMIT)
)


def _words(text: Any) -> Any:
    """Lower-case words separated by single spaces, padded by one space on each side."""
    return literal(" ") + func.regexp_replace(func.lower(text), "[^[:alnum:]]+", " ", "g") + " "


# The catalogue title and the category a question names, whole words, any case (the longest
# if several): the offline router's only look at the question.
_QUESTION = _words(bindparam("question", type_=String))
NAMED_IN_QUESTION = select(
    select(col(Film.title))
    .where(func.strpos(_QUESTION, _words(col(Film.title))) > 0)
    .order_by(func.length(col(Film.title)).desc(), col(Film.title))
    .limit(1)
    .scalar_subquery()
    .label("title"),
    select(col(Category.name))
    .where(func.strpos(_QUESTION, _words(col(Category.name))) > 0)
    .order_by(func.length(col(Category.name)).desc())
    .limit(1)
    .scalar_subquery()
    .label("category"),
)


async def search_by_title(db: Database, text: str) -> list[asyncpg.Record]:
    return await db.read(SEARCH_BY_TITLE, {"pattern": like_pattern(text)})


async def availability(db: Database, title: str) -> list[asyncpg.Record]:
    return await db.read(AVAILABILITY, {"title": title})


async def customer(db: Database, customer_id: int) -> asyncpg.Record | None:
    return await db.read_one(CUSTOMER, {"customer_id": customer_id})


async def recent_rentals(db: Database, customer_id: int) -> list[asyncpg.Record]:
    return await db.read(RECENT_RENTALS, {"customer_id": customer_id})


async def streaming(db: Database, category: str | None) -> list[asyncpg.Record]:
    return await db.read(STREAMING, {"category": category})


async def named_in_question(db: Database, question: str) -> tuple[str | None, str | None]:
    row = await db.read_one(NAMED_IN_QUESTION, {"question": question})
    assert row is not None
    return row["title"], row["category"]
