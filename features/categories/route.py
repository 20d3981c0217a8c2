from fastapi import APIRouter

from features.categories import query
from features.categories.dtos import CategoryOut
from shared.database import DatabaseDep
from shared.http.errors import UNAVAILABLE_RESPONSE

router = APIRouter(tags=["films"], responses=UNAVAILABLE_RESPONSE)


@router.get("/categories", summary="The film categories, by name, with their film counts")
async def list_categories(db: DatabaseDep) -> list[CategoryOut]:
    return [CategoryOut.model_validate(row) for row in await query.fetch_all(db)]
