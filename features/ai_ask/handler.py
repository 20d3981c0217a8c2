"""Answer a free-form question by streaming the model's reply. No database involved."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import structlog
from fastapi.sse import format_sse_event
from semantic_kernel.contents import ChatHistory

from features.ai_ask.dtos import AskDelta, AskDone, AskError
from shared.ai_calls import ChatStream, LLMUnavailableError
from shared.ai_kernel import AIRuntime
from shared.models import MPAA_RATINGS

log = structlog.get_logger(__name__)

SYSTEM_PROMPT = (
    (Path(__file__).parent / "prompts" / "system.txt")
    .read_text(encoding="utf-8")
    .format(ratings=", ".join(MPAA_RATINGS[:-1]) + " or " + MPAA_RATINGS[-1])
)
KEEPALIVE_S = 15.0


async def start_answer(ai: AIRuntime, question: str, max_tokens: int) -> ChatStream:
    """Start the model's answer; raises LLMUnavailableError (503) before the first token."""
    history = ChatHistory(system_message=SYSTEM_PROMPT)
    history.add_user_message(question)
    stream = ChatStream(ai, history, max_tokens=max_tokens, temperature=0.3)
    await stream.start()
    return stream


async def plain_text(stream: ChatStream) -> AsyncIterator[bytes]:
    try:
        async for delta in stream:
            yield delta.encode()
    except LLMUnavailableError as exc:
        # Mid-stream: the status line is long gone; the answer simply ends. Logged by ChatStream.
        log.warning("ask.stream_failed", error=exc.detail)


async def server_sent_events(
    stream: ChatStream, keepalive_s: float = KEEPALIVE_S
) -> AsyncIterator[bytes]:
    """SSE framing: one `message` event per delta (JSON, so newlines are safe), then `done`,
    or `error` if the model fails mid-stream; a comment ping while the model is silent."""
    deltas = aiter(stream)
    pending: asyncio.Future[str] | None = None
    try:
        while True:
            pending = asyncio.ensure_future(anext(deltas))
            while not (await asyncio.wait({pending}, timeout=keepalive_s))[0]:
                yield format_sse_event(comment="ping")
            try:
                delta = pending.result()
            except StopAsyncIteration:
                break
            except LLMUnavailableError as exc:
                yield format_sse_event(
                    event="error", data_str=AskError(message=exc.detail).model_dump_json()
                )
                return
            yield format_sse_event(data_str=AskDelta(delta=delta).model_dump_json())
        done = AskDone(finish_reason=stream.finish_reason, usage=stream.usage)
        yield format_sse_event(event="done", data_str=done.model_dump_json())
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            await asyncio.wait({pending})  # let it unwind; its outcome no longer matters
        await stream.aclose()
