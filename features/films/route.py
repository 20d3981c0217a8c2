from typing import Annotated

from fastapi import APIRouter, Path, Query

from features.films import handler
from features.films.dtos import FilmOut
from shared.database import DatabaseDep
from shared.errors import UNAVAILABLE_RESPONSE, NotFoundError
from shared.models import MAX_ID
from shared.pagination import Page, PageParamsDep

router = APIRouter(prefix="/films", tags=["films"], responses=UNAVAILABLE_RESPONSE)


@router.get("", summary="List films, optionally by category")
async def list_films(
    db: DatabaseDep,
    page: PageParamsDep,
    category: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=25,
            pattern=r"^[^\x00]+$",  # PostgreSQL text cannot hold NUL: a 422, not a 500
            description="Category name, case-insensitive.",
        ),
    ] = None,
) -> Page[FilmOut]:
    return await handler.list_films(db, page, category)


@router.get("/{film_id}", summary="One film", responses=NotFoundError.response_doc("No such film"))
async def get_film(db: DatabaseDep, film_id: Annotated[int, Path(ge=1, le=MAX_ID)]) -> FilmOut:
    return await handler.get_film(db, film_id)
