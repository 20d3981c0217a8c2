"""/ai/ask over a real socket (uvicorn on loopback), with a fake chat service."""

import asyncio
import json
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse
from semantic_kernel.contents import ChatHistory

from features.ai_ask import handler
from shared.ai.calls import MODEL_UNAVAILABLE, ChatStream
from shared.ai.capacity import AISlots
from tests.fakes import FakeChat, fake_runtime
from tests.fixtures.logs import of

SSE = {"Accept": "text/event-stream"}


@pytest.fixture
async def http(live_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=live_url, timeout=10)


async def test_plain_text_streams_chunk_by_chunk(
    http: httpx.AsyncClient, fake_chat: FakeChat
) -> None:
    fake_chat.chunks = ["Pagila ", "has ", "1000 ", "films."]
    fake_chat.chunk_delay_s = 0.05

    received: list[bytes] = []
    async with http.stream("GET", "/ai/ask", params={"question": "How many films?"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/plain; charset=utf-8"
        async for raw in response.aiter_raw():
            received.append(raw)

    assert b"".join(received).decode() == "Pagila has 1000 films."
    assert len(received) >= 3  # several network chunks, not one buffered body


async def test_first_chunk_leaves_before_the_model_goes_on(
    http: httpx.AsyncClient, fake_chat: FakeChat
) -> None:
    """The model holds after its first chunk until the client has received that chunk: a
    buffering server would never deliver it, and this test would time out."""
    fake_chat.chunks = ["first", " second"]
    fake_chat.gate = asyncio.Event()

    async with http.stream("GET", "/ai/ask", params={"question": "q"}) as response:
        chunks = response.aiter_raw()
        first = await asyncio.wait_for(anext(chunks), timeout=5)
        assert first == b"first"
        fake_chat.gate.set()
        rest = b"".join([chunk async for chunk in chunks])

    assert rest == b" second"


async def test_sse_events_survive_newlines(http: httpx.AsyncClient, fake_chat: FakeChat) -> None:
    fake_chat.chunks = ["Line one\nline two", "\n\n", "data: not a field", "\r\nend"]

    events = []
    async with aconnect_sse(http, "GET", "/ai/ask", params={"question": "q"}, headers=SSE) as es:
        assert es.response.headers["content-type"].startswith("text/event-stream")
        async for event in es.aiter_sse():
            events.append(event)

    deltas = [json.loads(e.data)["delta"] for e in events if e.event == "message"]
    assert deltas == fake_chat.chunks
    assert events[-1].event == "done"
    assert json.loads(events[-1].data) == {"finish_reason": "stop", "usage": None}


@pytest.mark.parametrize("question", ["", "   ", "x" * 2001])
async def test_empty_or_too_long_question_is_422(
    http: httpx.AsyncClient, fake_chat: FakeChat, question: str
) -> None:
    response = await http.get("/ai/ask", params={"question": question})

    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["query", "question"]
    assert fake_chat.requests == []


async def test_missing_question_is_422(http: httpx.AsyncClient, fake_chat: FakeChat) -> None:
    assert (await http.get("/ai/ask")).status_code == 422


@pytest.mark.parametrize("headers", [{}, SSE])
async def test_model_down_before_first_token_is_503_json(
    http: httpx.AsyncClient, fake_chat: FakeChat, headers: dict[str, str]
) -> None:
    fake_chat.fail_before_first = True

    response = await http.get("/ai/ask", params={"question": "q"}, headers=headers)

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == MODEL_UNAVAILABLE  # not the upstream error text
    assert response.headers["retry-after"] == "5"  # ServiceUnavailableError's, as documented


async def test_failure_mid_stream_sends_an_error_event(
    http: httpx.AsyncClient, fake_chat: FakeChat
) -> None:
    fake_chat.chunks = ["partial ", "answer ", "never"]
    fake_chat.fail_after = 2

    async with aconnect_sse(http, "GET", "/ai/ask", params={"question": "q"}, headers=SSE) as es:
        events = [event async for event in es.aiter_sse()]

    assert [e.event for e in events] == ["message", "message", "error"]
    assert json.loads(events[-1].data) == {"message": MODEL_UNAVAILABLE}


async def test_failure_mid_stream_ends_the_plain_text_answer(
    http: httpx.AsyncClient, fake_chat: FakeChat
) -> None:
    fake_chat.chunks = ["partial ", "answer ", "never"]
    fake_chat.fail_after = 2

    response = await http.get("/ai/ask", params={"question": "q"})

    assert response.status_code == 200
    assert response.text == "partial answer "


@pytest.mark.parametrize("headers", [{}, SSE])
async def test_client_disconnect_cancels_the_model(
    http: httpx.AsyncClient, fake_chat: FakeChat, headers: dict[str, str]
) -> None:
    fake_chat.chunks = ["more "]
    fake_chat.endless = True
    fake_chat.chunk_delay_s = 0.02

    async with http.stream("GET", "/ai/ask", params={"question": "q"}, headers=headers) as r:
        await anext(r.aiter_raw())
    # Leaving the block closed the connection mid-stream.

    await asyncio.wait_for(fake_chat.closed.wait(), timeout=5)
    stopped_at = fake_chat.yielded
    await asyncio.sleep(0.2)
    assert fake_chat.yielded == stopped_at


@pytest.mark.parametrize("headers", [{}, SSE])
async def test_a_client_that_leaves_before_the_first_token_ends_the_call_then(
    http: httpx.AsyncClient,
    fake_chat: FakeChat,
    log_events: list[dict[str, Any]],
    headers: dict[str, str],
) -> None:
    """The model has not started answering (a gate before its first token) and the client
    gives up: the call is cancelled, and logged, then, not when a first token arrives."""
    fake_chat.chunks = ["late"]
    fake_chat.gate = asyncio.Event()
    fake_chat.gate_at = 0
    request = asyncio.create_task(http.get("/ai/ask", params={"question": "q"}, headers=headers))
    while not fake_chat.requests:  # noqa: ASYNC110 - the server's state
        await asyncio.sleep(0.01)
    request.cancel()  # closes the connection
    await asyncio.gather(request, return_exceptions=True)

    await asyncio.wait_for(fake_chat.closed.wait(), timeout=2)  # the gate is still shut
    assert not fake_chat.gate.is_set()
    async with asyncio.timeout(2):  # logged once the call has given back its quota
        while not of(log_events, "llm.call"):  # noqa: ASYNC110 - the server's log
            await asyncio.sleep(0.01)
    [call] = of(log_events, "llm.call")
    assert call["outcome"] == "cancelled"
    assert call["chunks"] == 0
    async with asyncio.timeout(2):  # the access line follows the call's end
        while not of(log_events, "request"):  # noqa: ASYNC110 - the server's log
            await asyncio.sleep(0.01)
    assert [e["status"] for e in of(log_events, "request")] == [499]


async def test_keepalive_ping_while_the_model_is_silent() -> None:
    chat = FakeChat(ai_model_id="fake", chunks=["a", "b"], gate=asyncio.Event())
    history = ChatHistory()
    history.add_user_message("q")
    stream = ChatStream(fake_runtime(chat, AISlots(1)), history)
    await stream.start()

    frames: list[bytes] = []
    async for frame in handler.server_sent_events(stream, keepalive_s=0.05):
        frames.append(frame)
        if frame == b": ping\n\n":
            chat.gate.set()  # type: ignore[union-attr]

    assert frames[0] == b'data: {"delta":"a"}\n\n'
    assert b": ping\n\n" in frames
    assert frames[-2] == b'data: {"delta":"b"}\n\n'
    assert frames[-1].startswith(b"event: done\n")
