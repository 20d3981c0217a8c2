"""The page shape every list endpoint returns, its query parameters, and its SQL."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Self

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Select, select, true
from sqlalchemy.sql.base import ReadOnlyColumnCollection
from sqlalchemy.sql.expression import Executable

from shared.database import Database
from shared.models import MAX_ID


class PageParams(BaseModel):
    limit: int
    offset: int


async def page_params(
    limit: Annotated[int, Query(ge=1, le=100, description="Page size (1..100).")] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_ID, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageParamsDep = Annotated[PageParams, Depends(page_params)]


class Page[T](BaseModel):
    items: list[T]
    total: int
    limit: int
    offset: int

    @classmethod
    def of(cls, total: int, items: list[dict[str, Any]], page: PageParams) -> Self:
        """Validated once, from plain dicts (`PagedSelect.fetch`'s rows); FastAPI then only
        checks the type and dumps it. Call it on a parametrised class: `Page[FilmOut].of`."""
        return cls.model_validate(
            {"items": items, "total": total, "limit": page.limit, "offset": page.offset}
        )


@dataclass(frozen=True)
class PagedSelect:
    """A page and the total of all matches in one statement, one round trip.

    Built once from a `count` (selecting a single `total`) and a `page` (ordered, limited by the
    bound parameters `limit` and `offset`). The page is a LEFT JOIN LATERAL, so an empty page
    (offset past the end) still yields one row carrying the total, with NULLs for the page's
    columns; `fetch` drops that row."""

    statement: Executable  # a built Select, or hand-written SQL of the same shape
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
        return cls(statement, key)

    async def fetch(self, db: Database, params: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
        """(total, the page's rows as dicts without the `total` column)."""
        rows = await db.read(self.statement, params)
        total: int = rows[0]["total"] if rows else 0
        items = []
        for row in rows:
            if row[self.key] is not None:
                item = dict(row)
                del item["total"]
                items.append(item)
        return total, items
