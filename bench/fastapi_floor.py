"""FastAPI alone: the floor's work (bench/floor.py: its SQL, its asyncpg pool) done the FastAPI
way, with none of the API's code.

What FastAPI itself costs, so that `just bench --framework` can tell the framework's share of
the gap from ours: the pool as a dependency, typed and bounded path, query and body
parameters, a bearer guard on FastAPI's OAuth2 scheme, and the API's response models,
validated and serialized by FastAPI. No middleware, no logging, no ORM. It returns the same
JSON as the floor and the API (tests/bench/test_floor.py).

    DATABASE_URL=postgresql+asyncpg://... uvicorn bench.fastapi_floor:app --port 8100
"""

import secrets
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request, Response
from fastapi.security import OAuth2PasswordBearer

from bench.floor import FILM, FILTERS, RENT, RENTAL_FIELDS, RETURN, TOKEN, _film, lifespan, page_sql
from features.films.dtos import FilmOut
from features.rentals.dtos import RentalCreate, RentalOut, RentalWithFilmOut
from shared.database.models import MAX_ID, Rating
from shared.http.pagination import Page

app = FastAPI(lifespan=lifespan, telemetry={"tracing": False, "metrics": False, "logs": False})
_bearer = OAuth2PasswordBearer(tokenUrl="token")
_TOKEN = TOKEN.removeprefix("Bearer ")


async def get_pool(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool = request.app.state.pool
    return pool


async def require_admin(token: Annotated[str, Depends(_bearer)]) -> None:
    if not secrets.compare_digest(token.encode(), _TOKEN.encode()):
        raise HTTPException(401, "Invalid bearer token.")


PoolDep = Annotated[asyncpg.Pool, Depends(get_pool)]
Id = Annotated[int, Path(ge=1, le=MAX_ID)]


@app.get("/films")
async def list_films(
    pool: PoolDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    q: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
    category: Annotated[str | None, Query(min_length=1, max_length=25)] = None,
    rating: Rating | None = None,
    streaming: bool | None = None,
) -> Page[FilmOut]:
    given: dict[str, Any] = {"q": q, "category": category, "rating": rating, "streaming": streaming}
    filters = tuple(name for name in FILTERS if given[name] is not None)
    rows = await pool.fetch(page_sql(filters), limit, offset, *(given[f] for f in filters))
    items = [_film(row) for row in rows if row["film_id"] is not None]
    total = rows[0]["total"] if rows else 0
    return Page[FilmOut].model_validate(
        {"items": items, "total": total, "limit": limit, "offset": offset}
    )


@app.get("/films/{film_id}")
async def get_film(pool: PoolDep, film_id: Id) -> FilmOut:
    row = await pool.fetchrow(FILM, film_id)
    if row is None:
        raise HTTPException(404, f"Film {film_id} not found.")
    return FilmOut.model_validate(_film(row))


@app.post(
    "/customers/{customer_id}/rentals", status_code=201, dependencies=[Depends(require_admin)]
)
async def rent(pool: PoolDep, customer_id: Id, body: RentalCreate, response: Response) -> RentalOut:
    async with pool.acquire() as conn:
        try:
            row = await conn.fetchrow(RENT, customer_id, body.inventory_id, body.staff_id)
        except asyncpg.UniqueViolationError:
            raise HTTPException(409, "Already rented out.") from None
    if not (row["customer_ok"] and row["inventory_ok"] and row["staff_ok"]):
        raise HTTPException(404, "Not found.")
    if row["out"]:
        raise HTTPException(409, "Already rented out.")
    response.headers["Location"] = f"/rentals/{row['rental_id']}"
    return RentalOut.model_validate({key: row[key] for key in RENTAL_FIELDS})


@app.put("/rentals/{rental_id}/return", dependencies=[Depends(require_admin)])
async def give_back(pool: PoolDep, rental_id: Id) -> RentalWithFilmOut:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(RETURN, rental_id)
    if row is None:
        raise HTTPException(409, "Not open.")
    return RentalWithFilmOut.model_validate(dict(row))
