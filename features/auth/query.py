"""Data access for sign-in: a member of staff by username, and their password's new hash."""

from sqlalchemy import bindparam, select, update
from sqlmodel import col

from shared.database import RowDict, Statement, Transaction
from shared.database.models import Staff

STAFF_BY_USERNAME = Statement(
    select(
        col(Staff.staff_id),
        col(Staff.store_id),
        col(Staff.first_name),
        col(Staff.last_name),
        col(Staff.active),
        col(Staff.password),
    ).where(col(Staff.username) == bindparam("username"))
)

SET_PASSWORD = Statement(
    update(Staff)
    .where(col(Staff.username) == bindparam("account"))
    .values(password=bindparam("hash"))
    .returning(col(Staff.staff_id))
)


async def staff_by_username(transaction: Transaction, username: str) -> RowDict | None:
    return await transaction.row(STAFF_BY_USERNAME, {"username": username})


async def set_password(transaction: Transaction, username: str, password_hash: str) -> bool:
    """Whether such a member of staff exists (and now has this hash)."""
    changed = await transaction.write(SET_PASSWORD, {"account": username, "hash": password_hash})
    return changed is not None
