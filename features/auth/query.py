"""Data access for sign-in: a member of staff by username, and their password's new hash."""

from sqlalchemy import bindparam, select, update
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database import RowDict, execute, fetch_row
from shared.models import Staff

STAFF_BY_USERNAME = select(
    col(Staff.staff_id),
    col(Staff.store_id),
    col(Staff.first_name),
    col(Staff.last_name),
    col(Staff.active),
    col(Staff.password),
).where(col(Staff.username) == bindparam("username"))

SET_PASSWORD = (
    update(Staff)
    .where(col(Staff.username) == bindparam("account"))
    .values(password=bindparam("hash"))
    .returning(col(Staff.staff_id))
)


async def staff_by_username(session: AsyncSession, username: str) -> RowDict | None:
    return await fetch_row(session, STAFF_BY_USERNAME, {"username": username})


async def set_password(session: AsyncSession, username: str, password_hash: str) -> bool:
    """Whether such a member of staff exists (and now has this hash)."""
    result = await execute(session, SET_PASSWORD, {"account": username, "hash": password_hash})
    return result.first() is not None
