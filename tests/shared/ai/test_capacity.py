"""AI capacity over a real socket: a slot is held by a model call (streams until sent), the next
calls wait in order for AI_WAIT_TIMEOUT_S at most, a model that does not start answering in that
time is a 503, and answers from the database alone never wait for a slot."""

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from shared.ai.capacity import AISlots
from shared.ai.kernel import get_ai
from tests.fakes import FakeChat, fake_runtime

WAIT_S = 0.5


@pytest.fixture
def one_slot(app: FastAPI) -> Iterator[tuple[AISlots, FakeChat]]:
    """One slot, waits of WAIT_S, and a fake model behind them."""
    saved = app.state.ai_slots
    slots = app.state.ai_slots = AISlots(1)
    chat = FakeChat(ai_model_id="fake", reply_always="ok")
    runtime = fake_runtime(chat, slots, provider="local", wait_s=WAIT_S)
    app.dependency_overrides[get_ai] = lambda: runtime
    yield slots, chat
    app.dependency_overrides.pop(get_ai, None)
    app.state.ai_slots = saved


async def test_a_busy_model_is_waited_for_then_refused_with_retry_after(
    live_url: str, one_slot: tuple[AISlots, FakeChat]
) -> None:
    slots, chat = one_slot
    chat.chunks = ["first", " answer"]
    chat.gate = asyncio.Event()  # the stream holds after its first chunk
    async with httpx.AsyncClient(base_url=live_url, timeout=10) as http:
        async with http.stream("GET", "/ai/ask", params={"question": "q"}) as streaming:
            assert streaming.status_code == 200
            text = streaming.aiter_text()
            assert await anext(text) == "first"

            started = asyncio.get_running_loop().time()
            refused = await http.post("/ai/summary", json={"film_id": 1})
            waited = asyncio.get_running_loop().time() - started
            # A store question the rules router answers from the database: no slot needed.
            from_the_database = await http.post(
                "/ai/handoff", json={"question": "how much is academy dinosaur?"}
            )
            chat.gate.set()
            rest = "".join([chunk async for chunk in text])
        assert rest == " answer"
        async with asyncio.timeout(2):  # released once the stream has been sent
            while slots.in_use:  # noqa: ASYNC110 - polling the server's state from outside
                await asyncio.sleep(0.01)
        chat.chunks, chat.gate = ["again"], None
        after = await http.get("/ai/ask", params={"question": "q"})

    assert refused.status_code == 503
    assert refused.headers["retry-after"] == "5"
    assert refused.headers["x-request-id"]
    assert "busy" in refused.json()["detail"]
    assert waited >= WAIT_S  # it waited its turn before giving up
    assert from_the_database.status_code == 200
    assert "ACADEMY DINOSAUR" in from_the_database.json()["answer"]
    assert (after.status_code, after.text) == (200, "again")


async def test_waiting_calls_are_served_in_arrival_order(
    live_url: str, one_slot: tuple[AISlots, FakeChat], app: FastAPI
) -> None:
    slots, chat = one_slot
    runtime = fake_runtime(chat, slots, provider="local", wait_s=10)
    app.dependency_overrides[get_ai] = lambda: runtime
    chat.chunks = ["a"]
    chat.gate = asyncio.Event()
    chat.gate_at = 0  # every stream holds before its first chunk until the gate opens
    async with httpx.AsyncClient(base_url=live_url, timeout=10) as http:

        async def ask(name: str) -> None:
            response = await http.get("/ai/ask", params={"question": name})
            assert response.status_code == 200

        first = asyncio.create_task(ask("first"))
        while not slots.in_use:  # noqa: ASYNC110 - polling the server's state from outside
            await asyncio.sleep(0.01)
        waiting = []
        for name in ("second", "third"):
            waiting.append(asyncio.create_task(ask(name)))
            await asyncio.sleep(0.1)  # arrives after the one before
        assert len(chat.requests) == 1  # only the first reached the model
        chat.gate.set()
        await asyncio.gather(first, *waiting)
    # The order the calls reached the model, each holding the one slot in turn (the order the
    # responses end in is the network's: a slot is free before its response has ended).
    reached = [str(history.messages[-1].content) for history, _ in chat.requests]
    assert [next(n for n in ("first", "second", "third") if n in q) for q in reached] == [
        "first",
        "second",
        "third",
    ]


async def test_a_model_that_does_not_start_answering_is_a_503(
    live_url: str, one_slot: tuple[AISlots, FakeChat]
) -> None:
    slots, chat = one_slot
    chat.chunks = ["never"]
    chat.gate = asyncio.Event()
    chat.gate_at = 0  # frozen before its first token
    async with httpx.AsyncClient(base_url=live_url, timeout=10) as http:
        ask = await http.get("/ai/ask", params={"question": "q"})
        streamed = await http.post(
            "/ai/handoff",
            json={"question": "what is the capital of france?"},
            headers={"Accept": "text/event-stream"},
        )
    for response in (ask, streamed):
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"] == "5"
        assert f"did not start answering within {WAIT_S:g} s" in response.json()["detail"]
    assert await _closed_soon(chat)
    assert slots.in_use == 0


async def _closed_soon(chat: FakeChat) -> bool:
    async with asyncio.timeout(2):
        await chat.closed.wait()
    return True
