"""`WEB_CONCURRENCY=2 just serve`: two uvicorn worker processes answer alike. Nothing a response
depends on may differ by process: what each holds (a statement built on first use) must give
every worker the same answers, and what must be shared (/token's failure tally) lives in
PostgreSQL."""

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from devenv.ports import free_port
from shared.http.server import UVICORN_HTTP
from shared.settings import PROJECT_ROOT
from tests.support import ADMIN, MIKE, column, forget_ai_calls, forget_failures, scalar

PATHS = ["/films?limit=5&offset=10", "/films?category=horror&limit=3", "/films/42", "/rentals/7"]


@contextmanager
def _two_workers(test_db_url: str, tmp_path: Path, **env: str) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = tmp_path / "server.log"
    environment = {
        **os.environ,
        "WEB_CONCURRENCY": "2",  # read by uvicorn itself, as under `just serve`
        "DATABASE_URL": test_db_url,
        "PREPARE_DATABASE": "false",
        "LOG_FORMAT": "json",
        **env,
    }
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603 - our own app
            [
                sys.executable,
                "-m",
                "uvicorn",
                "main:create_app",
                "--factory",
                "--http",
                UVICORN_HTTP,
                "--port",
                str(port),
            ],
            cwd=PROJECT_ROOT,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield f"http://127.0.0.1:{port}", log
    finally:
        server.terminate()
        server.wait(timeout=60)


