"""Data access for categories."""

from sqlalchemy import func, select
from sqlmodel import col

from shared.database import Database, RowDict, Statement
from shared.database.models import Category, FilmCategory

ALL = Statement(
    select(
        col(Category.category_id),
        col(Category.name),
        func.count(col(FilmCategory.film_id)).label("films"),
    )
    .outerjoin(FilmCategory, col(FilmCategory.category_id) == col(Category.category_id))
    .group_by(col(Category.category_id), col(Category.name))
    .order_by(col(Category.name))
)


async def fetch_all(db: Database) -> list[RowDict]:
    return await db.rows(ALL)
