import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

ADMIN = {"Authorization": "Bearer dvd_admin"}


async def scalar(db: AsyncConnection, sql: str, **params: Any) -> Any:
    return (await db.execute(text(sql), params)).scalar_one()


async def column(db: AsyncConnection, sql: str, **params: Any) -> list[Any]:
    return list((await db.execute(text(sql), params)).scalars())


@asynccontextmanager
async def serve_on_loopback(app: FastAPI) -> AsyncIterator[str]:
    """Serve an app whose lifespan already ran with uvicorn on 127.0.0.1 (a free port)."""
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # surfaces the startup error
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
