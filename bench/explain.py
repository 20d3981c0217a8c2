"""`just explain`: each hot read's SQL against the best SQL we can write by hand for the same rows.

The API's statements are the ones its query functions send: each function runs against a
`Database` that records the statement and its parameters instead of executing them. Each pair
must return the same rows; then both run `EXPLAIN (ANALYZE, BUFFERS)` `--runs` times, alternating,
on DATABASE_URL or the embedded server, and the report gives the median execution time and the
shared buffers each touches. A few subscriptions are added for customer 1 inside a transaction
that is rolled back, since Pagila has none.
"""

import argparse
import asyncio
import json
import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg

from devenv.database import connect, database_url, prepare
from devenv.settings import get_dev_settings
from features.films import query as films
from features.films.query import FilmFilters
from features.rentals import query as rentals
from features.subscriptions import query as subscriptions
from shared.database import Database, RowDict, Statement
from shared.settings import get_settings


class _Recorder(Database):
    """Records what a query function would read, and reads nothing."""

    def __init__(self) -> None:  # no pools: nothing is executed
        self.sent: list[tuple[Statement, dict[str, Any] | None]] = []

    async def rows(
        self, statement: Statement, params: dict[str, Any] | None = None
    ) -> list[RowDict]:
        self.sent.append((statement, params))
        return []


async def _sent(call: Callable[[Database], Awaitable[object]]) -> tuple[str, list[Any]]:
    recorder = _Recorder()
    await call(recorder)
    (statement, params), *_ = recorder.sent
    return statement.sql, statement.args(params)


@dataclass
class Case:
    name: str
    api: Callable[[Database], Awaitable[object]]
    hand: str  # $1.. in the order of `args`
    args: tuple[Any, ...]
    note: str = ""


CASES = [
    Case(
        "film by id (500)",
        lambda db: films.fetch_one(db, 500),
        """SELECT f.film_id, f.title, f.description, f.release_year, f.rating::text AS rating,
                  f.rental_rate, f.length, f.streaming_available,
                  (SELECT c.name FROM film_category fc JOIN category c USING (category_id)
                    WHERE fc.film_id = f.film_id ORDER BY c.name LIMIT 1) AS category
             FROM film f WHERE f.film_id = $1""",
        (500,),
    ),
    Case(
        "availability (film 1)",
        lambda db: films.fetch_availability(db, 1),
        """SELECT f.film_id, f.title, x.store_id, s.manager_staff_id, a.address, ci.city,
                  coalesce(x.copies, 0) AS copies, x.available AS available_inventory_ids
             FROM film f
             LEFT JOIN LATERAL (
                  SELECT i.store_id, count(*) AS copies,
                         array_agg(i.inventory_id ORDER BY i.inventory_id) FILTER (
                             WHERE NOT EXISTS (SELECT FROM rental r WHERE r.inventory_id =
                                               i.inventory_id AND r.return_date IS NULL)
                         ) AS available
                    FROM inventory i WHERE i.film_id = f.film_id GROUP BY i.store_id) x ON true
             LEFT JOIN store s ON s.store_id = x.store_id
             LEFT JOIN address a ON a.address_id = s.address_id
             LEFT JOIN city ci ON ci.city_id = a.city_id
            WHERE f.film_id = $1 ORDER BY x.store_id""",
        (1,),
        "per store first, then its address",
    ),
    Case(
        "rental by id (1000)",
        lambda db: rentals.fetch_one(db, 1000),
        """SELECT r.rental_id, r.customer_id, r.inventory_id, r.staff_id, r.rental_date,
                  r.return_date, f.film_id, f.title
             FROM rental r JOIN inventory i USING (inventory_id) JOIN film f USING (film_id)
            WHERE r.rental_id = $1""",
        (1000,),
    ),
    Case(
        "a customer's rentals (148, page 1)",
        lambda db: rentals.fetch_customer_page(db, 148, limit=20, offset=0),
        """SELECT (SELECT count(*) FROM rental WHERE customer_id = $1) AS total,
                  r.rental_id, r.customer_id, r.inventory_id, r.staff_id, r.rental_date,
                  r.return_date, f.film_id, f.title
             FROM rental r JOIN inventory i USING (inventory_id) JOIN film f USING (film_id)
            WHERE r.customer_id = $1
            ORDER BY r.rental_date DESC, r.rental_id DESC LIMIT $2 OFFSET $3""",
        (148, 20, 0),
        "count as a scalar sub-select",
    ),
    Case(
        "a customer's subscriptions (1)",
        lambda db: subscriptions.fetch_customer_page(db, 1, limit=20, offset=0),
        """SELECT (SELECT count(*) FROM streaming_subscription WHERE customer_id = $1) AS total,
                  s.id AS subscription_id, s.customer_id, s.plan_name, s.start_date,
                  s.end_date, s.start_date <= current_date
                  AND (s.end_date IS NULL OR s.end_date >= current_date) AS active
             FROM streaming_subscription s WHERE s.customer_id = $1
            ORDER BY s.start_date DESC, s.id DESC LIMIT $2 OFFSET $3""",
        (1, 20, 0),
        "count as a scalar sub-select",
    ),
    Case(
        "films page, category=comedy",
        lambda db: films.fetch_page(db, limit=20, offset=0, filters=FilmFilters(category="comedy")),
        """WITH m AS MATERIALIZED (
                 SELECT fc.film_id FROM film_category fc JOIN category c USING (category_id)
                  WHERE lower(c.name) = lower($1))
           SELECT t.total, f.film_id, f.title, f.description, f.release_year,
                  f.rating::text AS rating, f.rental_rate, f.length, f.streaming_available,
                  (SELECT c.name FROM film_category fc JOIN category c USING (category_id)
                    WHERE fc.film_id = f.film_id ORDER BY c.name LIMIT 1) AS category
             FROM (SELECT count(*) AS total FROM m) t
             LEFT JOIN LATERAL (SELECT film_id FROM m ORDER BY film_id LIMIT $2 OFFSET $3) p
                  ON true
             LEFT JOIN film f ON f.film_id = p.film_id
            ORDER BY p.film_id""",
        ("comedy", 20, 0),
        "the category's films from film_category, not a test per film",
    ),
]

