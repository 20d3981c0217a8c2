"""`just staff-password USERNAME`: a member of staff's own password, argon2-hashed, so that no one
has to keep Pagila's sample 12345. Run as the recipe runs it, on a database of its own."""

import asyncio
import os
import sys

import httpx

from devenv.database import connect, migrate
from main import create_app
from shared.settings import PROJECT_ROOT
from tests.support import JON, make_dev_settings, make_settings


async def _set_password(url: str, username: str, typed: str) -> tuple[int, str]:
    env = {**os.environ, "DATABASE_URL": url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "devenv", "password", username,
        cwd=PROJECT_ROOT, env=env, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(f"{typed}\n".encode()), timeout=120)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def _stored(url: str, username: str) -> str:
    conn = await connect(url)
    try:
        return str(await conn.fetchval("SELECT password FROM staff WHERE username = $1", username))
    finally:
        await conn.close()


async def test_a_new_password_replaces_the_sample_one(fresh_pagila_url: str) -> None:
    url = fresh_pagila_url
    await migrate(url)
    sample = await _stored(url, "Jon")

    too_short = await _set_password(url, "Jon", "1234567")
    nobody = await _set_password(url, "Jonathan", "a long passphrase")
    kept = await _stored(url, "Jon")
    done = await _set_password(url, "Jon", "a long passphrase")

    assert too_short[0] == 1
    assert "at least 8 characters; nothing changed" in too_short[1]
    assert nobody[0] == 1
    assert "no member of staff has the username 'Jonathan'" in nobody[1]
    assert kept == sample
    assert done == (0, "password: set for Jon; their next sign-in uses it\n")
    assert (await _stored(url, "Jon")).startswith("$argon2id$")
    app = create_app(make_settings(database_url=url), make_dev_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            old = await client.post("/token", data=JON)
            new = await client.post("/token", data={**JON, "password": "a long passphrase"})
    assert old.status_code == 401
    assert new.status_code == 200
