"""Test fixtures: a real PostgreSQL, a fresh Pagila database per run, a rolled-back transaction
per test.

Server: TEST_DATABASE_URL or DATABASE_URL when set, else the embedded server. Per run we restore
Pagila once into a template database, clone it (CREATE DATABASE ... TEMPLATE, a file copy) for
the app and migrate the clone; migration tests clone their own fresh copy.
"""

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from main import create_app
from shared.ai_kernel import get_ai
from shared.bootstrap import migrate, restore_pagila_if_needed
from shared.database import connect, database_url, drop_database, get_sessionmaker, with_database
from shared.settings import Settings
from tests.fakes import FakeChat, fake_runtime
from tests.helpers import serve_on_loopback

RUN_ID = uuid.uuid4().hex[:8]


# Unit tests never reach a model: the OpenAI connector is built with a dummy key (it makes no
# request until asked), and AI tests swap in a fake chat service. Real-model tests: tests/llm/.
UNIT_TEST_LLM = {"llm_provider": "openai", "openai_api_key": "sk-unit-tests-make-no-calls"}


def make_settings(**overrides: Any) -> Settings:
    """Settings from the environment (PAGILA_DIR etc.), ignoring any developer .env file."""
    return Settings(_env_file=None, **{**UNIT_TEST_LLM, **overrides})


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    with database_url(make_settings(database_url=None)) as embedded:
        yield embedded


async def clone_database(template_url: str, name: str) -> str:
    template = template_url.rsplit("/", 1)[-1].split("?", 1)[0]
    conn = await connect(template_url, database="postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()
    return with_database(template_url, name)


@pytest.fixture(scope="session")
async def pagila_template_url(server_url: str) -> AsyncIterator[str]:
    """Freshly restored Pagila, not migrated. Never connected to after restore (templates
    must be idle to be copied)."""
    url = with_database(server_url, f"pagila_test_template_{RUN_ID}")
    await restore_pagila_if_needed(url, make_settings())
    yield url
    await drop_database(url)


@pytest.fixture
async def fresh_pagila_url(pagila_template_url: str) -> AsyncIterator[str]:
    url = await clone_database(pagila_template_url, f"pagila_test_fresh_{uuid.uuid4().hex[:8]}")
    yield url
    await drop_database(url)


@pytest.fixture(scope="session")
async def test_db_url(pagila_template_url: str) -> AsyncIterator[str]:
    url = await clone_database(pagila_template_url, f"pagila_test_{RUN_ID}")
    await migrate(url)
    yield url
    await drop_database(url)


@pytest.fixture(scope="session")
def settings(test_db_url: str) -> Settings:
    return make_settings(database_url=test_db_url)


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def db(app: FastAPI) -> AsyncIterator[AsyncConnection]:
    """A connection in a transaction that is rolled back after the test. Requests made during
    the test run in savepoints inside it, so they see each other's writes and the test's."""
    async with app.state.engine.connect() as conn:
        transaction = await conn.begin()
        bound = async_sessionmaker(
            bind=conn,
            class_=AsyncSession,
            expire_on_commit=False,
            join_transaction_mode="create_savepoint",
        )
        app.dependency_overrides[get_sessionmaker] = lambda: bound
        try:
            yield conn
        finally:
            app.dependency_overrides.pop(get_sessionmaker, None)
            await transaction.rollback()


@pytest.fixture
async def client(app: FastAPI, db: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        yield http


@pytest.fixture
async def committing_client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests really commit (for concurrency tests); clean up after yourself."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        yield http


@pytest.fixture
def fake_chat(app: FastAPI) -> Iterator[FakeChat]:
    """The app's AI runtime with a FakeChat registered in place of the real chat service."""
    chat = FakeChat(ai_model_id="fake")
    app.dependency_overrides[get_ai] = lambda: fake_runtime(chat)
    yield chat
    app.dependency_overrides.pop(get_ai, None)


@pytest.fixture(scope="session")
async def live_url(app: FastAPI) -> AsyncIterator[str]:
    """The app on a real loopback socket, for true streaming and disconnects."""
    async with serve_on_loopback(app) as url:
        yield url
