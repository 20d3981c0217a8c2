"""The pools' bounded waits: with every connection busy, a read or a write waits at most
DB_POOL_TIMEOUT_S for one (its turn), then answers 503; the busy one still completes."""

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest
from prometheus_client import REGISTRY

from devenv.database import connect, migrate
from main import create_app
from tests.support import ADMIN, make_dev_settings, make_settings, served_client


@dataclass(frozen=True)
class Wait:
    locked: str  # the table whose lock holds the one connection's request
    held: tuple[str, str, dict[str, Any]]  # method, path, request options
    waiting: tuple[str, str, dict[str, Any]]
    held_status: int  # the held request's answer once the lock goes


# Both cases wait for the driver's pool: reads, and writes of one statement, share it when
# reads have no server of their own (a replica).
POOL = "read"
RENT = {"json": {"inventory_id": 1, "staff_id": 1}, "headers": ADMIN}
WAITS = {
    "read": Wait("film", ("GET", "/films/1", {}), ("GET", "/films/2", {}), 200),
    # Rental 1 was returned long ago: once the lock goes, the database answers 409.
    "write": Wait(
        "rental",
        ("PUT", "/rentals/1/return", {"headers": ADMIN}),
        ("POST", "/customers/1/rentals", RENT),
        409,
    ),
}


@pytest.mark.parametrize("wait", WAITS.values(), ids=WAITS.keys())
async def test_a_request_waits_for_a_connection_only_so_long(
    fresh_pagila_url: str, wait: Wait
) -> None:
    await migrate(fresh_pagila_url)
    settings = make_settings(
        database_url=fresh_pagila_url, db_pool_size=1, db_max_overflow=0, db_pool_timeout_s=0.3
    )
    app = create_app(settings, make_dev_settings())
    waits_before, time_before = _waited(POOL)
    blocker = await connect(fresh_pagila_url)
    try:
        async with served_client(app) as http:
            await blocker.execute(f"BEGIN; LOCK TABLE {wait.locked} IN ACCESS EXCLUSIVE MODE")
            method, path, options = wait.held
            # Takes the one connection, and waits for the lock.
            held = asyncio.create_task(http.request(method, path, **options))
            await asyncio.sleep(0.5)
            method, path, options = wait.waiting
            async with asyncio.timeout(5):  # without the bound it would wait for the lock
                waiting = await http.request(method, path, **options)
            await blocker.execute("ROLLBACK")
            first = await held
    finally:
        await blocker.close()
    assert waiting.status_code == 503, waiting.text
    assert waiting.headers["Retry-After"] == "5"
    assert first.status_code == wait.held_status
    waits_after, time_after = _waited(POOL)
    # The waiting request, counted once, with the time it waited (the bound, 0.3 s).
    assert waits_after - waits_before == 1
    assert 0.29 <= time_after - time_before < 5


def _waited(pool: str) -> tuple[float, float]:
    """The pool's waits and the seconds they took, as Prometheus reads them."""
    found = {"pagila_db_pool_waits_total": 0.0, "pagila_db_pool_wait_time_seconds_total": 0.0}
    for family in REGISTRY.collect():
        for sample in family.samples:
            if sample.name in found and sample.labels.get("pool") == pool:
                found[sample.name] += sample.value
    return found["pagila_db_pool_waits_total"], found["pagila_db_pool_wait_time_seconds_total"]
