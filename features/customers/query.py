"""Customers as other slices read them (a slice with no route): does one exist.

Rentals and subscriptions both answer "a customer's page", 404 when there is no such customer.
"""

from sqlalchemy import bindparam, exists, select
from sqlmodel import col

from shared.database import Database
from shared.models import Customer

_EXISTS_ROW = select(
    exists().where(col(Customer.customer_id) == bindparam("customer_id")).label("found")
)


async def customer_exists(db: Database, customer_id: int) -> bool:
    row = await db.read_one(_EXISTS_ROW, {"customer_id": customer_id})
    return bool(row and row["found"])
