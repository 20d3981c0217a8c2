from sqlmodel.ext.asyncio.session import AsyncSession

from features.films import query
from features.films.dtos import FilmOut
from shared.errors import NotFoundError
from shared.pagination import Page, PageParams


async def list_films(
    session: AsyncSession, page: PageParams, category: str | None
) -> Page[FilmOut]:
    total, rows = await query.fetch_page(
        session, limit=page.limit, offset=page.offset, category=category
    )
    return Page[FilmOut](
        items=[FilmOut.model_validate(row, from_attributes=True) for row in rows],
        total=total,
        limit=page.limit,
        offset=page.offset,
    )


async def get_film(session: AsyncSession, film_id: int) -> FilmOut:
    row = await query.fetch_one(session, film_id)
    if row is None:
        raise NotFoundError(f"Film {film_id} not found.")
    return FilmOut.model_validate(row, from_attributes=True)
