import pytest
from fastapi import FastAPI
from sqlalchemy import text

from shared.database import Database, is_unavailable


async def test_statement_timeout_counts_as_database_unavailable(app: FastAPI) -> None:
    """SQLAlchemy wraps asyncpg's QueryCanceledError in a generic DBAPIError; the 503 mapping
    must look through the wrapper to the driver's error."""
    database: Database = app.state.database
    async with database.engine.connect() as conn:
        await conn.execute(text("SET statement_timeout = 50"))
        with pytest.raises(Exception) as caught:  # noqa: PT011 - the wrapper type is the point
            await conn.execute(text("SELECT pg_sleep(2)"))
        await conn.rollback()

    assert is_unavailable(caught.value)


async def test_a_bad_query_is_not_database_unavailable(app: FastAPI) -> None:
    database: Database = app.state.database
    async with database.engine.connect() as conn:
        with pytest.raises(Exception) as caught:  # noqa: PT011
            await conn.execute(text("SELECT * FROM no_such_table"))

    assert not is_unavailable(caught.value)
