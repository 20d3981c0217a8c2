"""AI_MAX_CONCURRENT: beyond it, an AI request is refused at once (503 + Retry-After), not
queued; a slot is held until the response has been sent, streams included (a real socket)."""

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from fastapi import FastAPI

from shared.ai_kernel import AISlots
from tests.fakes import FakeChat


@pytest.fixture
def one_slot(app: FastAPI) -> Iterator[AISlots]:
    saved = app.state.ai_slots
    app.state.ai_slots = AISlots(1)
    yield app.state.ai_slots
    app.state.ai_slots = saved


async def test_beyond_the_limit_ai_requests_are_refused_at_once(
    live_url: str, fake_chat: FakeChat, one_slot: AISlots
) -> None:
    fake_chat.chunks = ["first", " answer"]
    fake_chat.gate = asyncio.Event()  # the stream holds after its first chunk
    async with httpx.AsyncClient(base_url=live_url, timeout=10) as http:
        async with http.stream("GET", "/ai/ask", params={"question": "q"}) as streaming:
            assert streaming.status_code == 200
            text = streaming.aiter_text()
            assert await anext(text) == "first"

            refused = await http.post("/ai/summary", json={"film_id": 1})
            handoff = await http.post("/ai/handoff", json={"question": "capital of France?"})

            fake_chat.gate.set()
            rest = "".join([chunk async for chunk in text])
        assert rest == " answer"
        async with asyncio.timeout(2):  # released once the stream has been sent
            while one_slot.in_use:  # noqa: ASYNC110 - polling the server's state from outside
                await asyncio.sleep(0.01)
        fake_chat.chunks = ["again"]
        fake_chat.gate = None
        after = await http.get("/ai/ask", params={"question": "q"})

    for response in (refused, handoff):
        assert response.status_code == 503
        assert response.headers["retry-after"]
        assert response.headers["x-request-id"]
        assert "busy" in response.json()["detail"]
    assert (after.status_code, after.text) == (200, "again")
