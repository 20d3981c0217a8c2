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
from shared.database.connections import asyncpg_connect_args

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
# Writes: one statement each, in autocommit (no BEGIN/COMMIT round trips): the checks and the
# insert together; the return with its film. The partial unique index decides races.
RENT = """
WITH checks AS (
    SELECT EXISTS (SELECT FROM customer WHERE customer_id = $1::int) AS customer_ok,
           EXISTS (SELECT FROM inventory WHERE inventory_id = $2::int) AS inventory_ok,
           EXISTS (SELECT FROM staff WHERE staff_id = $3::int) AS staff_ok,
           EXISTS (SELECT FROM rental WHERE inventory_id = $2::int AND return_date IS NULL) AS out
), inserted AS (
    INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id)
    SELECT now(), $2::int, $1::int, $3::int FROM checks
     WHERE customer_ok AND inventory_ok AND staff_ok AND NOT out
    RETURNING rental_id, customer_id, inventory_id, staff_id, rental_date, return_date
)
SELECT * FROM checks LEFT JOIN inserted ON true
"""
RETURN = """
UPDATE rental r SET return_date = now()
  FROM inventory i JOIN film f USING (film_id)
 WHERE r.rental_id = $1 AND r.return_date IS NULL AND i.inventory_id = r.inventory_id
RETURNING r.rental_id, r.customer_id, r.inventory_id, r.staff_id, r.rental_date, r.return_date,
          f.film_id, f.title
"""
RENTAL_FIELDS = (
    "rental_id",
    "customer_id",
    "inventory_id",
    "staff_id",
    "rental_date",
    "return_date",
)
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
    customer_id = int(request.path_params["customer_id"])
    async with request.app.state.pool.acquire() as conn:
        try:
            row = await conn.fetchrow(RENT, customer_id, body["inventory_id"], body["staff_id"])
        except asyncpg.UniqueViolationError:
            return _json({"detail": "Already rented out."}, 409)
    if not (row["customer_ok"] and row["inventory_ok"] and row["staff_ok"]):
        return _json({"detail": "Not found."}, 404)
    if row["out"]:
        return _json({"detail": "Already rented out."}, 409)
    return _json({key: row[key] for key in RENTAL_FIELDS}, 201)


async def give_back(request: Request) -> Response:
    if request.headers.get("authorization") != TOKEN:
        return _json({"detail": "Invalid bearer token."}, 401)
    async with request.app.state.pool.acquire() as conn:
        row = await conn.fetchrow(RETURN, int(request.path_params["rental_id"]))
    if row is None:
        return _json({"detail": "Not open."}, 409)
    return _json(dict(row))


async def _no_reset(connection: asyncpg.Connection) -> None:
    return None


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    args = asyncpg_connect_args(os.environ["DATABASE_URL"])
    # No reset on release (asyncpg's default is a round trip of RESET ALL and friends): the
    # floor's statements change no session state, as the API's read pool knows too.
    async with asyncpg.create_pool(**args, min_size=1, max_size=10, reset=_no_reset) as pool:
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
