from typing import Annotated

from fastapi import APIRouter, Depends

from features.ai_summary import handler
from features.ai_summary.dtos import FilmSummary, SummaryRequest
from shared.ai_kernel import AIRuntime, get_ai
from shared.database import SessionmakerDep

router = APIRouter(prefix="/ai", tags=["ai"])


@router.post(
    "/summary",
    summary="A film's summary as strict JSON (title, rating, recommended, summary)",
    responses={
        404: {"description": "No such film"},
        502: {"description": "The model's output did not fit the schema, twice"},
        503: {"description": "The model is unreachable or failed"},
    },
)
async def film_summary(
    body: SummaryRequest,
    ai: Annotated[AIRuntime, Depends(get_ai)],
    sessionmaker: SessionmakerDep,
) -> FilmSummary:
    return await handler.summarize(ai, sessionmaker, body.film_id)
