"""Customers as other slices read them (a slice with no route of its own).

Rentals and subscriptions ask whether a customer exists (a customer's page is a 404 when there
is no such customer); the store assistant's staff-only tool reads a customer's card (name,
contact, what they have paid) and their rentals.
"""

from sqlalchemy import Boolean, Integer, String, bindparam, exists, select, text
from sqlmodel import col

from shared.database import Database, RowDict, Statement
from shared.database.models import Customer

# How many of a customer's rentals the assistant reads ("most recent").
RECENT_RENTALS_LIMIT = 5

_EXISTS_ROW = Statement(
    select(exists().where(col(Customer.customer_id) == bindparam("customer_id")).label("found"))
)

# A customer's card, for staff: name, contact, and what they have paid.
_CARD = Statement(
    text("""
SELECT c.customer_id, c.first_name, c.last_name, c.email, a.address, a.district, ci.city,
       a.phone,
       (SELECT coalesce(sum(p.amount), 0) FROM payment AS p
        WHERE p.customer_id = c.customer_id) AS paid,
       (SELECT count(*) FROM payment AS p WHERE p.customer_id = c.customer_id)::int AS payments,
       (SELECT count(*) FROM rental AS r WHERE r.customer_id = c.customer_id)::int AS rented,
       c.store_id, sc.city AS store_city, sco.country AS store_country
FROM customer AS c
JOIN address AS a USING (address_id)
JOIN city AS ci USING (city_id)
JOIN store AS s ON s.store_id = c.store_id
JOIN address AS sa ON sa.address_id = s.address_id
JOIN city AS sc ON sc.city_id = sa.city_id
JOIN country AS sco ON sco.country_id = sc.country_id
WHERE c.customer_id = :customer_id
""").bindparams(bindparam("customer_id", type_=Integer))
)

# A customer's rentals with their films, newest first: all, or those not returned (out now).
_RENTALS = Statement(
    text("""
SELECT r.rental_id, r.rental_date, r.return_date, f.film_id, f.title,
       f.rating::text AS rating, f.rental_rate
FROM rental AS r
JOIN inventory AS i USING (inventory_id)
JOIN film AS f USING (film_id)
WHERE r.customer_id = :customer_id AND (NOT :out_only OR r.return_date IS NULL)
ORDER BY r.rental_date DESC, r.rental_id DESC
LIMIT :limit
""").bindparams(
        bindparam("customer_id", type_=Integer),
        bindparam("out_only", type_=Boolean),
        bindparam("limit", type_=Integer),
    )
)
# Copies one customer has out at once: more than any customer keeps.
OUT_NOW_LIMIT = 50


async def customer_exists(db: Database, customer_id: int) -> bool:
    row = await db.row(_EXISTS_ROW, {"customer_id": customer_id})
    return bool(row and row["found"])


async def customer_card(db: Database, customer_id: int) -> RowDict | None:
    """Name, e-mail, address, city, phone, the total paid, how many rentals, their store; None
    when there is no such customer."""
    return await db.row(_CARD, {"customer_id": customer_id})


async def recent_rentals(db: Database, customer_id: int) -> list[RowDict]:
    """The customer's last `RECENT_RENTALS_LIMIT` rentals with their films, newest first."""
    params = {"customer_id": customer_id, "out_only": False, "limit": RECENT_RENTALS_LIMIT}
    return await db.rows(_RENTALS, params)


async def out_now(db: Database, customer_id: int) -> list[RowDict]:
    """The customer's rentals not yet returned, newest first (at most OUT_NOW_LIMIT)."""
    params = {"customer_id": customer_id, "out_only": True, "limit": OUT_NOW_LIMIT}
    return await db.rows(_RENTALS, params)


# Who has a film's copies: those out now first, then the latest rentals (staff only).
_FILM_RENTERS = Statement(
    text("""
SELECT c.customer_id, c.first_name, c.last_name, c.email, f.title, i.store_id,
       r.rental_date, r.return_date
FROM film AS f
JOIN inventory AS i USING (film_id)
JOIN rental AS r USING (inventory_id)
JOIN customer AS c ON c.customer_id = r.customer_id
WHERE lower(f.title) = lower(:title)
ORDER BY r.return_date IS NULL DESC, r.rental_date DESC, r.rental_id DESC
LIMIT :limit
""").bindparams(bindparam("title", type_=String), bindparam("limit", type_=Integer))
)


async def film_renters(db: Database, title: str) -> list[RowDict]:
    """Who has the film out now, then who rented it last (at most RECENT_RENTALS_LIMIT)."""
    return await db.rows(_FILM_RENTERS, {"title": title, "limit": RECENT_RENTALS_LIMIT})


# The customers who rented the most, or paid the most: each with both counts. Ties at the cut
# are broken by id (a list, not a ranking).
_TOP_CUSTOMERS = Statement(
    text("""
WITH rented AS (SELECT customer_id, count(*)::int AS rented FROM rental GROUP BY customer_id),
paid AS (SELECT customer_id, sum(amount) AS paid FROM payment GROUP BY customer_id)
SELECT c.customer_id, c.first_name, c.last_name,
       coalesce(rented.rented, 0) AS rented, coalesce(paid.paid, 0) AS paid
FROM customer AS c
LEFT JOIN rented USING (customer_id)
LEFT JOIN paid USING (customer_id)
ORDER BY CASE WHEN :by = 'paid' THEN coalesce(paid.paid, 0) END DESC,
         coalesce(rented.rented, 0) DESC, c.customer_id
LIMIT :limit
""").bindparams(bindparam("by", type_=String), bindparam("limit", type_=Integer))
)


async def top_customers(db: Database, by: str, limit: int) -> list[RowDict]:
    """`by`: "rentals" or "paid"."""
    return await db.rows(_TOP_CUSTOMERS, {"by": by, "limit": limit})
