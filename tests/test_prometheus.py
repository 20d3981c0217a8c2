"""A real Prometheus (Debian's `prometheus`) scrapes the running app; the series it stores,
read back through its HTTP API after a known workload, count exactly that workload."""

import asyncio
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import start_http_server
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from devenv.ports import free_port
from shared.observability import telemetry
from tests.fakes import FakeChat
from tests.support import ADMIN

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
pytestmark = pytest.mark.skipif(
    not Path(PROMETHEUS).exists(), reason="Debian's prometheus package (.ci/run installs it)"
)


@pytest.fixture(scope="module")
def metrics_url(app: FastAPI) -> str:
    """The app's Prometheus endpoint: the port the app took (METRICS_PORT), or, when another
    process holds that one, the same registry on a free port."""
    port = telemetry.metrics_port()
    if port is None:
        server, _ = start_http_server(0, addr="127.0.0.1")
        port = server.server_port
    return f"127.0.0.1:{port}"


@pytest.fixture(scope="module")
def prometheus(metrics_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Prometheus scraping the app every 3 s, with its HTTP API on a free port. The app's
    registry holds the whole test session's series, and under coverage's tracer rendering them
    takes a while: one scrape at a time (timeout = interval), never a pile of them."""
    work = tmp_path_factory.mktemp("prometheus")
    config = work / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 3s, scrape_timeout: 3s}\n"
        "scrape_configs:\n"
        f"  - job_name: pagila\n    static_configs: [{{targets: ['{metrics_url}']}}]\n"
    )
    port = free_port()
    process = subprocess.Popen(  # noqa: S603 (our own arguments)
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={work / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(work / "prometheus.log").open("w"),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            raise RuntimeError((work / "prometheus.log").read_text()[-2000:])
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _query(prometheus: str, query: str) -> float:
    """The instant value of `query` (0 when it has no series)."""
    async with httpx.AsyncClient(timeout=5) as client:
        body = (await client.get(f"{prometheus}/api/v1/query", params={"query": query})).json()
    assert body["status"] == "success", body
    return sum(float(series["value"][1]) for series in body["data"]["result"])


async def _scraped_after(prometheus: str, moment: float) -> None:
    """Wait until Prometheus has scraped the app successfully, a scrape begun after `moment`
    (epoch seconds) and stored."""
    async with httpx.AsyncClient(timeout=5) as client:
        target = None
        for _ in range(900):  # 90 s at most
            targets = (await client.get(f"{prometheus}/api/v1/targets")).json()["data"]
            [target] = targets["activeTargets"] or [None]
            if target is not None and target["health"] == "up":
                scraped = datetime.fromisoformat(target["lastScrape"]).timestamp()
                if scraped > moment:
                    await asyncio.sleep(0.05)  # its samples committed
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"Prometheus did not scrape the app: {target}")


@pytest.fixture
async def http(
    app: FastAPI, db: AsyncConnection, live_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live_url, timeout=30) as client:
        yield client


FILMS = (
    'sum(http_server_request_duration_seconds_count{http_route="/films",'
    'http_request_method="GET",http_response_status_code="200"})'
)
RENTALS = "sum(pagila_rentals_created_total)"
TTFT = 'sum(pagila_ai_time_to_first_token_seconds_count{feature="ask"})'


async def test_prometheus_reads_the_workload_back(
    prometheus: str, http: httpx.AsyncClient, db: AsyncConnection, fake_chat: FakeChat
) -> None:
    await _scraped_after(prometheus, time.time())
    before = {q: await _query(prometheus, q) for q in (FILMS, RENTALS, TTFT)}
    free_copy: int = (
        await db.execute(
            text(
                "SELECT inventory_id FROM inventory i WHERE NOT EXISTS (SELECT 1 FROM rental r"
                " WHERE r.inventory_id = i.inventory_id AND r.return_date IS NULL) LIMIT 1"
            )
        )
    ).scalar_one()
    fake_chat.chunks = ["Pagila ", "has ", "films."]

    pages = 7
    for page in range(pages):
        assert (
            await http.get("/films", params={"limit": 5, "offset": 5 * page})
        ).status_code == 200
    rented = await http.post(
        "/customers/1/rentals", json={"inventory_id": free_copy, "staff_id": 1}, headers=ADMIN
    )
    asked = await http.get("/ai/ask", params={"question": "How many films?"})
    assert rented.status_code == 201, rented.text
    assert asked.text == "Pagila has films."

    await _scraped_after(prometheus, time.time())
    after = {q: await _query(prometheus, q) for q in (FILMS, RENTALS, TTFT)}
    assert after[FILMS] - before[FILMS] == pages
    assert after[RENTALS] - before[RENTALS] == 1
    assert after[TTFT] - before[TTFT] == 1