SUBSCRIPTIONS = """
    INSERT INTO streaming_subscription (customer_id, plan_name, start_date, end_date)
    SELECT 1, 'basic', d::date, d::date + 20
      FROM generate_series(date '2020-01-01', date '2024-12-31', interval '1 month') AS g(d)
"""


def _rows(records: list[asyncpg.Record]) -> list[tuple[Any, ...]]:
    return [tuple(record.values()) for record in records]


async def _explain(conn: asyncpg.Connection, sql: str, args: list[Any]) -> tuple[float, int]:
    plan = json.loads(await conn.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}", *args))
    top = plan[0]
    return float(top["Execution Time"]), int(top["Plan"].get("Shared Hit Blocks", 0))


async def _run(url: str, runs: int) -> None:
    conn = await connect(url)
    try:
        await conn.execute("BEGIN")
        await conn.execute(SUBSCRIPTIONS)
        print(
            f"median of {runs} EXPLAIN (ANALYZE, BUFFERS) runs each, alternating; "
            "buffers: shared blocks hit\n"
        )
        print(f"{'read':<36} {'API ms':>8} {'hand ms':>8} {'API buf':>8} {'hand buf':>9}  hand")
        for case in CASES:
            sql, args = await _sent(case.api)
            api_rows = _rows(await conn.fetch(sql, *args))
            hand_rows = _rows(await conn.fetch(case.hand, *case.args))
            # The API's pages carry the total in each row; compare what the endpoint returns.
            if api_rows != hand_rows:
                raise SystemExit(f"{case.name}: the hand-written SQL returns other rows")
            times: dict[str, list[float]] = {"api": [], "hand": []}
            buffers: dict[str, int] = {}
            for _ in range(runs):
                for who, (q, a) in (("api", (sql, args)), ("hand", (case.hand, list(case.args)))):
                    ms, hit = await _explain(conn, q, a)
                    times[who].append(ms)
                    buffers[who] = hit
            api_ms, hand_ms = statistics.median(times["api"]), statistics.median(times["hand"])
            print(
                f"{case.name:<36} {api_ms:>8.3f} {hand_ms:>8.3f} {buffers['api']:>8} "
                f"{buffers['hand']:>9}  {case.note}"
            )
    finally:
        await conn.execute("ROLLBACK")
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="just explain", description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100, help="EXPLAIN runs per statement (100)")
    args = parser.parse_args()
    settings, dev = get_settings(), get_dev_settings()
    with database_url(settings, dev) as url:
        asyncio.run(prepare(url, dev))
        asyncio.run(_run(url, args.runs))


if __name__ == "__main__":
    main()
