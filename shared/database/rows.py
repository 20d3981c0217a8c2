"""Rows as the query functions return them: plain dicts, whichever pool or session they came
from, so that handlers build DTOs one way (`Model.model_validate(row)`)."""

from typing import Any

from sqlalchemy.engine import Result
from sqlalchemy.sql.expression import Executable
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database.core import Database


async def execute(
    session: AsyncSession, statement: Executable, params: dict[str, Any] | None = None
) -> Result[Any]:
    """A Core statement (multi-column select, INSERT/UPDATE ... RETURNING) in the session's
    transaction. sqlmodel's `exec()` is typed only for entity and single-column selects."""
    connection = await session.connection()
    return await connection.execute(statement, params)


RowDict = dict[str, Any]


async def fetch_row(
    source: Database | AsyncSession, statement: Executable, params: dict[str, Any] | None = None
) -> RowDict | None:
    """The first row of `statement`, as a dict, or None. With the Database: a read on the read
    pool (its own snapshot). With a write's session: any statement (an UPDATE ... RETURNING
    too), inside its transaction, seeing what it wrote."""
    if isinstance(source, Database):
        record = await source.read_one(statement, params)
        return dict(record) if record is not None else None
    row = (await execute(source, statement, params)).first()
    return dict(row._mapping) if row is not None else None


async def fetch_rows(
    db: Database, statement: Executable, params: dict[str, Any] | None = None
) -> list[RowDict]:
    """Every row of a read, as dicts."""
    return [dict(record) for record in await db.read(statement, params)]
