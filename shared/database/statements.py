"""`Statement`: a SQLAlchemy statement that a query module builds once, at import, compiled then
to the driver's SQL. The driver's pools run `sql` with no per-call compilation (SQLAlchemy's own
cache still derives a cache key per execution, which costs more CPU than a small query does);
a transaction's session runs `clause`, the statement itself."""

from typing import Any

from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.sql.expression import Executable

_DIALECT = PGDialect_asyncpg(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]


class Statement:
    """One statement, with its SQL for the driver and its parameters' order."""

    __slots__ = ("_defaults", "_names", "clause", "sql")

    def __init__(self, clause: Executable) -> None:
        compiled = clause.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
        self.clause = clause
        self.sql: str = compiled.string
        self._names: list[str] = list(compiled.positiontup or [])
        self._defaults: dict[str, Any] = dict(compiled.params)  # literals such as LIMIT 1

    def args(self, params: dict[str, Any] | None) -> list[Any]:
        """The driver's positional arguments for these named parameters."""
        if not self._names:
            return []
        values = {**self._defaults, **params} if params else self._defaults
        return [values[name] for name in self._names]
