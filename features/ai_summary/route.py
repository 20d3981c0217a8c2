from typing import Annotated

from fastapi import APIRouter, Depends

from features.ai_summary import handler
from features.ai_summary.dtos import FilmSummary, SummaryRequest
from shared.ai.kernel import AIRuntime, get_ai
from shared.ai.quota import AI_QUOTA_RESPONSE, AIQuota
from shared.database import DatabaseDep
from shared.http.errors import (
    UNAVAILABLE_RESPONSE,
    BadGatewayError,
    NotFoundError,
)
from shared.settings import SettingsDep

# Every AI request is charged to its client's quota first (429 past it; shared/ai/quota.py).
router = APIRouter(prefix="/ai", tags=["ai"], dependencies=[AIQuota], responses=AI_QUOTA_RESPONSE)


@router.post(
    "/summary",
    summary="A film's summary as strict JSON (title, rating, recommended, summary)",
    responses={
        **NotFoundError.response_doc("No such film"),
        **BadGatewayError.response_doc("The model's output did not fit the schema, twice"),
        **UNAVAILABLE_RESPONSE,
    },
)
async def film_summary(
    body: SummaryRequest,
    ai: Annotated[AIRuntime, Depends(get_ai)],
    db: DatabaseDep,
    settings: SettingsDep,
) -> FilmSummary:
    # The summary is kept (AI_SUMMARY_CACHE) by the handler itself, after the model has
    # answered: a write session from a dependency would hold a write turn while it thinks.
    return await handler.summarize(ai, db, body.film_id, cache=settings.ai_summary_cache)
