"""Data access for the store assistant's staff-only tool: a customer and their recent rentals."""

import asyncpg
from sqlalchemy import Integer, bindparam, text

from shared.database import Database

RENTALS_LIMIT = 5

CUSTOMER = text("""
SELECT customer_id, first_name, last_name FROM customer WHERE customer_id = :customer_id
""").bindparams(bindparam("customer_id", type_=Integer))

RECENT_RENTALS = text("""
SELECT r.rental_id, r.rental_date, r.return_date, f.film_id, f.title,
       f.rating::text AS rating, f.rental_rate
FROM rental AS r
JOIN inventory AS i USING (inventory_id)
JOIN film AS f USING (film_id)
WHERE r.customer_id = :customer_id
ORDER BY r.rental_date DESC, r.rental_id DESC
LIMIT :limit
""").bindparams(bindparam("customer_id", type_=Integer), bindparam("limit", type_=Integer))


async def customer(db: Database, customer_id: int) -> asyncpg.Record | None:
    return await db.read_one(CUSTOMER, {"customer_id": customer_id})


async def recent_rentals(db: Database, customer_id: int) -> list[asyncpg.Record]:
    return await db.read(RECENT_RENTALS, {"customer_id": customer_id, "limit": RENTALS_LIMIT})
