"""`just db-reset` never destroys silently: it says which database on which server it drops and
asks; `--yes` is for scripts; a server on another machine needs `--remote`."""

import asyncio
import os
import pty
import sys

from devenv.database import connect
from shared.settings import PROJECT_ROOT


async def _reset(url: str, *args: str, stdin: int | None = None) -> tuple[int, str]:
    env = {**os.environ, "DATABASE_URL": url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "devenv", "reset", *args,
        cwd=PROJECT_ROOT, env=env, stdin=stdin if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode is not None
    return process.returncode, out.decode()


async def _mark(url: str) -> None:
    conn = await connect(url)
    try:
        await conn.execute("CREATE TABLE reset_marker ()")
    finally:
        await conn.close()


async def _marked(url: str) -> bool:
    conn = await connect(url)
    try:
        return bool(await conn.fetchval("SELECT to_regclass('reset_marker') IS NOT NULL"))
    finally:
        await conn.close()


async def test_with_nobody_to_ask_it_drops_nothing(fresh_pagila_url: str) -> None:
    await _mark(fresh_pagila_url)
    code, said = await _reset(fresh_pagila_url)
    name = fresh_pagila_url.rsplit("/", 1)[1]
    assert code == 1
    assert f"would drop database '{name}' on 127.0.0.1:5432 (DATABASE_URL)" in said
    assert "add --yes" in said
    assert await _marked(fresh_pagila_url)


async def test_no_at_the_prompt_drops_nothing(fresh_pagila_url: str) -> None:
    await _mark(fresh_pagila_url)
    terminal, tty = pty.openpty()
    os.write(terminal, b"n\n")  # typed ahead: read at the prompt
    try:
        code, said = await _reset(fresh_pagila_url, stdin=tty)
    finally:
        os.close(tty)
        os.close(terminal)
    assert code == 1
    name = fresh_pagila_url.rsplit("/", 1)[1]
    assert f"This drops database '{name}' on 127.0.0.1:5432 (DATABASE_URL)" in said
    assert "Drop it? [y/N]" in said
    assert await _marked(fresh_pagila_url)


async def test_a_server_elsewhere_needs_remote(fresh_pagila_url: str) -> None:
    code, said = await _reset("postgresql://postgres@db.example.com:5432/pagila", "--yes")
    assert code == 1
    assert "refusing to drop database 'pagila' on db.example.com:5432" in said
    assert "--remote" in said


async def test_yes_drops_and_rebuilds_and_says_so(fresh_pagila_url: str) -> None:
    await _mark(fresh_pagila_url)
    code, said = await _reset(fresh_pagila_url, "--yes")
    assert code == 0, said
    assert "db-reset: dropped and rebuilt database" in said
    assert not await _marked(fresh_pagila_url)
    conn = await connect(fresh_pagila_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM film") == 1000
    finally:
        await conn.close()
