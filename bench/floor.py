"""The floor: the same work as the API done the barest way, to compare against in one run.

A bare Starlette app on an asyncpg pool: no ORM, no validation, no middleware, no logging. Its
reads are the best SQL written by hand here, apart from the API's statements (so that the ratio
shows what the API's SQL costs too); its writes are the barest correct ones. It returns the
same JSON as the API (tests/bench/test_floor.py checks both, byte for byte).

    DATABASE_URL=postgresql+asyncpg://... uvicorn bench.floor:app --port 8100
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from features.films.dtos import FilmOut
from features.rentals import query as rentals
from shared.database import asyncpg_connect_args, compiled_statement

FILTERS = ("q", "category", "rating", "streaming")
# By hand: each filter a condition on `film AS f`, its value the next $n.
WHERE = {
    "q": "f.fulltext @@ websearch_to_tsquery('english', ${})",
    "category": "f.film_id IN (SELECT fc.film_id FROM film_category fc JOIN category c "
    "USING (category_id) WHERE lower(c.name) = lower(${}))",
    "rating": "f.rating = ${}::mpaa_rating",
    "streaming": "f.streaming_available = ${}",
}
FILM_ROW = """f.film_id, f.title, f.description, f.release_year, f.rating::text AS rating,
    f.rental_rate, f.length, f.streaming_available,
    (SELECT c.name FROM film_category fc JOIN category c USING (category_id)
     WHERE fc.film_id = f.film_id ORDER BY c.name LIMIT 1) AS category"""
FILM = f"SELECT {FILM_ROW} FROM film f WHERE f.film_id = $1"  # noqa: S608 - constants
_PAGES: dict[tuple[str, ...], str] = {}
CHECKS = compiled_statement(rentals.CHECKS)
INSERT = compiled_statement(rentals.INSERT)
MARK_RETURNED = compiled_statement(rentals.MARK_RETURNED)
FILM_FIELDS = tuple(FilmOut.model_fields)  # the API's key order
TOKEN = "Bearer " + os.environ.get("ADMIN_TOKEN", "dvd_admin")


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


def _json(body: object, status: int = 200) -> Response:
    # orjson: the fastest encoder there is (datetimes natively, in ISO 8601 as the API writes them).
    content = orjson.dumps(body, default=_json_default, option=orjson.OPT_UTC_Z)  # "Z", as pydantic
    return Response(content, status_code=status, media_type="application/json")


def _film(record: asyncpg.Record) -> dict[str, Any]:
    return {key: record[key] for key in FILM_FIELDS}


def page_sql(filters: tuple[str, ...]) -> str:
    """The page and its total in one statement: $1 limit, $2 offset, then the filters' values.
    A search or a category: the matches found once; else counted, and read in key order."""
    if filters not in _PAGES:
        where = " AND ".join(WHERE[f].format(n) for n, f in enumerate(filters, 3)) or "true"
        ranked = "q" in filters
        order = "rank DESC, film_id" if ranked else "film_id"
        if ranked or "category" in filters:
            query_n = 3 + filters.index("q") if ranked else 0
            rank = f", ts_rank(f.fulltext, websearch_to_tsquery('english', ${query_n})) AS rank"
            rank = rank if ranked else ""
            head = f"WITH m AS MATERIALIZED (SELECT f.film_id{rank} FROM film f WHERE {where})"  # noqa: S608
            count, page = "SELECT count(*) AS total FROM m", f"SELECT * FROM m ORDER BY {order}"  # noqa: S608
        else:
            head, count = "", f"SELECT count(*) AS total FROM film f WHERE {where}"  # noqa: S608
            page = f"SELECT f.film_id FROM film f WHERE {where} ORDER BY f.film_id"  # noqa: S608
        outer = "p.rank DESC, p.film_id" if ranked else "p.film_id"
        _PAGES[filters] = f"""{head}
SELECT t.total, {FILM_ROW}
FROM ({count}) t
LEFT JOIN LATERAL ({page} LIMIT $1 OFFSET $2) p ON true
LEFT JOIN film f ON f.film_id = p.film_id
ORDER BY {outer}"""  # noqa: S608 - constants; values are parameters
    return _PAGES[filters]


async def list_films(request: Request) -> Response:
    query = request.query_params
    limit = int(query.get("limit", 20))
    offset = int(query.get("offset", 0))
    filters = tuple(name for name in FILTERS if name in query)
    values: list[Any] = [query[name] for name in filters]
    if "streaming" in filters:
        values[filters.index("streaming")] = query["streaming"] == "true"
    rows = await request.app.state.pool.fetch(page_sql(filters), limit, offset, *values)
    items = [_film(row) for row in rows if row["film_id"] is not None]
    total = rows[0]["total"] if rows else 0
    return _json({"items": items, "total": total, "limit": limit, "offset": offset})


async def get_film(request: Request) -> Response:
    film_id = int(request.path_params["film_id"])
    row = await request.app.state.pool.fetchrow(FILM, film_id)
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
