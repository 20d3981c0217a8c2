"""The database as FastAPI dependencies: the `Database`, and a transaction that commits before
the response is sent (function scope: the dependency's exit runs before the first byte)."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request

from shared.database.core import Database
from shared.database.transaction import Transaction


def database_of(request: Request) -> Database:
    """The app's database (opened by its lifespan)."""
    database: Database = request.app.state.database
    return database


# Dependencies are `async def` even when they do not await: FastAPI runs a plain `def`
# dependency in a worker thread, a thread hop per request.
async def get_database(request: Request) -> Database:
    return database_of(request)


DatabaseDep = Annotated[Database, Depends(get_database)]


async def transaction(database: DatabaseDep) -> AsyncIterator[Transaction]:
    """One transaction for the request: committed when the handler returns, rolled back when
    it raises, before the response is sent."""
    async with database.transaction() as opened:
        yield opened


TransactionDep = Annotated[Transaction, Depends(transaction, scope="function")]
