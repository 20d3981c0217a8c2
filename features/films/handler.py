from features.films import query
from features.films.dtos import FilmOut
from shared.database import Database
from shared.errors import NotFoundError
from shared.pagination import Page, PageParams

_FilmPage = Page[FilmOut]


async def list_films(db: Database, page: PageParams, category: str | None) -> Page[FilmOut]:
    total, items = await query.fetch_page(
        db, limit=page.limit, offset=page.offset, category=category
    )
    # Validated once, from plain dicts; FastAPI then only checks the type and dumps to JSON.
    return _FilmPage.model_validate(
        {"items": items, "total": total, "limit": page.limit, "offset": page.offset}
    )


async def get_film(db: Database, film_id: int) -> FilmOut:
    row = await query.fetch_one(db, film_id)
    if row is None:
        raise NotFoundError(f"Film {film_id} not found.")
    return FilmOut.model_validate(dict(row))