@pytest.fixture
def two_workers(test_db_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    hosted = {"LLM_PROVIDER": "openai", "OPENAI_API_KEY": "sk-unit-tests-make-no-calls"}
    with _two_workers(test_db_url, tmp_path, **hosted) as served:
        yield served


def _offline() -> dict[str, str]:
    """The offline rules router answers store questions; its model (nowhere) is never asked."""
    return {
        "LLM_PROVIDER": "openai-compatible",
        "LLM_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
    }


@pytest.fixture
def two_offline_workers(test_db_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    with _two_workers(test_db_url, tmp_path, **_offline()) as served:
        yield served


AI_REQUESTS_PER_MINUTE = 4


@pytest.fixture
def two_metered_workers(test_db_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    quota = {"AI_REQUESTS_PER_MINUTE": str(AI_REQUESTS_PER_MINUTE)}
    with _two_workers(test_db_url, tmp_path, **_offline(), **quota) as served:
        yield served


def _pids_that_served(log: Path, path: str | None = None, after_line: int = 0) -> set[int]:
    pids = set()
    for line in log.read_text().splitlines()[after_line:]:
        if line.startswith("{"):
            event = json.loads(line)
            if event.get("event") != "request" or event.get("path") == "/health":
                continue
            if path is None or event.get("path") == path:
                pids.add(event["pid"])
    return pids


async def _started(url: str, log: Path) -> None:
    deadline = time.monotonic() + 180
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        while True:
            try:
                if (await client.get("/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"server did not start: {log.read_text()}"
            await asyncio.sleep(0.25)


async def test_the_token_limit_holds_whichever_worker_answers(
    two_workers: tuple[str, Path], test_db_url: str
) -> None:
    """Five wrong passwords from one client, each on a new connection (the kernel spreads them
    over both workers): the sixth attempt is a 429, whichever worker answers it."""
    url, log = two_workers
    await _started(url, log)
    wrong = {**MIKE, "password": "wrong"}
    try:
        for _ in range(10):  # until the attempts reached both workers
            await forget_failures(test_db_url, "127.0.0.1")
            offset = len(log.read_text().splitlines())
            statuses = []
            for _ in range(6):
                async with httpx.AsyncClient(base_url=url, timeout=30) as fresh:
                    statuses.append((await fresh.post("/token", data=wrong)).status_code)
            await asyncio.sleep(0.2)  # let the access lines reach the log
            if len(_pids_that_served(log, "/token", offset)) == 2:
                break
        assert len(_pids_that_served(log, "/token", offset)) == 2, "one worker took them all"
    finally:
        await forget_failures(test_db_url, "127.0.0.1")
    assert statuses == [401] * 5 + [429]


async def test_two_workers_serve_the_same_results(two_workers: tuple[str, Path]) -> None:
    url, log = two_workers
    await _started(url, log)

    answers: dict[str, set[bytes]] = {path: set() for path in PATHS}
    # Fresh connections, many at once, until both workers have served (the kernel spreads
    # accepted connections between the processes).
    for _ in range(20):
        async with httpx.AsyncClient(base_url=url, timeout=30) as fresh:
            responses = await asyncio.gather(
                *(
                    fresh.get(path, headers={"Connection": "close", **ADMIN})  # /rentals: staff
                    for path in PATHS * 8
                )
            )
        for response in responses:
            assert response.status_code == 200, response.text
            answers[str(response.request.url.raw_path, "ascii")].add(response.content)
        await asyncio.sleep(0.2)  # let the access lines reach the log
        if len(_pids_that_served(log)) == 2:
            break

    assert len(_pids_that_served(log)) == 2, "one worker served everything"
    for path, bodies in answers.items():
        assert len(bodies) == 1, f"{path} answered differently: {bodies}"


async def test_any_worker_answers_the_next_turn_of_a_conversation(
    two_offline_workers: tuple[str, Path], test_db_url: str
) -> None:
    """The service keeps no conversation: each turn, on a new connection, carries the ones
    before it, so whichever worker answers it resolves "it" the same."""
    url, log = two_offline_workers
    await _started(url, log)
    engine = create_async_engine(test_db_url)
    async with engine.connect() as conn:
        rate = await scalar(conn, "SELECT rental_rate FROM film WHERE title = 'AFRICAN EGG'")
        cast = await column(
            conn,
            "SELECT last_name FROM actor JOIN film_actor USING (actor_id) JOIN film USING"
            " (film_id) WHERE title = 'AFRICAN EGG'",
        )
    await engine.dispose()
    turns = ["do you have african egg", "how much is it", "who is in it"]
    for _ in range(10):  # until the turns of one conversation reached both workers
        offset = len(log.read_text().splitlines())
        history: list[dict[str, str]] = []
        answers = []
        for question in turns:
            async with httpx.AsyncClient(base_url=url, timeout=30) as fresh:
                response = await fresh.post(
                    "/ai/handoff",
                    json={"question": question, "history": history},
                    headers={"Connection": "close"},
                )
            assert response.status_code == 200, response.text
            answer = response.json()["answer"]
            answers.append(answer)
            history += [
                {"role": "user", "content": question},
                {"role": "assistant", "content": answer},
            ]
        await asyncio.sleep(0.2)  # let the access lines reach the log
        if len(_pids_that_served(log, "/ai/handoff", offset)) == 2:
            break
    assert len(_pids_that_served(log, "/ai/handoff", offset)) == 2, "one worker took them all"
    assert "AFRICAN EGG" in answers[0]
    assert f"${rate:.2f}" in answers[1]
    assert any(name.lower() in answers[2].lower() for name in cast)


async def test_the_ai_quota_holds_whichever_worker_answers(
    two_metered_workers: tuple[str, Path], test_db_url: str
) -> None:
    """One client's fifth AI request in a minute, allowed four, is a 429 whichever worker
    answers it: the quota is counted in PostgreSQL, not in a worker's memory."""
    url, log = two_metered_workers
    await _started(url, log)
    question = {"question": "how many films do you have"}
    try:
        for _ in range(10):  # until the requests reached both workers
            await forget_ai_calls(test_db_url, "address:127.0.0.1")
            offset = len(log.read_text().splitlines())
            statuses = []
            for _ in range(AI_REQUESTS_PER_MINUTE + 1):
                async with httpx.AsyncClient(base_url=url, timeout=30) as fresh:
                    response = await fresh.post(
                        "/ai/handoff", json=question, headers={"Connection": "close"}
                    )
                    statuses.append(response.status_code)
            await asyncio.sleep(0.2)  # let the access lines reach the log
            if len(_pids_that_served(log, "/ai/handoff", offset)) == 2:
                break
        assert len(_pids_that_served(log, "/ai/handoff", offset)) == 2, "one worker took them all"
    finally:
        await forget_ai_calls(test_db_url, "address:127.0.0.1")
    assert statuses == [200] * AI_REQUESTS_PER_MINUTE + [429]
