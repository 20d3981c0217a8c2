import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from features.ai_handoff import handler
from features.ai_handoff.dtos import HandoffAnswer, HandoffRequest
from shared.ai.kernel import AIRuntime, get_ai
from shared.ai.quota import AI_QUOTA_RESPONSE, AIQuota
from shared.database import DatabaseDep
from shared.http import sse
from shared.http.client_gone import ClientLeftError, client_closed_request, until_client_leaves
from shared.http.errors import (
    UNAUTHORIZED_RESPONSE,
    UNAVAILABLE_RESPONSE,
    AppError,
    BadGatewayError,
    GatewayTimeoutError,
)
from shared.security.auth import IsStaffDep
from shared.settings import SettingsDep

# Every AI request is charged to its client's quota first (429 past it; shared/ai/quota.py).
router = APIRouter(prefix="/ai", tags=["ai"], dependencies=[AIQuota], responses=AI_QUOTA_RESPONSE)
log = structlog.get_logger(__name__)
STREAM_FAILED = "The assistant failed while answering; please retry."


class RunStreamResponse(StreamingResponse):
    """Ends the run as soon as the response ends, however it ends (finished, client gone)."""

    def __init__(self, run: handler.HandoffRun) -> None:
        super().__init__(_events(run), media_type="text/event-stream", headers=sse.NO_BUFFERING)
        self._run = run

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            await self._run.aclose()


async def _events(run: handler.HandoffRun) -> AsyncIterator[bytes]:
    async with aclosing(sse.with_pings(run.deltas())) as deltas:  # its pending read ends too
        async for delta in deltas:
            yield sse.PING if delta is None else sse.message(delta)
    try:
        answer = await run.answer()
    except AppError as exc:  # mid-stream: the status line is long gone
        yield sse.event("error", sse.StreamError(message=exc.detail))
        return
    except Exception:  # a bug: logged with its traceback (no question or answer in it)
        log.exception("handoff.stream_failed")
        yield sse.event("error", sse.StreamError(message=STREAM_FAILED))
        return
    yield sse.event("done", answer)


@router.post(
    "/handoff",
    response_model=HandoffAnswer,
    summary="Ask the store's assistant: store questions are answered from the database, "
    "others by the general agent; JSON, or SSE with Accept: text/event-stream",
    description="A SearchAgent with database tools (a film's details and cast, availability, "
    "films by text, category, rating, actor, price, rental days, feature, language, length or "
    "streaming, the categories, the top actors, the rental terms, the stores, staff and "
    "totals, and, for staff (a staff token or the service token), a customer's card and "
    "rentals and who has a film out) "
    "answers store questions and hands anything else to a GeneralAgent (Semantic Kernel's "
    "HandoffOrchestration). Without a tool-calling model, a deterministic rules router plays "
    "the SearchAgent's model. With `Accept: text/event-stream` the answer is streamed: "
    "`message` events `{delta}` as the agents write (the general agent token by token), then "
    "one `done` event with the whole answer (as the JSON response), or an `error` event. "
    "A conversation goes on with `history`: the earlier messages, sent back each turn (the "
    'service keeps none), so that "how much is it?" is about the film just named.',
    responses={
        200: {
            "description": "The answer (JSON), or its stream (SSE)",
            "content": {"text/event-stream": {}},
        },
        **UNAUTHORIZED_RESPONSE,
        **BadGatewayError.response_doc("The model returned an empty answer"),
        **UNAVAILABLE_RESPONSE,
        **GatewayTimeoutError.response_doc("No answer within HANDOFF_TIMEOUT_S"),
    },
)
async def handoff(
    body: HandoffRequest,
    request: Request,
    ai: Annotated[AIRuntime, Depends(get_ai)],
    db: DatabaseDep,
    staff: IsStaffDep,
    settings: SettingsDep,
) -> HandoffAnswer | Response:
    run = handler.HandoffRun(
        ai,
        db,
        body.question,
        history=body.history,
        staff=staff,
        timeout_s=settings.handoff_timeout_s,
    )
    streamed = "text/event-stream" in request.headers.get("accept", "")
    # Until the first byte (JSON: the whole answer), a client that leaves ends the run at once
    # instead of holding the model and an AI slot until the answer or the timeout.
    try:
        await until_client_leaves(request, run.start() if streamed else run.answer_once())
    except ClientLeftError:
        await run.aclose(asyncio.CancelledError())
        return client_closed_request()
    if not streamed:
        return await run.answer()
    return RunStreamResponse(run)  # a model that was down: 503 above, before any byte
