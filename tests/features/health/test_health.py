from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from main import create_app
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
