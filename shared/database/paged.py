"""A page of rows and the total of all matches, in one statement and one round trip."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, select, true
from sqlalchemy.sql.base import ReadOnlyColumnCollection

from shared.database.core import Database
from shared.database.statements import Statement


@dataclass(frozen=True)
class PagedSelect:
    """A page and the total of all matches in one statement, one round trip.

    Built once from a `count` (selecting a single `total`) and a `page` (ordered, limited by the
    bound parameters `limit` and `offset`). The page is a LEFT JOIN LATERAL, so an empty page
    (offset past the end) still yields one row carrying the total, with NULLs for the page's
    columns; `fetch` drops that row."""

    statement: Statement  # a built Select, or hand-written SQL of the same shape
    key: str  # a page column that is never NULL on a real row

    @classmethod
    def build(
        cls,
        count: Select[*tuple[Any, ...]],
        page: Select[*tuple[Any, ...]],
        order_by: Callable[[ReadOnlyColumnCollection[str, Any]], Sequence[ColumnElement[Any]]],
        key: str,
    ) -> "PagedSelect":
        """`order_by` re-applies the page's order to the outer query, where SQL would otherwise
        not guarantee it."""
        total = count.subquery("total")
        lateral = page.lateral("page")
        statement = (
            select(total.c.total, lateral)
            .select_from(total.outerjoin(lateral, true()))
            .order_by(*order_by(lateral.c))
        )
        return cls(Statement(statement), key)

    async def fetch(self, db: Database, params: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
        """(total, the page's rows as dicts without the `total` column)."""
        rows = await db.rows(self.statement, params)
        total: int = rows[0]["total"] if rows else 0
        items = []
        for row in rows:
            if row[self.key] is not None:
                del row["total"]
                items.append(row)
        return total, items
