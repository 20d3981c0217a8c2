"""The database as FastAPI dependencies: the `Database` for reads, and a write session whose
commit lands before the response is sent (function scope: the dependency's exit runs before the
first response byte)."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database.core import Database
from shared.database.outage import unavailable_as_app_error
from shared.database.rows import DRIVER_CONNECTION


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
        async with database.write_turn(), database.session() as session:
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
    the response), with no BEGIN and COMMIT round trips. Its statements run on the driver
    connection directly (`fetch_row`). Reads after it (to explain a refusal) are each their
    own snapshot. Under a test's bound connection, a savepoint in the test's transaction."""
    with unavailable_as_app_error():
        async with database.write_turn():
            session = database.session()
            try:
                if database.bound:
                    connection = await session.connection()  # SAVEPOINT
                else:
                    connection = await session.connection(
                        execution_options={"isolation_level": "AUTOCOMMIT"}
                    )
                # Checked out above, so a plain attribute (get_raw_connection() is one more trip
                # through SQLAlchemy's greenlet).
                pooled = connection.sync_connection.connection  # type: ignore[union-attr]
                session.info[DRIVER_CONNECTION] = pooled.driver_connection
                yield session
                if database.bound:
                    await session.commit()  # RELEASE SAVEPOINT
            finally:
                # Not `async with session`: its exit closes in a new task under asyncio.shield (a
                # task per request); FastAPI already shields a dependency's exit from cancellation.
                await session.close()


OneStatementSessionDep = Annotated[AsyncSession, Depends(one_statement_session, scope="function")]
