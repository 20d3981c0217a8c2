from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from features.films import handler
from features.films.dtos import FilmAvailability, FilmOut, FilmPatch
from features.films.query import FilmFilters
from shared.database import DatabaseDep, TransactionDep
from shared.database.models import Rating
from shared.http.conditional import (
    AVAILABILITY,
    CATALOGUE,
    NOT_MODIFIED,
    IfMatchHeader,
    conditional_json,
    etag_of,
)
from shared.http.errors import (
    UNAUTHORIZED_RESPONSE,
    UNAVAILABLE_RESPONSE,
    NotFoundError,
    PreconditionFailedError,
)
from shared.http.pagination import Page, PageParamsDep
from shared.http.params import IdPath
from shared.security.auth import StaffGuard

router = APIRouter(prefix="/films", tags=["films"], responses=UNAVAILABLE_RESPONSE)

# PostgreSQL text cannot hold NUL: a 422, not a 500.
NO_NUL = r"^[^\x00]+$"
FilmId = IdPath
_NO_SUCH_FILM = NotFoundError.response_doc("No such film")


@router.get(
    "",
    response_model=Page[FilmOut],
    summary="List and search films (full text, category, rating, streaming)",
    responses=NOT_MODIFIED,
)
async def list_films(
    request: Request,
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
) -> Response:
    filters = FilmFilters(q=q, category=category, rating=rating, streaming=streaming)
    films = await handler.list_films(db, page, filters)
    return conditional_json(request, films, CATALOGUE)


@router.get(
    "/{film_id}",
    response_model=FilmOut,
    summary="One film (its ETag is what PATCH's If-Match names)",
    responses={**_NO_SUCH_FILM, **NOT_MODIFIED},
)
async def get_film(request: Request, db: DatabaseDep, film_id: FilmId) -> Response:
    return conditional_json(request, await handler.get_film(db, film_id), CATALOGUE)


@router.get(
    "/{film_id}/availability",
    response_model=FilmAvailability,
    summary="Copies per store, how many are in, and which can be rented now",
    responses={**_NO_SUCH_FILM, **NOT_MODIFIED},
)
async def get_availability(request: Request, db: DatabaseDep, film_id: FilmId) -> Response:
    return conditional_json(request, await handler.get_availability(db, film_id), AVAILABILITY)


@router.patch(
    "/{film_id}",
    dependencies=[StaffGuard],
    summary="Change whether a film can be streamed (staff); honours If-Match",
    responses={
        **UNAUTHORIZED_RESPONSE,
        **_NO_SUCH_FILM,
        **PreconditionFailedError.response_doc("If-Match names an ETag the film no longer has"),
    },
)
async def patch_film(
    transaction: TransactionDep,
    film_id: FilmId,
    body: FilmPatch,
    response: Response,
    if_match: IfMatchHeader = None,
) -> FilmOut:
    film = await handler.set_streaming(transaction, film_id, body.streaming_available, if_match)
    response.headers["ETag"] = etag_of(film)  # what the next If-Match names
    return film
