from typing import Annotated

from fastapi import APIRouter, Path, Query

from features.films import handler
from features.films.dtos import FilmOut
from shared.database import SessionDep
from shared.pagination import Page, PageParamsDep

router = APIRouter(prefix="/films", tags=["films"])


@router.get("", summary="List films, optionally by category")
async def list_films(
    session: SessionDep,
    page: PageParamsDep,
    category: Annotated[
        str | None,
        Query(min_length=1, max_length=25, description="Category name, case-insensitive."),
    ] = None,
) -> Page[FilmOut]:
    return await handler.list_films(session, page, category)


@router.get("/{film_id}", summary="One film", responses={404: {"description": "No such film"}})
async def get_film(session: SessionDep, film_id: Annotated[int, Path(ge=1)]) -> FilmOut:
    return await handler.get_film(session, film_id)
