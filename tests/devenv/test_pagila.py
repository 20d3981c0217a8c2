import asyncio
import functools
import http.server
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from devenv import pagila
from devenv.database import connect
from shared.settings import PROJECT_ROOT
from tests.support import make_dev_settings, scalar


@pytest.fixture
def pagila_source() -> Path:
    local = make_dev_settings().pagila_dir
    if local is None:
        pytest.fail("set PAGILA_DIR to a folder holding the Pagila v3.1.0 SQL files")
    return local


@pytest.fixture
def served_dir(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A local HTTP server (loopback, ephemeral port) serving a folder the test fills."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def test_download_verifies_and_caches(
    pagila_source: Path, served_dir: tuple[Path, str], tmp_path: Path
) -> None:
    root, base_url = served_dir
    for name in (pagila.SCHEMA_FILE, pagila.DATA_FILE):
        shutil.copy(pagila_source / name, root / name)
    cache = tmp_path / "cache"

    files = await pagila.obtain_files(None, cache, base_url)

    assert files.schema == cache / pagila.SCHEMA_FILE
    assert pagila.sha256_of(files.schema) == pagila.SHA256[pagila.SCHEMA_FILE]
    assert pagila.sha256_of(files.data) == pagila.SHA256[pagila.DATA_FILE]
    # Second call: served from the cache, even with the server emptied.
    for name in (pagila.SCHEMA_FILE, pagila.DATA_FILE):
        (root / name).unlink()
    assert await pagila.obtain_files(None, cache, base_url) == files


async def test_download_with_wrong_checksum_is_refused_and_not_cached(
    pagila_source: Path, served_dir: tuple[Path, str], tmp_path: Path
) -> None:
    root, base_url = served_dir
    shutil.copy(pagila_source / pagila.SCHEMA_FILE, root / pagila.SCHEMA_FILE)
    (root / pagila.DATA_FILE).write_text("-- not the Pagila data\n")
    cache = tmp_path / "cache"

    with pytest.raises(pagila.PagilaError, match=r"checksum mismatch for .*pagila-data\.sql"):
        await pagila.obtain_files(None, cache, base_url)

    assert not (cache / pagila.DATA_FILE).exists()


async def test_missing_file_on_the_server_is_a_clear_error(
    served_dir: tuple[Path, str], tmp_path: Path
) -> None:
    _, base_url = served_dir

    with pytest.raises(pagila.PagilaError, match=r"could not download .*404"):
        await pagila.obtain_files(None, tmp_path / "cache", base_url)


async def test_local_dir_with_a_tampered_file_is_refused(
    pagila_source: Path, tmp_path: Path
) -> None:
    shutil.copy(pagila_source / pagila.SCHEMA_FILE, tmp_path / pagila.SCHEMA_FILE)
    shutil.copy(pagila_source / pagila.DATA_FILE, tmp_path / pagila.DATA_FILE)
    with (tmp_path / pagila.DATA_FILE).open("a") as f:
        f.write("\n-- tampered\n")

    with pytest.raises(pagila.PagilaError, match="checksum mismatch"):
        await pagila.obtain_files(tmp_path, tmp_path / "cache", "http://127.0.0.1:9")


async def test_files_given_through_pagila_dir_are_kept_in_the_cache(
    pagila_source: Path, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    unreachable = "http://127.0.0.1:9"

    first = await pagila.obtain_files(pagila_source, cache, unreachable)
    again = await pagila.obtain_files(None, cache, unreachable)  # PAGILA_DIR no longer set

    assert first == again
    assert first.schema.parent == cache


async def test_a_failed_download_names_the_settings_that_fix_it(tmp_path: Path) -> None:
    with pytest.raises(pagila.PagilaError) as caught:
        await pagila.obtain_files(None, tmp_path / "cache", "http://127.0.0.1:9")

    message = str(caught.value)
    assert "PAGILA_DIR" in message
    assert "PAGILA_BASE_URL" in message
    assert "\n" not in message


async def test_reset_offline_keeps_the_database(
    fresh_pagila_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`just db-reset` without the files and without a network: refused before the drop."""
    env = {
        **os.environ,
        "DATABASE_URL": fresh_pagila_url,
        "PAGILA_CACHE_DIR": str(tmp_path / "empty-cache"),
        "PAGILA_BASE_URL": "http://127.0.0.1:9",
    }
    env.pop("PAGILA_DIR", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "devenv", "reset", "--yes",
        cwd=PROJECT_ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await asyncio.wait_for(process.communicate(), timeout=120)

    assert process.returncode == 1
    assert "PAGILA_DIR" in stderr.decode()
    conn = await connect(fresh_pagila_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM film") == 1000
    finally:
        await conn.close()


async def test_restored_database_has_pagila_counts(db: AsyncConnection) -> None:
    counts = [await scalar(db, f"SELECT count(*) FROM {t}") for t in ("film", "customer")]
    assert counts == [1000, 599]


async def test_owner_to_postgres_is_dropped_where_there_is_no_such_role(
    fresh_pagila_url: str,
) -> None:
    """The statement below fails if it reaches the server (no such table), so the restore
    succeeding proves it was dropped; with the role present it is kept (and fails)."""
    script = "-- comment only chunk\n\nALTER TABLE public.no_such_table OWNER TO postgres;\n"
    conn = await connect(fresh_pagila_url)
    try:
        await pagila.run_script(conn, script, has_postgres_role=False)
        with pytest.raises(asyncpg.UndefinedTableError):
            await pagila.run_script(conn, script, has_postgres_role=True)
    finally:
        await conn.close()
