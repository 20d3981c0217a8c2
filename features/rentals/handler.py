"""Rental rules. Race safety: the checks give clear errors in the common case; the partial unique
index `OPEN_RENTAL_INDEX` decides between concurrent requests for the same copy."""

import structlog

from features.customers import query as customers
from features.rentals import query
from features.rentals.dtos import RentalOut, RentalWithFilmOut
from shared.database import Database, Rows, WriteConflictError
from shared.database.models import OPEN_RENTAL_INDEX, PAGILA_RENTAL_UNIQUE_INDEX
from shared.http.errors import ConflictError, InvalidFieldError, NotFoundError, Problem
from shared.http.pagination import Page, PageParams
from shared.observability.request_context import note_done
from shared.observability.telemetry import conflicts, rentals_created, rentals_returned

log = structlog.get_logger(__name__)

_CustomerRentalPage = Page[RentalWithFilmOut]


# The kinds of refusal a client branches on (the `type` of the problem details).
COPY_IS_OUT = Problem("copy-is-out", 409, "The copy is already rented out")
ALREADY_RETURNED = Problem("already-returned", 409, "The rental was already returned")


def _copy_is_out(inventory_id: int) -> ConflictError:
    conflicts.add(1, {"reason": COPY_IS_OUT.slug})
    return ConflictError(
        f"Inventory item {inventory_id} is already rented out and not returned.",
        problem=COPY_IS_OUT,
    )


async def rent(writes: Rows, customer_id: int, inventory_id: int, staff_id: int) -> RentalOut:
    try:
        row = await query.rent(writes, customer_id, inventory_id, staff_id)
    except WriteConflictError as exc:
        # Lost a race: another request rented this copy after our check passed, before our
        # insert. (Pagila's own unique index can fire too, for two requests of one customer in
        # the same instant: the same conflict.)
        if exc.constraint in {OPEN_RENTAL_INDEX, PAGILA_RENTAL_UNIQUE_INDEX}:
            log.info("rental.conflict", inventory_id=inventory_id)
            raise _copy_is_out(inventory_id) from None
        raise
    if not row["customer_exists"]:
        raise NotFoundError(f"Customer {customer_id} not found.")
    if not row["inventory_exists"]:
        raise InvalidFieldError("inventory_id", f"Inventory item {inventory_id} does not exist.")
    if not row["staff_exists"]:
        raise InvalidFieldError("staff_id", f"Staff member {staff_id} does not exist.")
    if row["copy_is_out"]:
        raise _copy_is_out(inventory_id)
    rental = RentalOut.model_validate(row)
    rentals_created.add(1)
    # On the request's access line: the rental, its copy and its clerk (the line's staff_id is
    # the caller's, None with the service token).
    note_done(
        done="rental.created",
        rental_id=rental.rental_id,
        inventory_id=rental.inventory_id,
        rental_staff_id=rental.staff_id,
    )
    return rental


async def return_rental(writes: Rows, rental_id: int) -> RentalWithFilmOut:
    row = await query.mark_returned(writes, rental_id)
    if row is None:
        raise NotFoundError(f"Rental {rental_id} not found.")
    if row["rental_id"] is None:
        conflicts.add(1, {"reason": ALREADY_RETURNED.slug})
        raise ConflictError(f"Rental {rental_id} was already returned.", problem=ALREADY_RETURNED)
    rentals_returned.add(1)
    note_done(done="rental.returned", rental_id=rental_id)  # by whom: the line's staff_id
    return RentalWithFilmOut.model_validate(row)


async def get_rental(db: Database, rental_id: int) -> RentalWithFilmOut:
    row = await query.fetch_one(db, rental_id)
    if row is None:
        raise NotFoundError(f"Rental {rental_id} not found.")
    return RentalWithFilmOut.model_validate(row)


async def list_customer_rentals(
    db: Database, customer_id: int, page: PageParams
) -> Page[RentalWithFilmOut]:
    total, items = await query.fetch_customer_page(
        db, customer_id, limit=page.limit, offset=page.offset
    )
    if total == 0 and not await customers.customer_exists(db, customer_id):
        raise NotFoundError(f"Customer {customer_id} not found.")
    return _CustomerRentalPage.of(total, items, page)
