"""POST /ai/handoff as server-sent events, and what a run leaves in the logs, over a real
socket (the app served by uvicorn on loopback), offline: the rules router plays the store's
agent and a fake local model the general agent."""

import asyncio
import gc
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from httpx_sse import aconnect_sse
from semantic_kernel.contents import ChatHistory, FunctionResultContent

from features.ai_handoff.computed_chat import Call
from shared.ai.kernel import get_ai
from shared.settings import Settings, get_app_settings
from tests.fakes import (
    FakeChat,
    Move,
    ToolCallingFake,
    fake_runtime,
    tool_runtime,
)
from tests.fixtures.logs import of
from tests.support import ADMIN

SSE = {"Accept": "text/event-stream"}
STORE_QUESTION = "how much is academy dinosaur"
GENERAL_QUESTION = "what is the capital of france"
ANSWER_WORDS = ["Paris", " is", " the", " capital", " of", " France."]


@pytest.fixture
def local_model(app: FastAPI) -> Iterator[FakeChat]:
    chat = FakeChat(ai_model_id="fake", chunks=list(ANSWER_WORDS))
    runtime = fake_runtime(chat, app.state.ai_slots, provider="local")
    app.dependency_overrides[get_ai] = lambda: runtime
    yield chat
    app.dependency_overrides.pop(get_ai, None)


@pytest.fixture
async def http(live_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_url, timeout=10) as client:
        yield client


async def logged_run(log_events: list[dict[str, Any]]) -> dict[str, Any]:
    """The run's `handoff.run` line, once it is written (the clean-up runs after the client
    has gone), within a few seconds."""
    for _ in range(100):
        if runs := of(log_events, "handoff.run"):
            [run] = runs
            return run
        await asyncio.sleep(0.05)
    raise AssertionError("no handoff.run line")


async def _events(http: httpx.AsyncClient, question: str) -> list[tuple[str, Any]]:
    async with aconnect_sse(
        http, "POST", "/ai/handoff", json={"question": question}, headers=SSE
    ) as source:
        assert source.response.headers["content-type"].startswith("text/event-stream")
        return [(e.event, json.loads(e.data)) async for e in source.aiter_sse()]


async def test_a_general_answer_streams_token_by_token(
    http: httpx.AsyncClient, local_model: FakeChat
) -> None:
    """The model holds after three tokens: the client must already have text by then (a run
    that answered only at the end would deliver nothing, and this test would time out)."""
    local_model.gate = asyncio.Event()
    local_model.gate_at = 3

    async with aconnect_sse(
        http, "POST", "/ai/handoff", json={"question": GENERAL_QUESTION}, headers=SSE
    ) as source:
        events = source.aiter_sse()
        first = await asyncio.wait_for(anext(events), timeout=5)
        assert (first.event, json.loads(first.data)) == ("message", {"delta": "Paris"})
        assert not local_model.gate.is_set()  # still held: this came while it was writing
        local_model.gate.set()
        rest = [(e.event, json.loads(e.data)) async for e in events]

    deltas = ["Paris"] + [data["delta"] for name, data in rest if name == "message"]
    assert "".join(deltas) == "".join(ANSWER_WORDS)
    name, done = rest[-1]
    assert name == "done"
    assert (done["agent"], done["answer"], done["router"]) == (
        "general",
        "".join(ANSWER_WORDS),
        "rules",
    )


async def test_a_store_answer_streams_then_ends_with_its_films(
    http: httpx.AsyncClient, local_model: FakeChat
) -> None:
    events = await _events(http, STORE_QUESTION)

    [(name, message), (end, done)] = events
    assert (name, end) == ("message", "done")
    assert message["delta"] == done["answer"]
    assert done["agent"] == "search"
    assert [film["title"] for film in done["films"]] == ["ACADEMY DINOSAUR"]
    assert local_model.requests == []  # answered from the database alone


async def test_a_model_down_is_503_before_any_byte(
    http: httpx.AsyncClient, local_model: FakeChat
) -> None:
    local_model.fail_before_first = True

    response = await http.post("/ai/handoff", json={"question": GENERAL_QUESTION}, headers=SSE)

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"  # ServiceUnavailableError's, as documented


async def test_a_client_that_leaves_ends_the_run(
    http: httpx.AsyncClient, local_model: FakeChat, log_events: list[dict[str, Any]]
) -> None:
    local_model.endless = True
    local_model.chunk_delay_s = 0.02

    async with aconnect_sse(
        http, "POST", "/ai/handoff", json={"question": GENERAL_QUESTION}, headers=SSE
    ) as source:
        await anext(source.aiter_sse())
    # The connection is closed: the model's stream must be closed, not left generating.

    await asyncio.wait_for(local_model.closed.wait(), timeout=5)
    assert (await logged_run(log_events))["outcome"] == "cancelled"


class _Everything(logging.Handler):
    """Every stdlib record that passes its logger's level, as it would be printed."""

    def __init__(self) -> None:
        super().__init__(logging.NOTSET)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(f"{record.levelname} {record.name} {text}")


@pytest.fixture
def every_log_line(log_events: list[dict[str, Any]]) -> Iterator[list[str]]:
    handler = _Everything()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler.lines
    finally:
        root.removeHandler(handler)
        handler.lines.extend(json.dumps(e, default=str) for e in log_events)


