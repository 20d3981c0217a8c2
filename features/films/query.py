"""Data access for films: one statement per call, page and total in one round trip."""

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select, exists, func, select, true
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database import execute
from shared.models import Category, Film, FilmCategory

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


def _category_name() -> Select[Any]:
    # A film may in principle have several categories; Pagila gives each exactly one.
    return (
        select(col(Category.name))
        .join(FilmCategory, col(FilmCategory.category_id) == col(Category.category_id))
        .where(col(FilmCategory.film_id) == col(Film.film_id))
        .order_by(col(Category.name))
        .limit(1)
    )


def _film_with_category() -> Select[Any]:
    return select(*_FILM_COLUMNS, _category_name().scalar_subquery().label("category"))


async def fetch_page(
    session: AsyncSession, *, limit: int, offset: int, category: str | None
) -> tuple[int, Sequence[Row[Any]]]:
    matching = select(col(Film.film_id))
    if category is not None:
        matching = matching.where(
            exists()
            .where(col(FilmCategory.film_id) == col(Film.film_id))
            .where(col(FilmCategory.category_id) == col(Category.category_id))
            .where(func.lower(Category.name) == category.lower())
        )
    ids = matching.cte("matching")
    total = select(func.count().label("total")).select_from(ids).subquery("total")
    page = (
        _film_with_category()
        .join(ids, ids.c.film_id == col(Film.film_id))
        .order_by(col(Film.film_id))
        .limit(limit)
        .offset(offset)
        .lateral("page")
    )
    # LEFT JOIN LATERAL: an empty page still yields one row carrying the total.
    stmt = (
        select(total.c.total, page)
        .select_from(total.outerjoin(page, true()))
        .order_by(page.c.film_id)
    )
    rows = (await execute(session, stmt)).all()
    count = rows[0].total if rows else 0
    return count, [row for row in rows if row.film_id is not None]


async def fetch_one(session: AsyncSession, film_id: int) -> Row[Any] | None:
    stmt = _film_with_category().where(col(Film.film_id) == film_id)
    return (await execute(session, stmt)).one_or_none()
