"""The benchmark's floor must do the API's work: the same rows (from its own hand-written SQL),
the same JSON, byte for byte. A floor that did less would flatter nothing but itself; one that
did more would flatter the API. The same for the floor's work done by FastAPI alone."""

from collections.abc import AsyncIterator

import httpx
import pytest

from bench import fastapi_floor, floor

PATHS = [
    "/films?limit=20&offset=100",
    "/films?category=comedy",
    "/films?category=COMEDY&limit=3&offset=50",
    "/films?offset=5000",
    "/films?q=drama",
    "/films?q=%22mad%20scientist%22&category=documentary&rating=PG&limit=5",
    "/films?streaming=false&rating=G&offset=20",
    "/films/1",
    "/films/1000",
]


@pytest.fixture(params=["floor", "FastAPI alone"])
async def floor_client(
    request: pytest.FixtureRequest, test_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[httpx.AsyncClient]:
    monkeypatch.setenv("DATABASE_URL", test_db_url)
    app = floor.app if request.param == "floor" else fastapi_floor.app
    async with (
        floor.lifespan(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://floor"
        ) as client,
    ):
        yield client


@pytest.mark.parametrize("path", PATHS)
async def test_the_floor_answers_what_the_api_answers(
    client: httpx.AsyncClient, floor_client: httpx.AsyncClient, path: str
) -> None:
    api = await client.get(path)
    bare = await floor_client.get(path)

    assert api.status_code == bare.status_code == 200
    assert api.content == bare.content
