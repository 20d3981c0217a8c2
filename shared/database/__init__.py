"""The database as requests see it. Features import from here; each module does one job:

- `connections`: how connections are made (the write engine, the read pool, behind a pooler).
- `statements`: statements compiled once to the driver's SQL.
- `core`: `Database`, reads on the read pool and write sessions on the engine; `open_database`.
- `dependencies`: `DatabaseDep`, and the write sessions that commit before the response.
- `rows`: rows as plain dicts, from a read or inside a write.
- `paged`: a page and its total in one statement.
- `outage`: which errors mean "the database is unavailable" (503), not a bug.
- `schema`: the schema revision the code needs against the database's (production's start-up
  check; main.py imports it, features do not).
"""

from shared.database.connections import asyncpg_connect_args
from shared.database.core import Database, StatementTimeoutNotSetError, open_database
from shared.database.dependencies import (
    DatabaseDep,
    OneStatementSessionDep,
    WriteSessionDep,
    get_database,
)
from shared.database.outage import (
    DatabaseUnavailableError,
    driver_error,
    is_unavailable,
    violated_constraint,
)
from shared.database.paged import PagedSelect
from shared.database.rows import RowDict, execute, fetch_row, fetch_rows, take_turns
from shared.database.statements import compiled_statement

__all__ = [
    "Database",
    "DatabaseDep",
    "DatabaseUnavailableError",
    "OneStatementSessionDep",
    "PagedSelect",
    "RowDict",
    "StatementTimeoutNotSetError",
    "WriteSessionDep",
    "asyncpg_connect_args",
    "compiled_statement",
    "driver_error",
    "execute",
    "fetch_row",
    "fetch_rows",
    "get_database",
    "is_unavailable",
    "open_database",
    "take_turns",
    "violated_constraint",
]