async def test_ordinary_runs_log_no_question_no_answer_and_no_traceback(
    app: FastAPI,
    http: httpx.AsyncClient,
    local_model: FakeChat,
    settings: Settings,
    every_log_line: list[str],
    log_events: list[dict[str, Any]],
) -> None:
    questions = [STORE_QUESTION, GENERAL_QUESTION, "tell me a story", "sing me a song"]
    answers: list[str] = []
    # A store question and a general one, each as JSON and as a stream.
    for question in questions[:2]:
        response = await http.post("/ai/handoff", json={"question": question})
        answers.append(response.json()["answer"])
        answers += [
            data.get("answer", data.get("delta", "")) for _, data in await _events(http, question)
        ]
    # A model that is too slow: 504.
    local_model.endless, local_model.chunk_delay_s = True, 0.05
    quick = settings.model_copy(update={"handoff_timeout_s": 0.3})
    app.dependency_overrides[get_app_settings] = lambda: quick
    try:
        assert (await http.post("/ai/handoff", json={"question": questions[2]})).status_code == 504
    finally:
        app.dependency_overrides.pop(get_app_settings, None)
    # A client that leaves mid-answer.
    local_model.closed.clear()
    async with aconnect_sse(
        http, "POST", "/ai/handoff", json={"question": questions[3]}, headers=SSE
    ) as source:
        await anext(source.aiter_sse())
    await asyncio.wait_for(local_model.closed.wait(), timeout=5)
    await asyncio.sleep(0.2)
    gc.collect()  # a task destroyed while pending is reported when it is collected
    await asyncio.sleep(0.05)

    every_log_line.extend(json.dumps(e, default=str) for e in log_events)
    runs = of(log_events, "handoff.run")
    assert [r["outcome"] for r in runs] == ["ok", "ok", "ok", "ok", "timeout", "cancelled"]
    secrets = [q.lower() for q in questions] + [a.lower() for a in answers if len(a) > 8]
    for line in every_log_line:
        assert not any(secret in line.lower() for secret in secrets), line
        assert "Traceback" not in line, line
        assert not line.startswith(("ERROR", "CRITICAL")), line
        assert "Failed to detach context" not in line, line
        assert "Task was destroyed" not in line, line


async def test_a_tool_argument_the_kernel_cannot_convert_is_not_logged(
    app: FastAPI,
    http: httpx.AsyncClient,
    every_log_line: list[str],
    log_events: list[dict[str, Any]],
) -> None:
    """A model that passes a customer's name where the id goes: Semantic Kernel logs the
    failed conversion with the value in its traceback, unless its loggers are quiet."""

    def plan(history: ChatHistory, offered: frozenset[str]) -> Move:
        if any(isinstance(item, FunctionResultContent) for item in history.messages[-1].items):
            return "I could not find that customer."  # the kernel's error, not JSON
        return Call("Customers-customer_rentals", {"customer_id": "john smith"})

    model = ToolCallingFake(ai_model_id="fake", plan=plan)
    app.dependency_overrides[get_ai] = lambda: tool_runtime(model, app.state.ai_slots)
    try:
        response = await http.post(
            "/ai/handoff",
            json={"question": "what did customer john smith rent?"},
            headers=ADMIN,
        )
    finally:
        app.dependency_overrides.pop(get_ai, None)

    assert response.status_code == 200, response.text
    assert of(log_events, "handoff.run")  # the run was logged, as ours
    lines = every_log_line + [json.dumps(e, default=str) for e in log_events]
    assert not [line for line in lines if "john smith" in line.lower()]


@pytest.mark.parametrize("headers", [{}, SSE])
async def test_a_client_that_leaves_before_the_first_byte_ends_the_run(
    app: FastAPI, live_url: str, log_events: list[dict[str, Any]], headers: dict[str, str]
) -> None:
    """A stalled model: JSON waits for the whole answer, SSE for the first text. The client
    gives up; the run must end then, not when HANDOFF_TIMEOUT_S (30 s) runs out."""
    model = ToolCallingFake(ai_model_id="fake", plan=lambda history, offered: None)
    app.dependency_overrides[get_ai] = lambda: tool_runtime(model, app.state.ai_slots)
    try:
        async with httpx.AsyncClient(base_url=live_url, timeout=10) as http:
            request = asyncio.create_task(
                http.post("/ai/handoff", json={"question": "anything?"}, headers=headers)
            )
            await asyncio.wait_for(model.stalled.wait(), timeout=5)
            request.cancel()  # closes the connection
            await asyncio.gather(request, return_exceptions=True)
        await asyncio.wait_for(model.cancelled.wait(), timeout=5)
    finally:
        app.dependency_overrides.pop(get_ai, None)
    assert (await logged_run(log_events))["outcome"] == "cancelled"


async def test_a_conversation_leaves_no_history_in_the_log(
    http: httpx.AsyncClient,
    local_model: FakeChat,
    every_log_line: list[str],
    log_events: list[dict[str, Any]],
) -> None:
    marker = "zanzibarquux"
    history = [
        {"role": "user", "content": f"do you have african egg {marker}"},
        {"role": "assistant", "content": f"AFRICAN EGG: 3 copies are in. {marker}"},
    ]
    body = {"question": f"how much is it {marker}", "history": history}

    # JSON and SSE handoffs, and /ai/ask by body and by query, at the most verbose level.
    assert (await http.post("/ai/handoff", json=body)).status_code == 200
    async with aconnect_sse(http, "POST", "/ai/handoff", json=body, headers=SSE) as source:
        assert [e.event async for e in source.aiter_sse()][-1] == "done"
    assert (await http.post("/ai/ask", json=body)).status_code == 200
    query = {"question": f"how much is it {marker}", "history": json.dumps(history)}
    assert (await http.get("/ai/ask", params=query)).status_code == 200

    await asyncio.sleep(0.2)  # the runs' clean-up lines
    assert len(of(log_events, "handoff.run")) == 2
    assert of(log_events, "request")  # lines were written and captured
    lines = every_log_line + [json.dumps(e, default=str) for e in log_events]
    assert not [line for line in lines if marker in line]
