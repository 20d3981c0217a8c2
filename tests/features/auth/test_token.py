import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from main import create_app
from tests.fixtures.logs import of
from tests.support import make_dev_settings, make_settings

SETTINGS = make_settings()
CREDENTIALS = {
    "username": SETTINGS.admin_username,
    "password": SETTINGS.admin_password.get_secret_value(),
}


async def test_token_endpoint_issues_the_bearer_token(client: httpx.AsyncClient) -> None:
    ok = await client.post("/token", data=CREDENTIALS)
    wrong = await client.post("/token", data={**CREDENTIALS, "password": "nope"})

    assert ok.status_code == 200
    assert ok.json() == {
        "access_token": SETTINGS.admin_token.get_secret_value(),
        "token_type": "bearer",
    }
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    assert wrong.json() == {"detail": "Incorrect username or password."}


@pytest.fixture
async def strict_app(test_db_url: str) -> AsyncIterator[FastAPI]:
    """An app of its own on the test database (committed writes), allowing 3 failures a minute
    per client."""
    app = create_app(
        make_settings(database_url=test_db_url, token_max_failures=3), make_dev_settings()
    )
    async with app.router.lifespan_context(app):
        yield app


async def test_failed_attempts_are_rate_limited_per_client(
    strict_app: FastAPI, log_events: list[dict[str, Any]]
) -> None:
    app, events = strict_app, log_events
    wrong = {**CREDENTIALS, "password": "hunter2"}

    def client(address: str) -> httpx.AsyncClient:
        transport = httpx.ASGITransport(app=app, client=(address, 50000))
        return httpx.AsyncClient(transport=transport, base_url="http://test")

    # The tally is in the database, committed, shared by every app: addresses of this test's own.
    net = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}"
    async with client(f"{net}.1") as attacker, client(f"{net}.2") as other:
        failures = [(await attacker.post("/token", data=wrong)).status_code for _ in range(3)]
        locked = await attacker.post("/token", data=CREDENTIALS)  # even the right password
        elsewhere = await other.post("/token", data=CREDENTIALS)

    assert failures == [401, 401, 401]
    assert locked.status_code == 429
    assert 1 <= int(locked.headers["Retry-After"]) <= 60
    assert locked.json() == {"detail": "Too many failed sign-in attempts; try again later."}
    assert elsewhere.status_code == 200
    logged = of(events, "auth.token_failed")
    assert [(e["client"], e["failures"], e["level"]) for e in logged] == [
        (f"{net}.1", n, "warning") for n in (1, 2, 3)
    ]
    assert "hunter2" not in repr(events)


async def test_a_json_body_is_told_the_endpoint_takes_a_form(client: httpx.AsyncClient) -> None:
    response = await client.post("/token", json={"username": "admin", "password": "admin"})

    assert response.status_code == 415
    assert response.json() == {
        "detail": "POST /token takes a form (application/x-www-form-urlencoded), not JSON: "
        "username=...&password=..."
    }


async def test_a_burst_of_guesses_cannot_slip_past_the_limit(strict_app: FastAPI) -> None:
    """Ten wrong passwords at once from one client, allowed 3: exactly 3 are looked at (401),
    the rest are refused (429); parallel attempts take turns on the client's tally."""
    wrong = {**CREDENTIALS, "password": "guess"}
    address = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.9"
    transport = httpx.ASGITransport(app=strict_app, client=(address, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as attacker:
        statuses = await asyncio.gather(*(attacker.post("/token", data=wrong) for _ in range(10)))
    assert sorted(r.status_code for r in statuses) == [401] * 3 + [429] * 7
