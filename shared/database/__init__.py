"""The database as requests see it. Features import from here; each module does one job:

- `core`: `Database`, the one way to run a statement (a read, a read of one row, a
  one-statement write, a transaction); `open_database`.
- `transaction`: `Transaction`, the same calls inside one transaction; `Rows`, either.
- `statements`: `Statement`, a statement built and compiled once.
- `errors`: the database's errors as ours (503, 409, or a bug), translated in one place.
- `connections`: how connections are made (directly, or behind a pooler).
- `dependencies`: `DatabaseDep`, and `TransactionDep`, committed before the response.
- `paged`: a page and its total in one statement.
- `schema`: the schema revision the code needs against the database's (production's start-up
  check; main.py imports it, features do not).
"""

from shared.database.core import Database, StatementTimeoutNotSetError, open_database
from shared.database.dependencies import DatabaseDep, TransactionDep, database_of, get_database
from shared.database.errors import DatabaseUnavailableError, WriteConflictError
from shared.database.paged import PagedSelect
from shared.database.statements import Statement
from shared.database.transaction import RowDict, Rows, Transaction

__all__ = [
    "Database",
    "DatabaseDep",
    "DatabaseUnavailableError",
    "PagedSelect",
    "RowDict",
    "Rows",
    "Statement",
    "StatementTimeoutNotSetError",
    "Transaction",
    "TransactionDep",
    "WriteConflictError",
    "database_of",
    "get_database",
    "open_database",
]
