import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from features.ai_ask import handler
from features.ai_ask.dtos import AskRequest
from shared.ai.calls import ChatStream
from shared.ai.conversation import QUESTION_MAX_CHARS, Question, Turn
from shared.ai.kernel import AIRuntime, get_ai
from shared.ai.quota import AI_QUOTA_RESPONSE, AIQuota
from shared.database import Database, DatabaseDep
from shared.http import sse
from shared.http.client_gone import ClientLeftError, client_closed_request, until_client_leaves
from shared.settings import Settings, SettingsDep

# Every AI request is charged to its client's quota first (429 past it; shared/ai/quota.py).
router = APIRouter(prefix="/ai", tags=["ai"], dependencies=[AIQuota], responses=AI_QUOTA_RESPONSE)


QuestionQuery = Annotated[
    Question, Query(description=f"Your question, 1..{QUESTION_MAX_CHARS} characters, no NUL.")
]
HistoryJson = Annotated[
    str | None,
    Query(
        description="The conversation's earlier messages as a JSON array of "
        '`{"role": "user" | "assistant", "content": "..."}`, oldest first (bounded as in '
        "POST /ai/ask's body).",
        examples=['[{"role":"user","content":"tell me about ACADEMY DINOSAUR"}]'],
    ),
]


def _history_of(raw: str | None) -> list[Turn]:
    """The query's history, read by the body's own rules (bounds included): a 422 alike."""
    if raw is None:
        return []
    try:
        turns = json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
        error = {"type": "json_invalid", "msg": "history must be a JSON array of messages"}
        raise RequestValidationError([{**error, "loc": ("query", "history")}]) from None
    try:
        return AskRequest(question="-", history=turns).history
    except ValidationError as exc:
        errors = [
            {**e, "loc": ("query", *(e["loc"] or ("history",)))}
            for e in exc.errors(include_url=False)
        ]
        raise RequestValidationError(errors) from None


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


_ASK_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {
        "description": "The answer, streamed as it is generated",
        "content": {"text/plain": {}, "text/event-stream": {}},
    },
    503: {"description": "The model is unreachable or failed before answering"},
}
_ASK_DESCRIPTION = (
    "A conversation goes on with `history`: the earlier messages, sent back each turn (the "
    "service keeps none). The store's rows that fit the question go into the prompt (a film "
    "named or meant, films asked for, the categories), or none."
)


@router.get(
    "/ask",
    summary="Ask the model: plain-text stream, or SSE with Accept: text/event-stream",
    description=_ASK_DESCRIPTION,
    response_class=StreamingResponse,
    responses=_ASK_RESPONSES,
)
async def ask(
    question: QuestionQuery,
    request: Request,
    ai: Annotated[AIRuntime, Depends(get_ai)],
    db: DatabaseDep,
    settings: SettingsDep,
    history: HistoryJson = None,
) -> Response:
    return await _answer(request, ai, db, settings, question, _history_of(history))


@router.post(
    "/ask",
    summary="Ask the model after earlier turns (JSON body): plain-text stream, or SSE",
    description=_ASK_DESCRIPTION,
    response_class=StreamingResponse,
    responses=_ASK_RESPONSES,
)
async def ask_in_conversation(
    body: AskRequest,
    request: Request,
    ai: Annotated[AIRuntime, Depends(get_ai)],
    db: DatabaseDep,
    settings: SettingsDep,
) -> Response:
    return await _answer(request, ai, db, settings, body.question, body.history)


async def _answer(
    request: Request,
    ai: AIRuntime,
    db: Database,
    settings: Settings,
    question: str,
    history: list[Turn],
) -> Response:
    grounded = await handler.grounding(db, question, history) if settings.ask_grounding else None
    # Until the first token, a client that leaves ends the model call at once (logged then).
    try:
        stream = await until_client_leaves(
            request,
            handler.start_answer(ai, question, history, settings.llm_max_tokens, grounded),
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
