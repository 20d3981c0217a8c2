import asyncio
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from devenv.embedded_postgres import EmbeddedPostgres
from main import create_app
from tests.fixtures.logs import of
from tests.support import ADMIN, make_dev_settings, make_settings, serve_on_loopback


async def test_health_and_ready(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "database": "ok", "llm": "not_checked"}


@pytest.fixture
async def app_without_database() -> AsyncIterator[FastAPI]:
    # Port 1 on loopback: nothing listens there, so every connection is refused at once.
    settings = make_settings(
        database_url="postgresql+asyncpg://postgres@127.0.0.1:1/pagila", db_connect_timeout_s=2
    )
    application = create_app(settings, make_dev_settings())
    async with application.router.lifespan_context(application):
        yield application


async def test_database_down_gives_503_json_not_a_traceback(
    app_without_database: FastAPI,
    caplog: pytest.LogCaptureFixture,
    log_events: list[dict[str, Any]],
) -> None:
    """An outage is an ordinary application error, answered inside the request middleware: the
    503 carries the request id, the access line says 503, and nothing logs a traceback."""
    caplog.set_level(logging.INFO)
    async with (
        serve_on_loopback(app_without_database) as url,
        httpx.AsyncClient(base_url=url) as client,
    ):
        films = await client.get("/films", headers={"X-Request-ID": "outage-films"})
        film = await client.get("/films/1", headers={"X-Request-ID": "outage-film"})
        rental = await client.post(
            "/customers/1/rentals",
            json={"inventory_id": 1, "staff_id": 1},
            headers={**ADMIN, "X-Request-ID": "outage-rental"},
        )
        ready = await client.get("/ready")
        health = await client.get("/health")

    access = {e["request_id"]: e["status"] for e in of(log_events, "request")}
    for response, request_id in (
        (films, "outage-films"),
        (film, "outage-film"),
        (rental, "outage-rental"),
    ):
        assert response.status_code == 503
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["X-Request-ID"] == request_id
        assert response.headers["Retry-After"] == "5"
        assert response.json()["detail"] == "The database is unavailable; please retry shortly."
        assert access[request_id] == 503
    assert not [e for e in log_events if "exception" in e], "an outage logged a traceback"
    assert not [r for r in caplog.records if r.exc_info], "the server logged a traceback"
    assert ready.status_code == 503
    assert ready.json()["status"] == "unavailable"
    assert health.status_code == 200


async def test_ready_follows_a_database_outage_and_recovery() -> None:
    parent = Path(tempfile.mkdtemp(prefix="pagila-outage-"))
    # As root the server runs as an unprivileged account (devenv/embedded_postgres.py).
    parent.chmod(0o755)
    server = EmbeddedPostgres(parent / "pg")
    try:
        await asyncio.to_thread(server.start)
        application = create_app(
            make_settings(database_url=server.url("postgres")), make_dev_settings()
        )
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
