from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

ADMIN = {"Authorization": "Bearer dvd_admin"}


async def scalar(db: AsyncConnection, sql: str, **params: Any) -> Any:
    return (await db.execute(text(sql), params)).scalar_one()


async def column(db: AsyncConnection, sql: str, **params: Any) -> list[Any]:
    return list((await db.execute(text(sql), params)).scalars())
