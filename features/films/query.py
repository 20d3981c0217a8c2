"""Data access for films: one statement per call, built once, page and total in one round trip."""

from typing import Any

import asyncpg
from sqlalchemy import Select, bindparam, exists, func, select
from sqlmodel import col

from shared.database import Database
from shared.models import Category, Film, FilmCategory, film_category_name
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


def _film_with_category() -> Select[*tuple[Any, ...]]:
    return select(*_FILM_COLUMNS, film_category_name().label("category"))


def _paged(*, by_category: bool) -> PagedSelect:
    matching = select(col(Film.film_id))
    if by_category:
        matching = matching.where(
            exists()
            .where(col(FilmCategory.film_id) == col(Film.film_id))
            .where(col(FilmCategory.category_id) == col(Category.category_id))
            .where(func.lower(Category.name) == func.lower(bindparam("category")))
        )
    ids = matching.cte("matching")
    page = (
        _film_with_category()
        .join(ids, ids.c.film_id == col(Film.film_id))
        .order_by(col(Film.film_id))
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    count = select(func.count().label("total")).select_from(ids)
    return PagedSelect.build(count, page, lambda c: [c.film_id], key="film_id")


# Built once: constructing these statements costs more CPU than running them.
PAGE = _paged(by_category=False)
PAGE_BY_CATEGORY = _paged(by_category=True)
ONE = _film_with_category().where(col(Film.film_id) == bindparam("film_id"))


async def fetch_page(
    db: Database, *, limit: int, offset: int, category: str | None
) -> tuple[int, list[dict[str, Any]]]:
    if category is None:
        return await PAGE.fetch(db, {"limit": limit, "offset": offset})
    params = {"limit": limit, "offset": offset, "category": category}
    return await PAGE_BY_CATEGORY.fetch(db, params)


async def fetch_one(db: Database, film_id: int) -> asyncpg.Record | None:
    return await db.read_one(ONE, {"film_id": film_id})
