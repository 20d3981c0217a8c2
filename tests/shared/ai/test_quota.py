"""AI quotas (shared/ai/quota.py): per client, held in PostgreSQL (committed, as in production),
and the service's daily token budget. Each test has an app of its own with low limits, and
clients of its own (addresses, staff) so that no other test's use counts against them."""

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from semantic_kernel.connectors.ai.completion_usage import CompletionUsage

from devenv.database import connect
from main import create_app
from shared.ai.kernel import get_ai
from tests.fakes import FakeChat, fake_runtime
from tests.support import (
    JON,
    forget_ai_calls,
    make_dev_settings,
    make_settings,
    serve_on_loopback,
    sign_in,
)

QuotaApp = Callable[..., AbstractAsyncContextManager[tuple[FastAPI, FakeChat]]]


@pytest.fixture
def quota_app(test_db_url: str) -> QuotaApp:
    @asynccontextmanager
    async def started(**limits: Any) -> AsyncIterator[tuple[FastAPI, FakeChat]]:
        app = create_app(make_settings(database_url=test_db_url, **limits), make_dev_settings())
        chat = FakeChat(ai_model_id="fake", chunks=["Quite ", "so."])
        async with app.router.lifespan_context(app):
            app.dependency_overrides[get_ai] = lambda: fake_runtime(chat, app.state.ai_slots)
            yield app, chat

    return started


def _from(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://test", timeout=30)


def _addresses() -> tuple[str, str]:
    net = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}"
    return f"{net}.1", f"{net}.2"


async def test_model_calls_a_minute_are_counted_per_client(quota_app: QuotaApp) -> None:
    one, other = _addresses()
    async with (
        quota_app(ai_model_calls_per_minute=2) as (app, chat),
        _from(app, one) as first,
        _from(app, other) as second,
    ):
        mine = [(await first.get("/ai/ask", params={"question": "hm?"})) for _ in range(3)]
        theirs = await second.get("/ai/ask", params={"question": "hm?"})

    assert [r.status_code for r in mine] == [200, 200, 429]
    assert 1 <= int(mine[2].headers["Retry-After"]) <= 60
    assert (
        mine[2].json()["detail"]
        == "Too many model calls from you in the last minute (2); please wait."
    )
    assert theirs.status_code == 200
    assert len(chat.requests) == 3  # the refused call never reached the model


async def test_one_client_flooding_the_model_leaves_another_clients_answers_alone(
    quota_app: QuotaApp, test_db_url: str
) -> None:
    """Over a real socket: a guest (127.0.0.1) holds two streams open, its third is a 429, and
    a signed-in clerk's question is answered meanwhile."""
    async with quota_app(ai_model_calls_at_once=2) as (app, chat):
        await forget_ai_calls(test_db_url, "address:127.0.0.1")
        chat.gate = asyncio.Event()  # every stream holds after its first chunk
        async with (
            serve_on_loopback(app) as url,
            httpx.AsyncClient(base_url=url, timeout=30) as http,
        ):
            jon = await sign_in(http, JON)
            held = [
                await http.send(
                    http.build_request("GET", "/ai/ask", params={"question": "q"}), stream=True
                )
                for _ in range(2)
            ]
            third = await http.get("/ai/ask", params={"question": "q"})
            async with http.stream(
                "GET", "/ai/ask", params={"question": "q"}, headers=jon
            ) as clerk:
                chunks = clerk.aiter_raw()
                first = await asyncio.wait_for(anext(chunks), timeout=10)
                chat.gate.set()
                rest = b"".join([chunk async for chunk in chunks])
            for response in held:
                await response.aread()
                await response.aclose()
        await forget_ai_calls(test_db_url, "address:127.0.0.1")

    assert [r.status_code for r in held] == [200, 200]
    assert third.status_code == 429
    assert (
        third.json()["detail"]
        == "You already have 2 answers from the model in progress; please wait for them."
    )
    assert clerk.status_code == 200
    assert first + rest == b"Quite so."


async def test_database_answers_are_counted_as_requests_only(quota_app: QuotaApp) -> None:
    one, _ = _addresses()
    async with (
        quota_app(ai_requests_per_minute=3, ai_model_calls_per_minute=1) as (app, chat),
        _from(app, one) as guest,
    ):
        statuses = [
            (
                await guest.post("/ai/handoff", json={"question": "how many films do you have"})
            ).status_code
            for _ in range(4)
        ]

    assert statuses == [200, 200, 200, 429]  # past the one model call a minute: no model asked
    assert chat.requests == []


async def test_the_daily_token_budget_stops_the_model_not_the_database(
    quota_app: QuotaApp, test_db_url: str
) -> None:
    one, _ = _addresses()
    await _forget_tokens(test_db_url)
    try:
        async with quota_app(ai_daily_token_budget=100) as (app, chat), _from(app, one) as guest:
            chat.usage = CompletionUsage(prompt_tokens=40, completion_tokens=30)
            model = [(await guest.get("/ai/ask", params={"question": "q"})) for _ in range(3)]
            store = await guest.post("/ai/handoff", json={"question": "how many films do you have"})
            spent = await _tokens_today(test_db_url)
    finally:
        await _forget_tokens(test_db_url)

    assert [r.status_code for r in model] == [200, 200, 503]  # 70, then 140 >= 100
    assert (
        model[2]
        .json()["detail"]
        .startswith("The assistant's model has used today's token budget (AI_DAILY_TOKEN_BUDGET)")
    )
    assert spent == 140
    assert store.status_code == 200
    assert len(chat.requests) == 2


async def _forget_tokens(url: str) -> None:
    conn = await connect(url)
    try:
        await conn.execute("DELETE FROM ai_token_use")
    finally:
        await conn.close()


async def _tokens_today(url: str) -> int:
    conn = await connect(url)
    try:
        return int(await conn.fetchval("SELECT coalesce(sum(tokens), 0) FROM ai_token_use"))
    finally:
        await conn.close()


async def test_the_assistants_model_calls_count_and_a_refusal_is_a_429(
    quota_app: QuotaApp,
) -> None:
    """The store assistant's general agent asks the model: past the quota, a 429 (not a 503
    for a model that is down); a store question is still answered from the database."""
    one, _ = _addresses()
    question = {"question": "how do i make a roux without it going lumpy"}
    async with (
        quota_app(ai_model_calls_per_minute=1) as (app, chat),
        _from(app, one) as guest,
    ):
        chat.reply_always = "Whisk the flour into the butter."
        general = [await guest.post("/ai/handoff", json=question) for _ in range(2)]
        store = await guest.post("/ai/handoff", json={"question": "how many films do you have"})

    assert [r.status_code for r in general] == [200, 429]
    assert general[1].json()["type"] == "/problems/ai-quota"
    assert store.status_code == 200
