"""The page shape every list endpoint returns, its query parameters, and its SQL."""

from collections.abc import Callable, Sequence
from typing import Annotated, Any

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import ColumnElement, Row, Select, select, true
from sqlalchemy.sql.base import ReadOnlyColumnCollection


class PageParams(BaseModel):
    limit: int
    offset: int


def page_params(
    limit: Annotated[int, Query(ge=1, le=100, description="Page size (1..100).")] = 20,
    offset: Annotated[int, Query(ge=0, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


PageParamsDep = Annotated[PageParams, Depends(page_params)]


class Page[T](BaseModel):
    items: list[T]
    total: int
    limit: int
    offset: int


def page_with_total(
    count: Select[*tuple[Any, ...]],
    page: Select[*tuple[Any, ...]],
    order_by: Callable[[ReadOnlyColumnCollection[str, Any]], Sequence[ColumnElement[Any]]],
) -> Select[*tuple[Any, ...]]:
    """One statement, one round trip, for a page and the total of all matches.

    `count` selects a single `total`; `page` selects one page (ordered, limited). The page is a
    LEFT JOIN LATERAL, so an empty page (offset past the end) still yields one row carrying the
    total, with NULLs for the page columns: `split_page` sorts that out. `order_by` re-applies
    the page's order to the outer query, where SQL would otherwise not guarantee it."""
    total = count.subquery("total")
    lateral = page.lateral("page")
    return (
        select(total.c.total, lateral)
        .select_from(total.outerjoin(lateral, true()))
        .order_by(*order_by(lateral.c))
    )


def split_page(rows: Sequence[Row[Any]], key: str) -> tuple[int, list[Row[Any]]]:
    """(total, the page's rows) from `page_with_total`'s rows; `key` is a never-null column."""
    total = rows[0].total if rows else 0
    return total, [row for row in rows if getattr(row, key) is not None]
