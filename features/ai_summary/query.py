from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database import execute
from shared.models import Film, film_category_name


@dataclass(frozen=True)
class FilmFacts:
    title: str
    description: str | None
    release_year: int | None
    rating: str | None
    rental_rate: Decimal
    length: int | None
    category: str | None


async def fetch_facts(session: AsyncSession, film_id: int) -> FilmFacts | None:
    stmt = select(
        col(Film.title),
        col(Film.description),
        col(Film.release_year),
        col(Film.rating),
        col(Film.rental_rate),
        col(Film.length),
        film_category_name().label("category"),
    ).where(col(Film.film_id) == film_id)
    row = (await execute(session, stmt)).one_or_none()
    return None if row is None else FilmFacts(**row._mapping)
