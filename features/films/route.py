from typing import Annotated

from fastapi import APIRouter, Query

from features.films import handler
from features.films.dtos import FilmAvailability, FilmOut, FilmPatch
from features.films.query import FilmFilters
from shared.database import DatabaseDep, WriteSessionDep
from shared.http.errors import UNAUTHORIZED_RESPONSE, UNAVAILABLE_RESPONSE, NotFoundError
from shared.http.pagination import Page, PageParamsDep
from shared.http.params import IdPath
from shared.models import Rating
from shared.security.auth import StaffGuard

router = APIRouter(prefix="/films", tags=["films"], responses=UNAVAILABLE_RESPONSE)

# PostgreSQL text cannot hold NUL: a 422, not a 500.
NO_NUL = r"^[^\x00]+$"
FilmId = IdPath
_NO_SUCH_FILM = NotFoundError.response_doc("No such film")


@router.get("", summary="List and search films (full text, category, rating, streaming)")
async def list_films(
    db: DatabaseDep,
    page: PageParamsDep,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            pattern=r"^[^\x00]*[^\x00\s][^\x00]*$",  # some text, no NUL
            description="Words to find in titles and descriptions, as typed in a search box "
            '(`dinosaur`, `"mad scientist"`, `drama -epic`, `shark or crocodile`). '
            "Best matches first.",
            examples=["dinosaur"],
        ),
    ] = None,
    category: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=25,
            pattern=NO_NUL,
            description="Category name, case-insensitive.",
            examples=["Documentary"],
        ),
    ] = None,
    rating: Annotated[Rating | None, Query(description="MPAA rating.")] = None,
    streaming: Annotated[
        bool | None, Query(description="Only films that can (true) or cannot (false) stream.")
    ] = None,
) -> Page[FilmOut]:
    filters = FilmFilters(q=q, category=category, rating=rating, streaming=streaming)
    return await handler.list_films(db, page, filters)


@router.get("/{film_id}", summary="One film", responses=_NO_SUCH_FILM)
async def get_film(db: DatabaseDep, film_id: FilmId) -> FilmOut:
    return await handler.get_film(db, film_id)


@router.get(
    "/{film_id}/availability",
    summary="Copies per store, how many are in, and which can be rented now",
    responses=_NO_SUCH_FILM,
)
async def get_availability(db: DatabaseDep, film_id: FilmId) -> FilmAvailability:
    return await handler.get_availability(db, film_id)


@router.patch(
    "/{film_id}",
    dependencies=[StaffGuard],
    summary="Change whether a film can be streamed (staff)",
    responses={**UNAUTHORIZED_RESPONSE, **_NO_SUCH_FILM},
)
async def patch_film(session: WriteSessionDep, film_id: FilmId, body: FilmPatch) -> FilmOut:
    return await handler.set_streaming(session, film_id, body.streaming_available)
