"""DB_POOLER=transaction against a real PgBouncer 1.18 in transaction mode (Debian's package),
in front of the test PostgreSQL, with a server pool smaller than the app's pools so that the
app's connections share server connections as they do at scale."""

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from devenv.__main__ import reset_target
from devenv.database import (
    PoolerWithoutDirectURLError,
    connect,
    direct_url,
    drop_database,
    migrate,
    prepare,
    with_database,
)
from devenv.pgbouncer import PgBouncer, pgbouncer_binary, pgbouncer_in_front_of
from devenv.ports import free_port
from main import create_app
from shared.database import StatementTimeoutNotSetError
from shared.database.connections import asyncpg_connect_args
from shared.http.server import UVICORN_HTTP
from shared.settings import PROJECT_ROOT
from tests.support import ADMIN, make_dev_settings, make_settings, served_client

TIMEOUT_MS = 500


@pytest.fixture
def pgbouncer(server_url: str) -> Iterator[PgBouncer]:
    try:
        pgbouncer_binary()
    except RuntimeError as exc:
        pytest.fail(f"{exc} (`.ci/run` installs it)")
    folder = Path(tempfile.mkdtemp(prefix="pagila-pgbouncer-"))
    try:
        with pgbouncer_in_front_of(server_url, folder, pool_size=2) as bouncer:
            yield bouncer
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
async def pooled_url(fresh_pagila_url: str, pgbouncer: PgBouncer) -> str:
    """A migrated Pagila whose role has our statement timeout, and its URL through PgBouncer."""
    await prepare(fresh_pagila_url, make_dev_settings(), (pgbouncer.user, TIMEOUT_MS))
    return pgbouncer.url(make_url(fresh_pagila_url).database or "")


def _pooled_settings(url: str, pooler: str = "transaction") -> dict[str, object]:
    return {
        "database_url": url,
        "db_pooler": pooler,
        "db_statement_timeout_ms": TIMEOUT_MS,
        "db_pool_size": 8,
    }


async def _mixed_load(http: httpx.AsyncClient, copies: list[int]) -> list[str]:
    """Reads of different shapes and rent + return, many at once; what went wrong, in words."""

    async def film(film_id: int) -> str | None:
        response = await http.get(f"/films/{film_id}")
        if response.status_code != 200 or response.json()["film_id"] != film_id:
            return f"/films/{film_id}: {response.status_code} {response.text[:120]}"
        return None

    async def page(offset: int) -> str | None:
        response = await http.get(f"/films?limit=3&offset={offset}&category=action")
        if response.status_code != 200 or len(response.json()["items"]) != 3:
            return f"/films page {offset}: {response.status_code} {response.text[:120]}"
        return None

    async def rent_and_return(copy: int) -> str | None:
        rented = await http.post(
            "/customers/1/rentals", json={"inventory_id": copy, "staff_id": 1}, headers=ADMIN
        )
        if rented.status_code != 201:
            return f"rent {copy}: {rented.status_code} {rented.text[:120]}"
        back = await http.put(f"/rentals/{rented.json()['rental_id']}/return", headers=ADMIN)
        if back.status_code != 200:
            return f"return {copy}: {back.status_code} {back.text[:120]}"
        return None

    jobs = [film(i) for i in range(1, 41)] + [page(i) for i in range(0, 40, 2)]
    jobs += [rent_and_return(copy) for copy in copies]
    return [problem for problem in await asyncio.gather(*jobs) if problem]


async def _free_copies(url: str, count: int) -> list[int]:
    conn = await connect(url)
    try:
        rows = await conn.fetch(
            "SELECT inventory_id FROM inventory i WHERE NOT EXISTS (SELECT 1 FROM rental r "
            "WHERE r.inventory_id = i.inventory_id AND r.return_date IS NULL) ORDER BY 1 LIMIT $1",
            count,
        )
        return [row[0] for row in rows]
    finally:
        await conn.close()


async def test_named_prepared_statements_break_behind_pgbouncer(
    fresh_pagila_url: str, pgbouncer: PgBouncer
) -> None:
    """What DB_POOLER=transaction fixes, seen by this harness: with the default (asyncpg's
    named statements), concurrent requests through PgBouncer fail."""
    await migrate(fresh_pagila_url)
    url = pgbouncer.url(make_url(fresh_pagila_url).database or "")
    app = create_app(make_settings(**_pooled_settings(url, "none")), make_dev_settings())
    async with served_client(app) as http:
        problems = await _mixed_load(http, await _free_copies(fresh_pagila_url, 10))
    assert problems, "named prepared statements went through a transaction-mode pooler"


async def test_the_app_behind_pgbouncer_in_transaction_mode(
    pooled_url: str, fresh_pagila_url: str
) -> None:
    app = create_app(make_settings(**_pooled_settings(pooled_url)), make_dev_settings())
    async with served_client(app) as http:
        copies = await _free_copies(fresh_pagila_url, 20)
        for _ in range(3):
            assert await _mixed_load(http, copies) == []
        assert (await http.get("/ready")).status_code == 200

        conn = await connect(fresh_pagila_url)
        open_rentals = await conn.fetchval(
            "SELECT count(*) FROM rental WHERE inventory_id = ANY($1) AND return_date IS NULL",
            copies,
        )
        await conn.close()
        assert open_rentals == 0  # every acknowledged return is in the database


