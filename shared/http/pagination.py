"""The page every list endpoint returns, and the query parameters that choose it."""

from typing import Annotated, Any, Self

from fastapi import Depends, Query
from pydantic import BaseModel

from shared.database.models import MAX_ID


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
