"""DATABASE_READ_URL against a real streaming replica (a base backup of a test primary, both
embedded servers started by the test): reads go to the replica, writes to the primary; a read
after a write sees it once the replica has replayed it; a replica that is down is a 503 for
reads while writes go on."""

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from devenv.database import connect, prepare
from devenv.embedded_postgres import EmbeddedPostgres
from main import create_app
from tests.support import ADMIN, make_dev_settings, make_settings, served_client


@pytest.fixture
async def primary_and_replica() -> AsyncIterator[tuple[EmbeddedPostgres, EmbeddedPostgres]]:
    parent = Path(tempfile.mkdtemp(prefix="pagila-replica-"))
    parent.chmod(0o755)  # as root, the servers' account must traverse it
    primary = EmbeddedPostgres(parent / "primary")
    replica: EmbeddedPostgres | None = None
    try:
        await asyncio.to_thread(primary.start)
        await prepare(primary.url("pagila"), make_dev_settings())
        replica = await asyncio.to_thread(primary.replica, parent / "replica")
        yield primary, replica
    finally:
        if replica is not None:
            await asyncio.to_thread(replica.release)
        await asyncio.to_thread(primary.release)
        shutil.rmtree(parent, ignore_errors=True)


async def _streaming(primary: EmbeddedPostgres) -> bool:
    conn = await connect(primary.url("postgres"))
    try:
        return bool(await conn.fetchval("SELECT count(*) FROM pg_stat_replication"))
    finally:
        await conn.close()


async def test_reads_on_the_replica_writes_on_the_primary(
    primary_and_replica: tuple[EmbeddedPostgres, EmbeddedPostgres],
) -> None:
    primary, replica = primary_and_replica
    assert await _streaming(primary)
    settings = make_settings(
        database_url=primary.url("pagila"), database_read_url=replica.url("pagila")
    )
    app = create_app(settings, make_dev_settings())
    async with served_client(app) as http:
        before = (await http.get("/films/1")).json()["streaming_available"]
        conn = await connect(replica.url("pagila"))
        try:
            assert await conn.fetchval("SELECT pg_is_in_recovery()")
            reading = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pagila-api'"
            )
        finally:
            await conn.close()
        assert reading >= 1  # the read came from the replica

        patched = await http.patch(
            "/films/1", json={"streaming_available": not before}, headers=ADMIN
        )
        assert patched.status_code == 200  # a write on the primary (a replica refuses them)
        assert patched.json()["streaming_available"] is (not before)  # its own answer is new
        async with asyncio.timeout(10):  # replayed on the replica soon after
            while (await http.get("/films/1")).json()["streaming_available"] is before:  # noqa: ASYNC110
                await asyncio.sleep(0.05)

        await asyncio.to_thread(replica.stop)  # the replica goes down
        read = await http.get("/films/2")
        ready = await http.get("/ready")
        write = await http.patch("/films/1", json={"streaming_available": before}, headers=ADMIN)

    assert read.status_code == 503
    assert read.headers["retry-after"] == "5"
    assert ready.status_code == 503
    assert write.status_code == 200  # writes go on
