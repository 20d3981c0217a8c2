"""Summaries kept in PostgreSQL (film_summary): a repeat is served with no model call; new facts,
another model or the cache switched off reach the model."""

import asyncio
import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import Field
from semantic_kernel.connectors.ai.prompt_execution_settings import PromptExecutionSettings
from semantic_kernel.contents import ChatHistory, ChatMessageContent
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from features.ai_summary import handler, query
from shared.ai.kernel import AIRuntime, get_ai, metered_runtime
from shared.settings import Settings, get_app_settings
from tests.fakes import FakeChat
from tests.fixtures.logs import of
from tests.support import scalar

SUMMARY = "A epic drama of a feminist and a mad scientist, starring Penelope Guiness."


def reply(summary: str = SUMMARY) -> str:
    # Title, rating and `recommended` are the database's and the rule's whatever the model says.
    return json.dumps({"title": "X", "rating": "G", "recommended": False, "summary": summary})


def runtime(app: FastAPI, chat: FakeChat, model: str) -> AIRuntime:
    return metered_runtime(chat, app.state.ai_slots, 30.0, provider="openai", model=model)


async def summarize(client: httpx.AsyncClient, film_id: int = 1) -> dict[str, Any]:
    response = await client.post("/ai/summary", json={"film_id": film_id})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_repeat_is_served_from_the_table_with_no_model_call(
    client: httpx.AsyncClient,
    db: AsyncConnection,
    fake_chat: FakeChat,
    log_events: list[dict[str, Any]],
) -> None:
    fake_chat.reply_always = reply()

    first = await summarize(client)
    again = await summarize(client)

    assert again == first
    assert first["summary"] == SUMMARY
    assert len(fake_chat.requests) == 1
    assert [e["cached"] for e in of(log_events, "summary.done")] == [False, True]
    assert all(SUMMARY not in str(v) for e in log_events for v in e.values())
    assert await scalar(db, "SELECT count(*) FROM film_summary WHERE film_id = 1") == 1


async def test_changed_facts_make_a_new_summary(
    client: httpx.AsyncClient, db: AsyncConnection, fake_chat: FakeChat
) -> None:
    fake_chat.reply_always = reply()
    await summarize(client)
    await summarize(client)
    assert len(fake_chat.requests) == 1

    await db.execute(text("UPDATE film SET rental_rate = rental_rate + 1 WHERE film_id = 1"))
    await summarize(client)
    await summarize(client)

    assert len(fake_chat.requests) == 2  # new facts: one new call, then kept
    assert await scalar(db, "SELECT count(*) FROM film_summary WHERE film_id = 1") == 2


async def test_another_model_makes_a_new_summary(
    app: FastAPI, client: httpx.AsyncClient, fake_chat: FakeChat
) -> None:
    fake_chat.reply_always = reply()
    await summarize(client)
    await summarize(client)
    assert len(fake_chat.requests) == 1

    other = FakeChat(ai_model_id="other", reply_always=reply("Another model's words."))
    app.dependency_overrides[get_ai] = lambda: runtime(app, other, "other")
    assert (await summarize(client))["summary"] == "Another model's words."
    assert (await summarize(client))["summary"] == "Another model's words."

    assert len(other.requests) == 1
    assert len(fake_chat.requests) == 1


async def test_with_the_cache_off_every_request_reaches_the_model(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncConnection, fake_chat: FakeChat
) -> None:
    fake_chat.reply_always = reply()
    await summarize(client)
    await summarize(client)
    assert len(fake_chat.requests) == 1

    settings: Settings = app.state.settings
    off = settings.model_copy(update={"ai_summary_cache": False})
    app.dependency_overrides[get_app_settings] = lambda: off
    try:
        await summarize(client)  # the summary kept above is not served either
        await summarize(client)
    finally:
        app.dependency_overrides.pop(get_app_settings, None)

    assert len(fake_chat.requests) == 3
    assert await scalar(db, "SELECT count(*) FROM film_summary WHERE film_id = 1") == 1


