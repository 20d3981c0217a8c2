"""Statements compiled once: a SQLAlchemy statement, built once by a query module, is compiled
to the driver's SQL on first use and kept, so a read costs no compilation."""

from typing import Any

from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.sql.expression import Executable


class CompiledStatement:
    """A statement compiled once to the driver's SQL, with its parameters' order."""

    def __init__(self, statement: Executable) -> None:
        compiled = statement.compile(dialect=_DIALECT)  # type: ignore[attr-defined]
        self.sql: str = compiled.string
        self._names: list[str] = list(compiled.positiontup or [])
        self._defaults: dict[str, Any] = dict(compiled.params)  # literals such as LIMIT 1

    def args(self, params: dict[str, Any] | None) -> list[Any]:
        values = {**self._defaults, **(params or {})}
        return [values[name] for name in self._names]


_DIALECT = PGDialect_asyncpg(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]
_COMPILED: dict[Executable, CompiledStatement] = {}


def compiled_statement(statement: Executable) -> CompiledStatement:
    compiled = _COMPILED.get(statement)
    if compiled is None:
        compiled = _COMPILED[statement] = CompiledStatement(statement)
    return compiled
