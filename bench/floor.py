"""The floor: the same work as the API done the barest way, to compare against in one run.

A bare Starlette app on an asyncpg pool: no ORM, no validation, no middleware, no logging. It
runs the very SQL the API runs (compiled from the API's own statements, once, so the two
cannot drift) and returns the same JSON (tests/bench/test_floor.py checks both).

    DATABASE_URL=postgresql+asyncpg://... uvicorn bench.floor:app --port 8100
"""

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from features.films import query as films
from features.films.dtos import FilmOut
from features.rentals import query as rentals
from shared.database import asyncpg_connect_args, compiled_statement

FILTERS = ("q", "category", "rating", "streaming")
FILM = compiled_statement(films.ONE)
CHECKS = compiled_statement(rentals.CHECKS)
INSERT = compiled_statement(rentals.INSERT)
MARK_RETURNED = compiled_statement(rentals.MARK_RETURNED)
FILM_FIELDS = tuple(FilmOut.model_fields)  # the API's key order
TOKEN = "Bearer " + os.environ.get("ADMIN_TOKEN", "dvd_admin")


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _json(body: object, status: int = 200) -> Response:
    content = json.dumps(body, default=_json_default, separators=(",", ":"))
    return Response(content, status_code=status, media_type="application/json")


def _film(record: asyncpg.Record) -> dict[str, Any]:
    return {key: record[key] for key in FILM_FIELDS}


async def list_films(request: Request) -> Response:
    query = request.query_params
    limit = int(query.get("limit", 20))
    offset = int(query.get("offset", 0))
    filters: dict[str, Any] = {name: query[name] for name in FILTERS if name in query}
    if "streaming" in filters:
        filters["streaming"] = filters["streaming"] == "true"
    sql = compiled_statement(films.paged_select(frozenset(filters)).statement)
    params = {**filters, "limit": limit, "offset": offset}
    rows = await request.app.state.pool.fetch(sql.sql, *sql.args(params))
    items = [_film(row) for row in rows if row["film_id"] is not None]
    total = rows[0]["total"] if rows else 0
    return _json({"items": items, "total": total, "limit": limit, "offset": offset})


async def get_film(request: Request) -> Response:
    film_id = int(request.path_params["film_id"])
    row = await request.app.state.pool.fetchrow(FILM.sql, *FILM.args({"film_id": film_id}))
    if row is None:
        return _json({"detail": f"Film {film_id} not found."}, 404)
    return _json(_film(row))


async def rent(request: Request) -> Response:
    if request.headers.get("authorization") != TOKEN:
        return _json({"detail": "Invalid bearer token."}, 401)
    body = await request.json()
    params = {"customer_id": int(request.path_params["customer_id"]), **body}
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        customer, inventory, staff, out = await conn.fetchrow(CHECKS.sql, *CHECKS.args(params))
        if not (customer and inventory and staff):
            return _json({"detail": "Not found."}, 404)
        if out:
            return _json({"detail": "Already rented out."}, 409)
        try:
            row = await conn.fetchrow(INSERT.sql, *INSERT.args(params))
        except asyncpg.UniqueViolationError:
            return _json({"detail": "Already rented out."}, 409)
    return _json(dict(row), 201)


async def give_back(request: Request) -> Response:
    if request.headers.get("authorization") != TOKEN:
        return _json({"detail": "Invalid bearer token."}, 401)
    params = {"open_rental_id": int(request.path_params["rental_id"])}
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(MARK_RETURNED.sql, *MARK_RETURNED.args(params))
    if row is None:
        return _json({"detail": "Not open."}, 409)
    return _json(dict(row))


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    args = asyncpg_connect_args(os.environ["DATABASE_URL"])
    async with asyncpg.create_pool(**args, min_size=1, max_size=10) as pool:
        app.state.pool = pool
        yield


app = Starlette(
    routes=[
        Route("/films", list_films),
        Route("/films/{film_id:int}", get_film),
        Route("/customers/{customer_id:int}/rentals", rent, methods=["POST"]),
        Route("/rentals/{rental_id:int}/return", give_back, methods=["PUT"]),
    ],
    lifespan=lifespan,
)
