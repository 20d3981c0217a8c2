"""Workers or hosts starting at the same instant on a fresh database: exactly one creates it,
restores Pagila and migrates; the others wait, then go on (WEB_CONCURRENCY=2 once lost a
`CREATE DATABASE` race and stopped the server)."""

import asyncio
import os
import sys
import uuid

from devenv.database import connect, drop_database, with_database
from shared.settings import PROJECT_ROOT

PREPARE = """
import asyncio, os, sys
from devenv.database import prepare
from devenv.settings import DevSettings
os.write(1, b"ready\\n")
sys.stdin.readline()  # all three start together
asyncio.run(prepare(os.environ["URL"], DevSettings(_env_file=None)))
"""


async def _prepare_process(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", PREPARE, cwd=PROJECT_ROOT, env=env,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip


async def test_three_processes_at_once_on_a_fresh_database(test_db_url: str) -> None:
    url = with_database(test_db_url, f"pagila_test_start_{uuid.uuid4().hex[:8]}")
    env = {**os.environ, "URL": url, "LOG_FORMAT": "console"}
    processes = [await _prepare_process(env) for _ in range(3)]
    try:
        for process in processes:  # each has imported everything and waits at the line
            assert process.stdout is not None
            assert await asyncio.wait_for(process.stdout.readline(), 60) == b"ready\n"
        for process in processes:
            assert process.stdin is not None
            process.stdin.write(b"go\n")
        outputs = await asyncio.wait_for(
            asyncio.gather(*(process.communicate() for process in processes)), 300
        )
        logs = [out.decode() for out, _ in outputs]
        assert [process.returncode for process in processes] == [0, 0, 0], logs
        assert sum(log.count("pagila.restored") for log in logs) == 1
        assert all("database.ready" in log for log in logs)
        conn = await connect(url)
        try:
            assert await conn.fetchval("SELECT count(*) FROM film") == 1000
        finally:
            await conn.close()
    finally:
        await drop_database(url)
