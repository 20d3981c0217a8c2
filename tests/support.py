"""Helpers for tests (fixtures live in tests/fixtures/)."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from devenv.database import connect
from devenv.settings import DevSettings
from shared.http.server import UVICORN_HTTP
from shared.settings import Settings

# Unit tests never reach a model: the OpenAI connector is built with a dummy key (it makes no
# request until asked), and AI tests swap in a fake chat service. Real-model tests: tests/llm/.
UNIT_TEST_LLM = {"llm_provider": "openai", "openai_api_key": "sk-unit-tests-make-no-calls"}


# Every test asks from 127.0.0.1 or the test client's address, on one database, hundreds of AI
# questions a minute: the AI quotas (shared/ai/quota.py) are their own tests' to set low.
ROOMY_AI_QUOTAS = {
    "ai_requests_per_minute": 100_000,
    "ai_model_calls_per_minute": 100_000,
    "ai_model_calls_at_once": 1_000,
}


def make_settings(**overrides: Any) -> Settings:
    """Settings from the environment, ignoring any developer .env file."""
    return Settings(_env_file=None, **{**UNIT_TEST_LLM, **ROOMY_AI_QUOTAS, **overrides})


def make_dev_settings(**overrides: Any) -> DevSettings:
    """Provisioning settings from the environment (PAGILA_DIR etc.), ignoring any .env file.
    Apps under test get an already prepared database: no preparation on start by default."""
    return DevSettings(_env_file=None, **{"prepare_database": False, **overrides})


# The service credential (ADMIN_TOKEN): a rental made with it names its staff_id.
ADMIN = {"Authorization": f"Bearer {make_settings().admin_token.get_secret_value()}"}
# Pagila's staff and their sample password (an unsalted SHA-1 digest until their first sign-in).
MIKE = {"username": "Mike", "password": "12345"}  # staff 1, store 1
JON = {"username": "Jon", "password": "12345"}  # staff 2, store 2


async def sign_in(client: httpx.AsyncClient, credentials: dict[str, str]) -> dict[str, str]:
    """A member of staff's bearer header, from POST /token."""
    response = await client.post("/token", data=credentials)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def scalar(db: AsyncConnection, sql: str, **params: Any) -> Any:
    return (await db.execute(text(sql), params)).scalar_one()


async def column(db: AsyncConnection, sql: str, **params: Any) -> list[Any]:
    return list((await db.execute(text(sql), params)).scalars())


@asynccontextmanager
async def serve_on_loopback(app: FastAPI) -> AsyncIterator[str]:
    """Serve an app whose lifespan already ran with uvicorn on 127.0.0.1 (a free port), with
    the HTTP protocol `just serve` runs."""
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="off", log_config=None, http=UVICORN_HTTP
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # surfaces the startup error
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def served_client(
    app: FastAPI, client_timeout_s: float = 30.0
) -> AsyncIterator[httpx.AsyncClient]:
    """The app started (its lifespan), served on loopback, and a client of it: for tests of
    what only a real socket shows (outages, ordering, streaming)."""
    async with (
        app.router.lifespan_context(app),
        serve_on_loopback(app) as url,
        httpx.AsyncClient(base_url=url, timeout=client_timeout_s) as http,
    ):
        yield http


async def forget_failures(url: str, client: str) -> None:
    """Clear /token's committed failure tally of `client` (servers of other tests sign in from
    the same loopback address)."""
    conn = await connect(url)
    try:
        await conn.execute("DELETE FROM token_failure WHERE client = $1", client)
    finally:
        await conn.close()


async def forget_ai_calls(url: str, client: str) -> None:
    """Clear the committed AI quota use of `client` (shared/ai/quota.py), as forget_failures."""
    conn = await connect(url)
    try:
        await conn.execute("DELETE FROM ai_call WHERE client = $1", client)
    finally:
        await conn.close()