async def test_a_failure_to_store_is_logged_and_the_summary_served(
    client: httpx.AsyncClient,
    fake_chat: FakeChat,
    log_events: list[dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def fail(*_: Any) -> None:
        raise ConnectionError("database went away")

    monkeypatch.setattr(query, "store_summary", fail)
    fake_chat.reply_always = reply()

    assert (await summarize(client))["summary"] == SUMMARY
    assert (await summarize(client))["summary"] == SUMMARY

    assert len(fake_chat.requests) == 2
    [failed, _] = of(log_events, "summary.store_failed")
    assert failed["error"] == "ConnectionError"


class BothMiss(FakeChat):
    """Answers once `together` requests have arrived: concurrent requests all miss the cache,
    then all store their summary at once."""

    together: int = 2
    started: int = 0
    arrived: asyncio.Event = Field(default_factory=asyncio.Event)

    async def _inner_get_chat_message_contents(
        self, chat_history: ChatHistory, settings: PromptExecutionSettings
    ) -> list[ChatMessageContent]:
        self.started += 1
        if self.started >= self.together:
            self.arrived.set()
        async with asyncio.timeout(5):
            await self.arrived.wait()
        return await super()._inner_get_chat_message_contents(chat_history, settings)


async def test_two_concurrent_first_requests_both_succeed(
    app: FastAPI,
    committing_client: httpx.AsyncClient,
    log_events: list[dict[str, Any]],
) -> None:
    # Committed for real, so each request has its own connections; a model of its own, so no
    # other test's key is ever this one's.
    model = f"concurrent-{uuid.uuid4().hex[:8]}"
    chat = BothMiss(ai_model_id=model, reply_always=reply())
    app.dependency_overrides[get_ai] = lambda: runtime(app, chat, model)
    try:
        first, second = await asyncio.gather(
            summarize(committing_client, 2), summarize(committing_client, 2)
        )
        assert first == second
        assert len(chat.requests) == 2  # both missed
        assert of(log_events, "summary.store_failed") == []
        async with app.state.database.engine.connect() as conn:
            kept = await scalar(
                conn, "SELECT count(*) FROM film_summary WHERE model = :m", m=f"openai/{model}"
            )
        assert kept == 1
        assert (await summarize(committing_client, 2)) == first
        assert len(chat.requests) == 2
    finally:
        app.dependency_overrides.pop(get_ai, None)
        async with app.state.database.engine.begin() as conn:
            await conn.execute(
                text("DELETE FROM film_summary WHERE model = :m"), {"m": f"openai/{model}"}
            )


def test_the_key_names_facts_model_and_prompt() -> None:
    facts = {"title": "ACADEMY DINOSAUR", "rental_rate": "0.99"}
    key = handler.cache_key(facts, "openai/gpt-4o-mini")

    assert re.fullmatch("[0-9a-f]{64}", key)  # a hex SHA-256
    assert handler.cache_key(dict(facts), "openai/gpt-4o-mini") == key
    assert handler.cache_key({**facts, "rental_rate": "1.99"}, "openai/gpt-4o-mini") != key
    assert handler.cache_key(facts, "azure/gpt-4o-mini") != key
    assert handler.cache_key(facts, "openai/gpt-4o-mini", version="edited") != key


def test_the_prompt_version_is_a_digest_of_the_prompt_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert handler.prompt_version() == handler.PROMPT_VERSION
    for name in ("skprompt.txt", "config.json"):
        shutil.copy(handler.PROMPT_DIR / name, tmp_path / name)
    monkeypatch.setattr(handler, "PROMPT_DIR", tmp_path)
    assert handler.prompt_version() == handler.PROMPT_VERSION

    (tmp_path / "skprompt.txt").write_text(
        (tmp_path / "skprompt.txt").read_text().replace("short, factual", "brief, factual")
    )
    assert handler.prompt_version() != handler.PROMPT_VERSION
