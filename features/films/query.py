"""Data access for films: one statement per call, built once, page and total in one round trip."""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import asyncpg
from sqlalchemy import Row, Select, Text, bindparam, exists, func, literal_column, select, update
from sqlalchemy.dialects.postgresql import REGCONFIG, aggregate_order_by
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database import Database, execute
from shared.models import (
    Address,
    Category,
    City,
    Film,
    FilmCategory,
    Inventory,
    Rental,
    Store,
    film_category_name,
)
from shared.pagination import PagedSelect

_FILM_COLUMNS = (
    col(Film.film_id),
    col(Film.title),
    col(Film.description),
    col(Film.release_year),
    col(Film.rating),
    col(Film.rental_rate),
    col(Film.length),
    col(Film.streaming_available),
)


@dataclass(frozen=True)
class FilmFilters:
    """What a catalogue page is narrowed by; None means "any"."""

    q: str | None = None
    category: str | None = None
    rating: str | None = None
    streaming: bool | None = None

    def params(self) -> dict[str, Any]:
        # Spelled out: dataclasses.asdict deep-copies, on the busiest route.
        params: dict[str, Any] = {}
        if self.q is not None:
            params["q"] = self.q
        if self.category is not None:
            params["category"] = self.category
        if self.rating is not None:
            params["rating"] = self.rating
        if self.streaming is not None:
            params["streaming"] = self.streaming
        return params


def _film_with_category() -> Select[*tuple[Any, ...]]:
    return select(*_FILM_COLUMNS, film_category_name().label("category"))


# Pagila keeps `film.fulltext` (title + description, configuration 'english') current with a
# trigger and indexes it (GiST); the search text is parsed with the same configuration.
# websearch_to_tsquery accepts anything a person types ("dinosaur -epic", "\"mad scientist\"").
_SEARCH = func.websearch_to_tsquery(
    literal_column("'english'", REGCONFIG), bindparam("q", type_=Text)
)


def _by_id(c: ReadOnlyColumnCollection[str, Any]) -> Sequence[ColumnElement[Any]]:
    return [c.film_id]


def _by_rank(c: ReadOnlyColumnCollection[str, Any]) -> Sequence[ColumnElement[Any]]:
    return [c.rank.desc(), c.film_id]


def _paged(present: frozenset[str]) -> PagedSelect:
    conditions: list[ColumnElement[bool]] = []
    if "q" in present:
        conditions.append(col(Film.fulltext).bool_op("@@")(_SEARCH))
    if "category" in present:
        conditions.append(
            exists()
            .where(col(FilmCategory.film_id) == col(Film.film_id))
            .where(col(FilmCategory.category_id) == col(Category.category_id))
            .where(func.lower(Category.name) == func.lower(bindparam("category")))
        )
    if "rating" in present:
        conditions.append(col(Film.rating) == bindparam("rating"))
    if "streaming" in present:
        conditions.append(col(Film.streaming_available) == bindparam("streaming"))

    if "q" in present:
        # Best match first, then by id: pages are stable.
        rank = func.ts_rank(col(Film.fulltext), _SEARCH).label("rank")
        ids = select(col(Film.film_id), rank).where(*conditions).cte("matching")
        page = _film_with_category().add_columns(ids.c.rank)
        order, outer_order = [ids.c.rank.desc(), col(Film.film_id)], _by_rank
    else:
        ids = select(col(Film.film_id)).where(*conditions).cte("matching")
        page = _film_with_category()
        order, outer_order = [col(Film.film_id)], _by_id
    page = (
        page.join(ids, ids.c.film_id == col(Film.film_id))
        .order_by(*order)
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    count = select(func.count().label("total")).select_from(ids)
    return PagedSelect.build(count, page, outer_order, key="film_id")


@cache
def paged_select(present: frozenset[str]) -> PagedSelect:
    """One statement per combination of filters (16 at most), built on first use: building
    costs more CPU than running."""
    return _paged(present)


ONE = _film_with_category().where(col(Film.film_id) == bindparam("film_id"))

# Only the column the API lets staff change; the row comes back as GET /films/{id} shows it.
SET_STREAMING = (
    update(Film)
    .where(col(Film.film_id) == bindparam("target_film_id"))
    .values(streaming_available=bindparam("streaming"))
    .returning(col(Film.film_id))
)

_OPEN_RENTAL = exists().where(
    col(Rental.inventory_id) == col(Inventory.inventory_id), col(Rental.return_date).is_(None)
)
# Per store: copies, and the ones on the shelf (no open rental; exact, as migration 0003 allows
# one open rental per copy). A film without copies gives one row with a NULL store.
_PER_STORE = (
    col(Film.film_id),
    col(Film.title),
    col(Inventory.store_id),
    col(Store.manager_staff_id),
    col(Address.address),
    col(City.city),
)
AVAILABILITY = (
    select(
        *_PER_STORE,
        func.count(col(Inventory.inventory_id)).label("copies"),
        func.array_agg(aggregate_order_by(col(Inventory.inventory_id), col(Inventory.inventory_id)))
        .filter(~_OPEN_RENTAL)
        .label("available_inventory_ids"),
    )
    .outerjoin(Inventory, col(Inventory.film_id) == col(Film.film_id))
    .outerjoin(Store, col(Store.store_id) == col(Inventory.store_id))
    .outerjoin(Address, col(Address.address_id) == col(Store.address_id))
    .outerjoin(City, col(City.city_id) == col(Address.city_id))
    .where(col(Film.film_id) == bindparam("film_id"))
    .group_by(*_PER_STORE)
    .order_by(col(Inventory.store_id))
)


async def fetch_page(
    db: Database, *, limit: int, offset: int, filters: FilmFilters
) -> tuple[int, list[dict[str, Any]]]:
    params = filters.params()
    statement = paged_select(frozenset(params))
    return await statement.fetch(db, {**params, "limit": limit, "offset": offset})


async def fetch_one(db: Database, film_id: int) -> asyncpg.Record | None:
    return await db.read_one(ONE, {"film_id": film_id})


async def fetch_availability(db: Database, film_id: int) -> list[asyncpg.Record]:
    """No rows: no such film."""
    return await db.read(AVAILABILITY, {"film_id": film_id})


async def set_streaming(session: AsyncSession, film_id: int, streaming: bool) -> Row[Any] | None:
    params = {"target_film_id": film_id, "streaming": streaming}
    return (await execute(session, SET_STREAMING, params)).one_or_none()


async def fetch_one_in(session: AsyncSession, film_id: int) -> Row[Any] | None:
    """`fetch_one` inside a write's transaction (sees its change)."""
    return (await execute(session, ONE, {"film_id": film_id})).one_or_none()
