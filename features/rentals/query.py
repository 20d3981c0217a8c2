"""Data access for rentals. Dates come from the database clock (now()), never the app's."""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Row, exists, func, insert, select, true, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database import execute
from shared.models import Customer, Inventory, Rental, Staff

_RENTAL_COLUMNS = (
    col(Rental.rental_id),
    col(Rental.customer_id),
    col(Rental.inventory_id),
    col(Rental.staff_id),
    col(Rental.rental_date),
    col(Rental.return_date),
)


@dataclass(frozen=True)
class RentalChecks:
    customer_exists: bool
    inventory_exists: bool
    staff_exists: bool
    copy_is_out: bool


def _customer_exists(customer_id: int) -> ColumnElement[bool]:
    return exists().where(col(Customer.customer_id) == customer_id)


async def fetch_checks(
    session: AsyncSession, customer_id: int, inventory_id: int, staff_id: int
) -> RentalChecks:
    """Everything a new rental depends on, in one round trip."""
    stmt = select(
        _customer_exists(customer_id),
        exists().where(col(Inventory.inventory_id) == inventory_id),
        exists().where(col(Staff.staff_id) == staff_id),
        exists().where(col(Rental.inventory_id) == inventory_id, col(Rental.return_date).is_(None)),
    )
    row = (await execute(session, stmt)).one()
    return RentalChecks(*(bool(flag) for flag in row))


async def customer_exists(session: AsyncSession, customer_id: int) -> bool:
    return bool((await execute(session, select(_customer_exists(customer_id)))).scalar_one())


async def insert_rental(
    session: AsyncSession, customer_id: int, inventory_id: int, staff_id: int
) -> Row[Any]:
    stmt = (
        insert(Rental)
        .values(
            rental_date=func.now(),
            customer_id=customer_id,
            inventory_id=inventory_id,
            staff_id=staff_id,
        )
        .returning(*_RENTAL_COLUMNS)
    )
    return (await execute(session, stmt)).one()


async def mark_returned(session: AsyncSession, rental_id: int) -> Row[Any] | None:
    """Set return_date if the rental is still open; None when it is not (missing or returned)."""
    stmt = (
        update(Rental)
        .where(col(Rental.rental_id) == rental_id, col(Rental.return_date).is_(None))
        .values(return_date=func.now())
        .returning(*_RENTAL_COLUMNS)
    )
    return (await execute(session, stmt)).one_or_none()


async def fetch_one(session: AsyncSession, rental_id: int) -> Row[Any] | None:
    stmt = select(*_RENTAL_COLUMNS).where(col(Rental.rental_id) == rental_id)
    return (await execute(session, stmt)).one_or_none()


async def fetch_customer_page(
    session: AsyncSession, customer_id: int, *, limit: int, offset: int
) -> tuple[int, Sequence[Row[Any]]]:
    """A customer's rentals, newest first, with the total, in one round trip."""
    total = (
        select(func.count().label("total"))
        .where(col(Rental.customer_id) == customer_id)
        .subquery("total")
    )
    page = (
        select(*_RENTAL_COLUMNS)
        .where(col(Rental.customer_id) == customer_id)
        .order_by(col(Rental.rental_date).desc(), col(Rental.rental_id).desc())
        .limit(limit)
        .offset(offset)
        .lateral("page")
    )
    stmt = (
        select(total.c.total, page)
        .select_from(total.outerjoin(page, true()))
        .order_by(page.c.rental_date.desc(), page.c.rental_id.desc())
    )
    rows = (await execute(session, stmt)).all()
    count = rows[0].total if rows else 0
    return count, [row for row in rows if row.rental_id is not None]
