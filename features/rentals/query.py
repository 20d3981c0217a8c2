"""Data access for rentals. Dates come from the database clock (now()), never the app's.

Statements are built once with bound parameters: building them costs more CPU than running them.
"""

from typing import Any

from sqlalchemy import Integer, bindparam, func, select, text
from sqlmodel import col

from shared.database import Database, PagedSelect, RowDict, Rows, Statement
from shared.database.models import Film, Inventory, Rental

_RENTAL_COLUMNS = (
    col(Rental.rental_id),
    col(Rental.customer_id),
    col(Rental.inventory_id),
    col(Rental.staff_id),
    col(Rental.rental_date),
    col(Rental.return_date),
)


# A rental and everything it depends on in one statement: the checks, and the INSERT only when
# they pass. Each check comes back as a column, so a refusal says which one failed; the partial
# unique index OPEN_RENTAL_INDEX still decides between concurrent requests for one copy (both
# may pass the check; one INSERT fails).
RENT = Statement(
    text(
        """
    WITH checks AS (
        SELECT EXISTS (SELECT FROM customer WHERE customer_id = :customer_id) AS customer_exists,
               EXISTS (SELECT FROM inventory WHERE inventory_id = :inventory_id)
                   AS inventory_exists,
               EXISTS (SELECT FROM staff WHERE staff_id = :staff_id) AS staff_exists,
               EXISTS (SELECT FROM rental
                        WHERE inventory_id = :inventory_id AND return_date IS NULL) AS copy_is_out
    ), inserted AS (
        INSERT INTO rental (rental_date, inventory_id, customer_id, staff_id)
        SELECT now(), :inventory_id, :customer_id, :staff_id
          FROM checks
         WHERE customer_exists AND inventory_exists AND staff_exists AND NOT copy_is_out
        RETURNING rental_id, customer_id, inventory_id, staff_id, rental_date, return_date
    )
    SELECT checks.*, inserted.* FROM checks LEFT JOIN inserted ON true
    """
    ).bindparams(
        bindparam("customer_id", type_=Integer),
        bindparam("inventory_id", type_=Integer),
        bindparam("staff_id", type_=Integer),
    )
)

_FILM_COLUMNS = (col(Film.film_id), col(Film.title))

# Only an open rental is returned: of concurrent returns, one updates the row and the others,
# waiting for its lock, then find it returned. The film comes back with it, as a customer's list
# shows it, and `found` tells a rental already returned (409) from none at all (404), in the
# same statement.
RETURN = Statement(
    text(
        """
        WITH target AS (
            SELECT true AS found FROM rental WHERE rental_id = :rental_id
        ), returned AS (
            UPDATE rental AS r SET return_date = now()
              FROM inventory AS i JOIN film AS f USING (film_id)
             WHERE r.rental_id = :rental_id AND r.return_date IS NULL
               AND i.inventory_id = r.inventory_id
            RETURNING r.rental_id, r.customer_id, r.inventory_id, r.staff_id, r.rental_date,
                      r.return_date, f.film_id, f.title
        )
        SELECT target.found, returned.* FROM target LEFT JOIN returned ON true
        """
    ).bindparams(bindparam("rental_id", type_=Integer))
)


_ONE = Statement(
    select(*_RENTAL_COLUMNS, *_FILM_COLUMNS)
    .join(Inventory, col(Inventory.inventory_id) == col(Rental.inventory_id))
    .join(Film, col(Film.film_id) == col(Inventory.film_id))
    .where(col(Rental.rental_id) == bindparam("rental_id"))
)


def _customer_page() -> PagedSelect:
    of_customer = col(Rental.customer_id) == bindparam("customer_id")
    page = (
        select(*_RENTAL_COLUMNS, *_FILM_COLUMNS)
        .join(Inventory, col(Inventory.inventory_id) == col(Rental.inventory_id))
        .join(Film, col(Film.film_id) == col(Inventory.film_id))
        .where(of_customer)
        .order_by(col(Rental.rental_date).desc(), col(Rental.rental_id).desc())
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    count = select(func.count().label("total")).where(of_customer)
    return PagedSelect.build(
        count, page, lambda c: [c.rental_date.desc(), c.rental_id.desc()], key="rental_id"
    )


_CUSTOMER_PAGE = _customer_page()


async def rent(writes: Rows, customer_id: int, inventory_id: int, staff_id: int) -> RowDict:
    """The checks (`customer_exists`, `inventory_exists`, `staff_exists`, `copy_is_out`) and,
    when they passed, the new rental's columns (`rental_id` None otherwise)."""
    params = {"customer_id": customer_id, "inventory_id": inventory_id, "staff_id": staff_id}
    row = await writes.write(RENT, params)
    if row is None:  # the statement always returns its one row of checks
        raise RuntimeError("the rental statement returned no row")
    return row


async def mark_returned(writes: Rows, rental_id: int) -> RowDict | None:
    """Sets return_date if the rental is still open. None: no such rental; `rental_id` None:
    already returned; else the returned rental with its film."""
    return await writes.write(RETURN, {"rental_id": rental_id})


async def fetch_one(db: Database, rental_id: int) -> RowDict | None:
    """A rental with its film."""
    return await db.row(_ONE, {"rental_id": rental_id})


async def fetch_customer_page(
    db: Database, customer_id: int, *, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """A customer's rentals with their films, newest first, and the total, in one round trip."""
    params = {"customer_id": customer_id, "limit": limit, "offset": offset}
    return await _CUSTOMER_PAGE.fetch(db, params)
