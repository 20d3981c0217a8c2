from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import StringConstraints
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from features.ai_ask import handler
from shared import sse
from shared.ai_calls import ChatStream
from shared.ai_kernel import AIRuntime, get_ai
from shared.client_gone import ClientLeftError, client_closed_request, until_client_leaves
from shared.database import DatabaseDep
from shared.settings import SettingsDep

router = APIRouter(prefix="/ai", tags=["ai"])


Question = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=2000),
    Query(description="Your question, 1..2000 characters."),
]


class ModelStreamResponse(StreamingResponse):
    """Closes the body and the model stream as soon as the response ends, however it ends
    (finished, client gone, or never started): the upstream model request is cancelled right
    away, not whenever the garbage collector gets to it."""

    def __init__(self, body: AsyncIterator[bytes], stream: ChatStream, media_type: str) -> None:
        super().__init__(body, media_type=media_type, headers=sse.NO_BUFFERING)
        self._body = body
        self._stream = stream

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            aclose = getattr(self._body, "aclose", None)
            if aclose is not None:
                await aclose()
            await self._stream.aclose()


@router.get(
    "/ask",
    summary="Ask the model: plain-text stream, or SSE with Accept: text/event-stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The answer, streamed as it is generated",
            "content": {"text/plain": {}, "text/event-stream": {}},
        },
        503: {"description": "The model is unreachable or failed before answering"},
    },
)
async def ask(
    question: Question,
    request: Request,
    ai: Annotated[AIRuntime, Depends(get_ai)],
    db: DatabaseDep,
    settings: SettingsDep,
) -> Response:
    films = await handler.grounding(db, question) if settings.ask_grounding else None
    # Until the first token, a client that leaves ends the model call at once (logged then).
    try:
        stream = await until_client_leaves(
            request, handler.start_answer(ai, question, settings.llm_max_tokens, films)
        )
    except ClientLeftError:
        return client_closed_request()
    if "text/event-stream" in request.headers.get("accept", ""):
        return ModelStreamResponse(
            handler.server_sent_events(stream), stream, media_type="text/event-stream"
        )
    return ModelStreamResponse(
        handler.plain_text(stream), stream, media_type="text/plain; charset=utf-8"
    )
