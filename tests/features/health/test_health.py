import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from main import create_app
from shared.embedded_db import EmbeddedPostgres
from tests.conftest import make_settings


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok"}


@pytest.fixture
async def app_without_database() -> AsyncIterator[FastAPI]:
    # Port 1 on loopback: nothing listens there, so every connection is refused at once.
    settings = make_settings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/pagila", db_connect_timeout_s=2
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def test_database_down_gives_503_json_not_a_traceback(
    app_without_database: FastAPI,
) -> None:
    transport = httpx.ASGITransport(app=app_without_database, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        films = await client.get("/films")
        rental = await client.post(
            "/customers/1/rentals",
            json={"inventory_id": 1, "staff_id": 1},
            headers={"Authorization": "Bearer dvd_admin"},
        )
        ready = await client.get("/ready")
        health = await client.get("/health")

    for response in (films, rental):
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"detail": "The database is unavailable; please retry shortly."}
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert health.status_code == 200


async def test_ready_follows_a_database_outage_and_recovery() -> None:
    parent = Path(tempfile.mkdtemp(prefix="pagila-outage-"))
    parent.chmod(0o755)  # as root the server runs as an unprivileged account; see embedded_db
    server = EmbeddedPostgres(parent / "pg")
    try:
        await asyncio.to_thread(server.start)
        application = create_app(make_settings(database_url=server.url("postgres")))
        transport = httpx.ASGITransport(app=application)
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(transport=transport, base_url="http://test") as client,
        ):
            assert (await client.get("/ready")).status_code == 200
            await asyncio.to_thread(server.stop)
            assert (await client.get("/ready")).status_code == 503
            await asyncio.to_thread(server.start)
            assert (await client.get("/ready")).status_code == 200
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(parent, ignore_errors=True)
