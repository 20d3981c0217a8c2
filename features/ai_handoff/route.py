from typing import Annotated

from fastapi import APIRouter, Depends

from features.ai_handoff import handler
from features.ai_handoff.dtos import HandoffAnswer, HandoffRequest
from shared.ai_kernel import AIRuntime, AISlotDep, get_ai
from shared.auth import IsAdminDep
from shared.database import DatabaseDep
from shared.errors import (
    UNAUTHORIZED_RESPONSE,
    UNAVAILABLE_RESPONSE,
    BadGatewayError,
    GatewayTimeoutError,
)
from shared.settings import SettingsDep

router = APIRouter(prefix="/ai", tags=["ai"], dependencies=[AISlotDep])


@router.post(
    "/handoff",
    summary="Ask the store's assistant: store questions are answered from the database, "
    "others by the general agent",
    description="A SearchAgent with database tools (film search, availability, streaming, "
    "and, with the admin bearer token, a customer's rentals) answers store questions and "
    "hands anything else to a GeneralAgent (Semantic Kernel's HandoffOrchestration). Without "
    "a tool-calling model, a deterministic rules router plays the SearchAgent's model.",
    responses={
        **UNAUTHORIZED_RESPONSE,
        **BadGatewayError.response_doc("The model returned an empty answer"),
        **UNAVAILABLE_RESPONSE,
        **GatewayTimeoutError.response_doc("No answer within HANDOFF_TIMEOUT_S"),
    },
)
async def handoff(
    body: HandoffRequest,
    ai: Annotated[AIRuntime, Depends(get_ai)],
    db: DatabaseDep,
    staff: IsAdminDep,
    settings: SettingsDep,
) -> HandoffAnswer:
    return await handler.ask(
        ai, db, body.question, staff=staff, timeout_s=settings.handoff_timeout_s
    )
