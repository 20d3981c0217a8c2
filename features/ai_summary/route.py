from typing import Annotated

from fastapi import APIRouter, Depends

from features.ai_summary import handler
from features.ai_summary.dtos import FilmSummary, SummaryRequest
from shared.ai.kernel import AIRuntime, get_ai
from shared.database import DatabaseDep
from shared.http.errors import (
    UNAVAILABLE_RESPONSE,
    BadGatewayError,
    NotFoundError,
)

router = APIRouter(prefix="/ai", tags=["ai"])


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
) -> FilmSummary:
    return await handler.summarize(ai, db, body.film_id)
