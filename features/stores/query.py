"""The stores as other slices read them (a slice with no route of its own): each store's
address, manager and copies, its staff (names and store only: never a username, e-mail or
password), and the catalogue's totals.

Read by the store assistant's tools. Each is one short read on a pooled connection.
"""

from sqlalchemy import text

from shared.database import Database, RowDict, Statement

# Each store: where it is, who manages it, what it holds, and how many staff work there.
_STORES = Statement(
    text("""
SELECT s.store_id, a.address, a.district, c.city, co.country, a.phone,
       m.first_name AS manager_first_name, m.last_name AS manager_last_name,
       (SELECT count(*) FROM inventory AS i WHERE i.store_id = s.store_id)::int AS copies,
       (SELECT count(DISTINCT i.film_id) FROM inventory AS i
        WHERE i.store_id = s.store_id)::int AS films,
       (SELECT count(*) FROM staff AS st WHERE st.store_id = s.store_id AND st.active)::int
           AS staff,
       (SELECT count(*) FROM customer AS cu WHERE cu.store_id = s.store_id)::int AS customers
FROM store AS s
JOIN address AS a USING (address_id)
JOIN city AS c USING (city_id)
JOIN country AS co USING (country_id)
LEFT JOIN staff AS m ON m.staff_id = s.manager_staff_id
ORDER BY s.store_id
""")
)

# Who works where: names and store, nothing a guest must not see.
_STAFF = Statement(
    text("""
SELECT st.staff_id, st.first_name, st.last_name, st.store_id, c.city,
       EXISTS (SELECT FROM store AS s WHERE s.manager_staff_id = st.staff_id) AS manager
FROM staff AS st
JOIN store AS s USING (store_id)
JOIN address AS a ON a.address_id = s.address_id
JOIN city AS c USING (city_id)
WHERE st.active
ORDER BY st.store_id, st.staff_id
""")
)

# The catalogue as a whole.
_TOTALS = Statement(
    text("""
SELECT (SELECT count(*) FROM film)::int AS films,
       (SELECT count(*) FROM actor)::int AS actors,
       (SELECT count(*) FROM category)::int AS categories,
       (SELECT count(*) FROM inventory)::int AS copies,
       (SELECT count(*) FROM store)::int AS stores,
       (SELECT count(DISTINCT language_id) FROM film)::int AS languages,
       (SELECT count(*) FROM rental WHERE return_date IS NULL)::int AS out_now,
       (SELECT count(*) FROM customer)::int AS customers,
       (SELECT round(avg(length), 2) FROM film) AS average_length,
       (SELECT round(avg(rental_rate), 2) FROM film) AS average_rental_rate,
       (SELECT round(avg(replacement_cost), 2) FROM film) AS average_replacement_cost,
       (SELECT count(*) FROM rental AS r JOIN inventory AS i USING (inventory_id)
        JOIN film AS f USING (film_id)
        WHERE r.return_date IS NULL
          AND r.rental_date + make_interval(days => f.rental_duration) < now())::int AS overdue,
       (SELECT count(DISTINCT r.customer_id) FROM rental AS r
        JOIN inventory AS i USING (inventory_id) JOIN film AS f USING (film_id)
        WHERE r.return_date IS NULL
          AND r.rental_date + make_interval(days => f.rental_duration) < now())::int
           AS overdue_customers
""")
)


async def stores(db: Database) -> list[RowDict]:
    return await db.rows(_STORES)


async def staff(db: Database) -> list[RowDict]:
    return await db.rows(_STAFF)


async def totals(db: Database) -> RowDict:
    row = await db.row(_TOTALS)
    assert row is not None  # an aggregate always gives its one row
    return row
