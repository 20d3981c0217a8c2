"""`Transaction`: statements inside one transaction of a SQLModel session (`Database.transaction`
opens, commits and rolls it back). The same calls as the `Database`'s, so a query function
written for either takes a `Rows`; each sees what the transaction wrote."""

from typing import Any, Protocol

from sqlalchemy import String, bindparam, text
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database.errors import translated
from shared.database.statements import Statement

RowDict = dict[str, Any]


class Rows(Protocol):
    """Where a query function's statements run: the `Database` (reads on the read pool, a write
    in autocommit) or a `Transaction`."""

    async def rows(
        self, statement: Statement, params: dict[str, Any] | None = None
    ) -> list[RowDict]: ...

    async def row(
        self, statement: Statement, params: dict[str, Any] | None = None
    ) -> RowDict | None: ...

    async def write(
        self, statement: Statement, params: dict[str, Any] | None = None
    ) -> RowDict | None: ...


_TAKE_TURNS = Statement(
    text("SELECT pg_advisory_xact_lock(hashtext(:name))").bindparams(
        bindparam("name", type_=String)
    )
)


class Transaction:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session  # the SQLModel session, for ORM work

    async def rows(
        self, statement: Statement, params: dict[str, Any] | None = None
    ) -> list[RowDict]:
        with translated():
            # The session's connection: sqlmodel's `exec()` is typed for entity and
            # single-column selects only, and its `execute()` is deprecated.
            connection = await self.session.connection()
            result = await connection.execute(statement.clause, params)
        return [dict(row) for row in result.mappings()] if result.returns_rows else []

    async def row(
        self, statement: Statement, params: dict[str, Any] | None = None
    ) -> RowDict | None:
        rows = await self.rows(statement, params)
        return rows[0] if rows else None

    async def write(
        self, statement: Statement, params: dict[str, Any] | None = None
    ) -> RowDict | None:
        """A statement that writes, in the transaction; its first row (RETURNING), or None."""
        return await self.row(statement, params)

    async def commit(self) -> None:
        """Commits what was done so far (kept even if the request then fails); later
        statements run in a new transaction."""
        with translated():
            await self.session.commit()

    async def take_turns(self, name: str) -> None:
        """Waits for, then holds until the transaction ends, the advisory lock `name`:
        transactions that count and then write one tally (a client's sign-ins, its AI calls)
        take turns, each seeing what the one before committed, so a burst cannot slip past a
        limit."""
        await self.rows(_TAKE_TURNS, {"name": name})
