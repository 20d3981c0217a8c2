from fastapi import APIRouter, Request, Response

from features.categories import query
from features.categories.dtos import CategoryOut
from shared.database import DatabaseDep
from shared.http.conditional import CATEGORIES, NOT_MODIFIED, conditional_json
from shared.http.errors import UNAVAILABLE_RESPONSE

router = APIRouter(tags=["films"], responses=UNAVAILABLE_RESPONSE)


@router.get(
    "/categories",
    response_model=list[CategoryOut],
    summary="The film categories, by name, with their film counts",
    responses=NOT_MODIFIED,
)
async def list_categories(request: Request, db: DatabaseDep) -> Response:
    categories = [CategoryOut.model_validate(row) for row in await query.fetch_all(db)]
    return conditional_json(request, categories, CATEGORIES)
