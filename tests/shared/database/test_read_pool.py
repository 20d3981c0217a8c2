"""The read pool's bounded wait: with every read connection busy, a read waits at most
DB_POOL_TIMEOUT_S for one, then answers 503; the busy read still completes."""

import asyncio

from devenv.database import connect, migrate
from main import create_app
from tests.support import make_dev_settings, make_settings, served_client


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
