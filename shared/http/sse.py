"""Server-sent events: the shapes of a streamed answer and a keep-alive for silent streams.

FastAPI's own (`fastapi.sse`) formats the events here; its keep-alive and its
`EventSourceResponse` handling run only for a route that is itself a generator with
`response_class=EventSourceResponse`. Ours cannot be: `/ai/handoff` answers JSON or SSE from one
route (by `Accept`), and both streams start the model first, so that a refusal (429, 503) is
still a status line, not an error event after a 200.
"""

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator

from fastapi.sse import format_sse_event
from pydantic import BaseModel

KEEPALIVE_S = 15.0
# Proxies (nginx) must pass chunks on at once, and nobody may cache an answer.
NO_BUFFERING = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


class Delta(BaseModel):
    """The data of one SSE `message` event: the next piece of the answer."""

    delta: str


class StreamError(BaseModel):
    """The data of an SSE `error` event: the answer failed mid-stream."""

    message: str


def message(delta: str) -> bytes:
    return format_sse_event(data_str=Delta(delta=delta).model_dump_json())


def event(name: str, data: BaseModel) -> bytes:
    return format_sse_event(event=name, data_str=data.model_dump_json())


async def with_pings[T](
    source: AsyncIterator[T], keepalive_s: float = KEEPALIVE_S
) -> AsyncGenerator[T | None]:
    """`source`'s items, and None whenever it has been silent for `keepalive_s` (send a
    comment then, so that proxies and browsers keep the connection)."""
    pending: asyncio.Future[T] | None = None
    try:
        while True:
            pending = asyncio.ensure_future(anext(source))
            while not (await asyncio.wait({pending}, timeout=keepalive_s))[0]:
                yield None
            try:
                item = pending.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        if pending is not None and not pending.done():
            pending.cancel()
            await asyncio.wait({pending})  # let it unwind; its outcome no longer matters


PING = format_sse_event(comment="ping")