async def test_the_statement_timeout_holds_through_pgbouncer(
    pooled_url: str, fresh_pagila_url: str
) -> None:
    """A statement that outlives DB_STATEMENT_TIMEOUT_MS (a read blocked by a lock) is
    cancelled by the server and answered 503, though PgBouncer does not pass the timeout on."""
    app = create_app(make_settings(**_pooled_settings(pooled_url)), make_dev_settings())
    blocker = await connect(fresh_pagila_url)
    try:
        async with served_client(app) as http:
            await blocker.execute("BEGIN; LOCK TABLE film IN ACCESS EXCLUSIVE MODE")
            # Without the timeout the read waits for the lock, which outlasts this wait.
            async with asyncio.timeout(5):
                response = await http.get("/films/1")
            await blocker.execute("ROLLBACK")
            after = await http.get("/films/1")
    finally:
        await blocker.close()
    assert response.status_code == 503, response.text
    assert response.json()["detail"] == "The database is unavailable; please retry shortly."
    assert response.headers["Retry-After"] == "5"
    assert after.status_code == 200


async def test_start_up_refuses_a_pooler_without_the_statement_timeout(
    fresh_pagila_url: str, pgbouncer: PgBouncer
) -> None:
    await migrate(fresh_pagila_url)  # no role setting: the server's default (none)
    url = pgbouncer.url(make_url(fresh_pagila_url).database or "")
    app = create_app(make_settings(**_pooled_settings(url)), make_dev_settings())
    with pytest.raises(StatementTimeoutNotSetError, match=r"statement_timeout through .* is 0 ms"):
        async with app.router.lifespan_context(app):
            pass


async def test_two_workers_start_through_pgbouncer_on_a_fresh_database(
    server_url: str, pgbouncer: PgBouncer, tmp_path: Path
) -> None:
    """The operator's `DB_POOLER=transaction WEB_CONCURRENCY=2 just serve`: the database does
    not exist yet; one worker provisions it on DATABASE_DIRECT_URL, both then serve through
    PgBouncer."""
    name = f"pagila_test_pooled_{uuid.uuid4().hex[:8]}"
    direct = with_database(server_url, name)
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "WEB_CONCURRENCY": "2",
        "DATABASE_URL": pgbouncer.url(name),
        "DATABASE_DIRECT_URL": direct,
        "DB_POOLER": "transaction",
        "PREPARE_DATABASE": "true",
        "LLM_PROVIDER": "openai",
        "OPENAI_API_KEY": "sk-unit-tests-make-no-calls",
    }
    command = [sys.executable, "-m", "uvicorn", "main:create_app", "--factory"]
    command += ["--http", UVICORN_HTTP, "--port", str(port)]
    with log.open("w") as out:
        server = subprocess.Popen(  # noqa: S603, ASYNC220 - our own app, started once
            command, cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            async with asyncio.timeout(180):
                while True:
                    assert server.poll() is None, log.read_text()[-3000:]
                    try:
                        if (await http.get("/ready")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    await asyncio.sleep(0.25)
            responses = await asyncio.gather(
                *(http.get(f"/films/{i}", headers={"Connection": "close"}) for i in range(1, 31))
            )
        assert [r.status_code for r in responses] == [200] * 30
        assert log.read_text().count("pagila.restored") == 1, log.read_text()[-3000:]
    finally:
        server.terminate()
        server.wait(timeout=60)
        await drop_database(direct)


def test_provisioning_goes_to_postgresql_itself_behind_a_pooler() -> None:
    pooler = "postgresql+asyncpg://postgres@127.0.0.1:6432/pagila"
    behind = make_settings(database_url=pooler, db_pooler="transaction")
    with pytest.raises(PoolerWithoutDirectURLError, match="set DATABASE_DIRECT_URL"):
        direct_url(pooler, behind, make_dev_settings())
    dev = make_dev_settings(database_direct_url="postgresql://postgres@127.0.0.1:5432/pagila")
    assert direct_url(pooler, behind, dev) == "postgresql+asyncpg://postgres@127.0.0.1:5432/pagila"
    assert direct_url(pooler, make_settings(database_url=pooler), make_dev_settings()) == pooler
    assert (
        reset_target(behind, dev)[0] == "database 'pagila' on 127.0.0.1:5432 (DATABASE_DIRECT_URL)"
    )


async def test_provisioning_is_not_cut_short_by_the_role_timeout(
    pooled_url: str, fresh_pagila_url: str
) -> None:
    """The role's timeout is the app's; provisioning's own sessions (a restore, a migration, the
    wait for another worker's) set none."""
    conn = await connect(fresh_pagila_url)
    try:
        assert await conn.fetchval("SELECT current_setting('statement_timeout')") == "0"
        await conn.execute("SELECT pg_sleep(0.7)")  # past TIMEOUT_MS
    finally:
        await conn.close()
    plain = await asyncpg.connect(**asyncpg_connect_args(fresh_pagila_url))
    try:
        assert await plain.fetchval("SELECT current_setting('statement_timeout')") == "500ms"
    finally:
        await plain.close()


async def test_pgbouncer_wants_the_password(pgbouncer: PgBouncer) -> None:
    """The loopback pooler does not hand the server's login to whoever connects."""
    # PgBouncer 1.18 answers a failed SCRAM exchange with a protocol error, not 28P01.
    with pytest.raises(asyncpg.PostgresError, match="authentication failed"):
        await asyncpg.connect(
            host="127.0.0.1", port=pgbouncer.port, user=pgbouncer.user, database="postgres",
            password="not-the-password",
        )  # fmt: skip
