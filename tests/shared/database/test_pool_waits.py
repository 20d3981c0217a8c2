"""The pools' bounded waits: with every connection busy, a read or a write waits at most
DB_POOL_TIMEOUT_S for one (its turn), then answers 503; the busy one still completes."""

import asyncio

from devenv.database import connect, migrate
from main import create_app
from tests.support import ADMIN, make_dev_settings, make_settings, served_client


async def test_a_read_waits_for_a_connection_only_so_long(fresh_pagila_url: str) -> None:
    await migrate(fresh_pagila_url)
    settings = make_settings(database_url=fresh_pagila_url, db_pool_size=1, db_pool_timeout_s=0.3)
    app = create_app(settings, make_dev_settings())
    blocker = await connect(fresh_pagila_url)
    try:
        async with served_client(app) as http:
            await blocker.execute("BEGIN; LOCK TABLE film IN ACCESS EXCLUSIVE MODE")
            held = asyncio.create_task(http.get("/films/1"))  # takes the one connection, waits
            await asyncio.sleep(0.5)
            async with asyncio.timeout(5):  # without the bound it would wait for the lock
                waiting = await http.get("/films/2")
            await blocker.execute("ROLLBACK")
            first = await held
    finally:
        await blocker.close()
    assert waiting.status_code == 503, waiting.text
    assert waiting.headers["Retry-After"] == "5"
    assert first.status_code == 200


async def test_a_write_waits_for_its_turn_only_so_long(fresh_pagila_url: str) -> None:
    await migrate(fresh_pagila_url)
    settings = make_settings(
        database_url=fresh_pagila_url, db_pool_size=1, db_max_overflow=0, db_pool_timeout_s=0.3
    )
    app = create_app(settings, make_dev_settings())
    blocker = await connect(fresh_pagila_url)
    rent = {"inventory_id": 1, "staff_id": 1}
    try:
        async with served_client(app) as http:
            await blocker.execute("BEGIN; LOCK TABLE rental IN ACCESS EXCLUSIVE MODE")
            # Takes the one write connection, and waits for the lock.
            held = asyncio.create_task(http.put("/rentals/1/return", headers=ADMIN))
            await asyncio.sleep(0.5)
            async with asyncio.timeout(5):  # without the bound it would wait for the lock
                waiting = await http.post("/customers/1/rentals", json=rent, headers=ADMIN)
            await blocker.execute("ROLLBACK")
            first = await held
    finally:
        await blocker.close()
    assert waiting.status_code == 503, waiting.text
    assert waiting.headers["Retry-After"] == "5"
    assert first.status_code == 409  # returned long ago: answered once the lock went
