"""Data access for films: one statement per call, page and total in one round trip."""

from typing import Any

from sqlalchemy import Row, Select, bindparam, exists, func, select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database import execute
from shared.models import Category, Film, FilmCategory, film_category_name
from shared.pagination import page_with_total, split_page

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


def _page_statement(*, by_category: bool) -> Select[*tuple[Any, ...]]:
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
    return page_with_total(count, page, lambda c: [c.film_id])


# Built once: constructing these statements costs more CPU than running them.
_PAGE = _page_statement(by_category=False)
_PAGE_BY_CATEGORY = _page_statement(by_category=True)
_ONE = _film_with_category().where(col(Film.film_id) == bindparam("film_id"))


async def fetch_page(
    session: AsyncSession, *, limit: int, offset: int, category: str | None
) -> tuple[int, list[Row[Any]]]:
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if category is not None:
        params["category"] = category
    stmt = _PAGE if category is None else _PAGE_BY_CATEGORY
    rows = (await execute(session, stmt, params)).all()
    return split_page(rows, "film_id")


async def fetch_one(session: AsyncSession, film_id: int) -> Row[Any] | None:
    return (await execute(session, _ONE, {"film_id": film_id})).one_or_none()
