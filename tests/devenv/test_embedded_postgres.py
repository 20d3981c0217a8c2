import asyncio
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devenv.database import connect
from devenv.embedded_postgres import (
    EmbeddedPostgres,
    EmbeddedPostgresError,
    EmbeddedPostgresInUseError,
)
from shared.settings import PROJECT_ROOT
from tests.fixtures.logs import of


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


def test_stopping_a_server_that_is_not_running_says_so(
    data_dir: Path, log_events: list[dict[str, Any]]
) -> None:
    """`just db-stop` with nothing to stop: a line that says so, not silence."""
    EmbeddedPostgres(data_dir).stop()

    [said] = of(log_events, "embedded_postgres.not_running")
    assert said["data_dir"] == str(data_dir)
    assert of(log_events, "embedded_postgres.stopped") == []


async def _user_process(data_dir: Path) -> asyncio.subprocess.Process:
    """Another process (a `just serve`) that starts the server and uses it until killed."""
    user = await asyncio.create_subprocess_exec(
        sys.executable, "-c",
        "import sys, time\n"
        "from pathlib import Path\n"
        "from devenv.embedded_postgres import EmbeddedPostgres\n"
        f"EmbeddedPostgres(Path({str(data_dir)!r})).start()\n"
        "print('started', flush=True)\n"
        "time.sleep(600)\n",
        cwd=PROJECT_ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert user.stdout is not None
    async with asyncio.timeout(120):
        while (line := await user.stdout.readline()) != b"started\n":
            assert line, "the user process failed to start the server"  # EOF: it exited
    return user


async def test_the_last_user_out_stops_it_and_a_killed_user_does_not_count(
    data_dir: Path,
) -> None:
    """Two `just serve` in one clone share the server: the first to stop leaves it running for
    the other; a user killed hard (no shutdown) is forgotten, so the last live one stops it."""
    other = await _user_process(data_dir)
    server = EmbeddedPostgres(data_dir)
    try:
        assert await asyncio.to_thread(server.start) is False  # running: shared
        assert server.users() == [other.pid]
        with pytest.raises(EmbeddedPostgresInUseError, match=str(other.pid)):
            await asyncio.to_thread(server.stop)  # `just db-stop` while it is used
        assert server.is_running()

        other.kill()
        await other.wait()
        assert server.is_running()  # killed hard: nobody stopped it
        assert server.users() == []
        assert await _select_one(server) == 1
        assert await asyncio.to_thread(server.release) is True  # the last one out
        assert not server.is_running()
    finally:
        if other.returncode is None:
            other.kill()
        await asyncio.to_thread(server.stop)


async def test_a_user_leaving_does_not_stop_it_under_another(data_dir: Path) -> None:
    other = await _user_process(data_dir)
    server = EmbeddedPostgres(data_dir)
    try:
        await asyncio.to_thread(server.start)
        assert await asyncio.to_thread(server.release) is False  # the other still uses it
        assert server.is_running()
        assert await _select_one(server) == 1
    finally:
        other.kill()
        await other.wait()
        await asyncio.to_thread(server.stop)


async def test_a_killed_postmaster_is_started_again(data_dir: Path) -> None:
    server = EmbeddedPostgres(data_dir)
    await asyncio.to_thread(server.start)
    try:
        assert await asyncio.to_thread(server.restart_if_dead) is False  # alive: nothing to do
        pid = server._postmaster_pid()
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        async with asyncio.timeout(60):
            while not await _restarted(server):  # noqa: ASYNC110 - polls another process
                await asyncio.sleep(0.2)
        assert server._postmaster_pid() != pid
        assert await _select_one(server) == 1
    finally:
        await asyncio.to_thread(server.release)


async def _restarted(server: EmbeddedPostgres) -> bool:
    try:
        return await asyncio.to_thread(server.restart_if_dead)
    except EmbeddedPostgresError:
        return False  # its old backends may hold the shared memory a moment longer
