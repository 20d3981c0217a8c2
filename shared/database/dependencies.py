"""The database as FastAPI dependencies: the `Database` for reads, and a write session whose
commit lands before the response is sent (function scope: the dependency's exit runs before the
first response byte)."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database.core import Database
from shared.database.outage import unavailable_as_app_error


# Dependencies are `async def` even when they do not await: FastAPI runs a plain `def`
# dependency in a worker thread, a thread hop per request (the same in settings, pagination,
# ai_kernel).
async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


DatabaseDep = Annotated[Database, Depends(get_database)]


async def write_session(database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    """One session, one transaction: committed when the handler returns, rolled back when it
    raises. Used with function scope, so the commit happens before the response is sent."""
    with unavailable_as_app_error():
        async with database.session() as session:
            try:
                yield session
                await session.commit()
            except BaseException:
                await session.rollback()
                raise


WriteSessionDep = Annotated[AsyncSession, Depends(write_session, scope="function")]


async def one_statement_session(database: DatabaseDep) -> AsyncIterator[AsyncSession]:
    """For a write that is a single statement (its checks inside it): the session's connection
    in autocommit, so the statement is its own transaction, committed when it returns (before
    the response), with no BEGIN and COMMIT round trips. Reads after it (to explain a refusal)
    are each their own snapshot. Under a test's bound connection, a savepoint as usual."""
    with unavailable_as_app_error():
        async with database.session() as session:
            if database.bound:
                yield session
                await session.commit()
                return
            await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            yield session


OneStatementSessionDep = Annotated[AsyncSession, Depends(one_statement_session, scope="function")]
