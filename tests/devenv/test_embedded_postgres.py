import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devenv.database import connect
from devenv.embedded_postgres import EmbeddedPostgres
from shared.settings import PROJECT_ROOT


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # Not pytest's tmp_path: as root the server runs as an unprivileged account, which must be
    # able to traverse the parent; pytest's base temp dir is private (0700).
    parent = Path(tempfile.mkdtemp(prefix="pagila-embedded-"))
    parent.chmod(0o755)
    yield parent / "pg"
    shutil.rmtree(parent, ignore_errors=True)


async def _select_one(server: EmbeddedPostgres) -> int:
    conn = await connect(server.url("postgres"))
    try:
        value: int = await conn.fetchval("SELECT 1")
        return value
    finally:
        await conn.close()


async def test_commits_are_durable(data_dir: Path) -> None:
    """A COMMIT the client was told about survives a crash: PostgreSQL's default, not off."""
    server = EmbeddedPostgres(data_dir)
    await asyncio.to_thread(server.start)
    try:
        conn = await connect(server.url("postgres"))
        try:
            assert await conn.fetchval("SHOW synchronous_commit") == "on"
        finally:
            await conn.close()
    finally:
        await asyncio.to_thread(server.stop)


async def test_the_socket_is_its_owners_alone(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    await asyncio.to_thread(server.start)
    try:
        [socket_file] = data_dir.glob(".s.PGSQL.*[0-9]")
        assert socket_file.stat().st_mode & 0o777 == 0o700
    finally:
        await asyncio.to_thread(server.stop)


async def test_start_stop_restart_in_a_temporary_directory(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    try:
        assert await asyncio.to_thread(server.start) is True
        assert await _select_one(server) == 1
        assert await asyncio.to_thread(server.start) is False  # already running: not ours
        await asyncio.to_thread(server.stop)
        assert not server.is_running()
        assert await asyncio.to_thread(server.start) is True  # initialised dir: plain start
        assert await _select_one(server) == 1
    finally:
        await asyncio.to_thread(server.stop)
    assert not (data_dir / "postmaster.pid").exists()


async def test_stale_postmaster_pid_does_not_block_start(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    await asyncio.to_thread(server.start)
    await asyncio.to_thread(server.stop)
    # A crash leaves postmaster.pid behind, and its PID may since belong to another live
    # process: here, the test runner itself.
    lines = [str(os.getpid()), str(data_dir), "0", "5432", str(data_dir), "", "0 0", "ready"]
    (data_dir / "postmaster.pid").write_text("\n".join(lines) + "\n")
    try:
        assert await asyncio.to_thread(server.start) is True
        assert await _select_one(server) == 1
    finally:
        await asyncio.to_thread(server.stop)


async def test_concurrent_starts_start_it_once(data_dir: Path) -> None:
    servers = [EmbeddedPostgres(data_dir) for _ in range(3)]
    try:
        started = await asyncio.gather(*(asyncio.to_thread(s.start) for s in servers))
        assert sorted(started) == [False, False, True]
        assert await _select_one(servers[0]) == 1
    finally:
        await asyncio.to_thread(servers[0].stop)


def test_nothing_outside_the_data_dir_changes(data_dir: Path) -> None:
    parent = data_dir.parent
    before = (parent.stat().st_mode, parent.stat().st_uid, sorted(p.name for p in parent.iterdir()))
    server = EmbeddedPostgres(data_dir)
    server.start()
    server.stop()
    after = (parent.stat().st_mode, parent.stat().st_uid, sorted(p.name for p in parent.iterdir()))
    assert after == (before[0], before[1], ["pg"])


async def test_a_server_left_by_a_killed_owner_is_taken_over(data_dir: Path) -> None:
    """`just serve` killed hard (SIGKILL: no shutdown) leaves the server running; the next
    start takes it over, so that it is stopped when that process ends."""
    owner = await asyncio.create_subprocess_exec(
        sys.executable, "-c",
        "import sys, time\n"
        "from pathlib import Path\n"
        "from devenv.embedded_postgres import EmbeddedPostgres\n"
        f"EmbeddedPostgres(Path({str(data_dir)!r})).start()\n"
        "print('started', flush=True)\n"
        "time.sleep(600)\n",
        cwd=PROJECT_ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip

    async def started() -> None:
        assert owner.stdout is not None
        while await owner.stdout.readline() != b"started\n":
            pass

    await asyncio.wait_for(started(), timeout=120)
    server = EmbeddedPostgres(data_dir)
    try:
        assert await asyncio.to_thread(server.start) is False  # its owner is alive
        owner.kill()
        await owner.wait()
        assert server.is_running()  # killed hard: nobody stopped it

        assert await asyncio.to_thread(server.start) is True  # taken over: ours to stop
        assert await _select_one(server) == 1
    finally:
        await asyncio.to_thread(server.stop)
    assert not server.is_running()
