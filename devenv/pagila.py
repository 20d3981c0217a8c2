"""Obtain the Pagila v3.1.0 SQL files (local dir or verified download); restore them over asyncpg.

No `psql` needed: ordinary SQL goes through `execute` (simple query protocol, so a chunk may hold
many statements), each `COPY ... FROM stdin` block through `copy_to_table`, all in one transaction.
"""

import hashlib
import io
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import structlog

log = structlog.get_logger(__name__)

SCHEMA_FILE = "pagila-schema.sql"
DATA_FILE = "pagila-data.sql"
SHA256 = {
    SCHEMA_FILE: "8ce358e4c8014087b85296694a0893887bd7a4190e3ce407f2721b86b98e5707",
    DATA_FILE: "fb81bec377687c83e11d2a24916ae28656d85550bf0ada798305bf7e2af9823b",
}

_COPY_HEADER = re.compile(r"^COPY (?:(\w+)\.)?(\w+) \(([^)]*)\) FROM stdin;$")
_OWNER_TO_POSTGRES = re.compile(r"^ALTER [^\n]* OWNER TO postgres;$", re.MULTILINE)
_COMMENT_LINE = re.compile(r"^\s*--.*$", re.MULTILINE)


class PagilaError(RuntimeError):
    pass


@dataclass(frozen=True)
class PagilaFiles:
    schema: Path
    data: Path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(path: Path) -> None:
    actual = sha256_of(path)
    expected = SHA256[path.name]
    if actual != expected:
        raise PagilaError(
            f"checksum mismatch for {path}: expected sha256 {expected}, got {actual}; "
            "refusing to load it (is it Pagila v3.1.0?)"
        )


async def obtain_files(local_dir: Path | None, cache_dir: Path, base_url: str) -> PagilaFiles:
    """The verified files in `cache_dir`: already there, copied from `local_dir` (so that later
    commands do not need it again), or downloaded."""
    paths = {}
    for name in (SCHEMA_FILE, DATA_FILE):
        path = cache_dir / name
        if not path.is_file() or sha256_of(path) != SHA256[name]:
            if local_dir is not None:
                source = local_dir / name
                if not source.is_file():
                    raise PagilaError(f"PAGILA_DIR is set but {source} does not exist")
                _verify(source)
                cache_dir.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, path)
            else:
                await _download(f"{base_url.rstrip('/')}/{name}", path)
        _verify(path)
        paths[name] = path
    return PagilaFiles(schema=paths[SCHEMA_FILE], data=paths[DATA_FILE])


async def _download(url: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_suffix(dest.suffix + ".part")
    log.info("pagila.download", url=url)
    try:
        async with (
            httpx.AsyncClient(timeout=60, follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            response.raise_for_status()
            with partial.open("wb") as f:
                async for chunk in response.aiter_bytes():
                    f.write(chunk)
    except httpx.HTTPError as exc:
        partial.unlink(missing_ok=True)
        raise PagilaError(
            f"could not download {url} ({type(exc).__name__}: {exc}); set PAGILA_DIR to a folder "
            "holding pagila-schema.sql and pagila-data.sql (Pagila v3.1.0), or PAGILA_BASE_URL "
            "to a reachable copy"
        ) from exc
    partial.replace(dest)
    try:
        _verify(dest)
    except PagilaError:
        dest.unlink()  # never keep a bad file in the cache
        raise


async def is_restored(conn: asyncpg.Connection) -> bool:
    # The restore is one transaction, so the last table it fills exists only if all of it did.
    return bool(await conn.fetchval("SELECT to_regclass('public.payment_p2022_07') IS NOT NULL"))


async def restore(conn: asyncpg.Connection, files: PagilaFiles) -> None:
    started = time.perf_counter()
    has_postgres_role = bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'postgres')")
    )
    async with conn.transaction():
        for path in (files.schema, files.data):
            await run_script(conn, path.read_text(encoding="utf-8"), has_postgres_role)
    # The dump empties search_path for its session; do not leave that on a reused connection.
    await conn.execute("RESET search_path")
    log.info("pagila.restored", duration_ms=round((time.perf_counter() - started) * 1000))


async def run_script(conn: asyncpg.Connection, script: str, has_postgres_role: bool) -> None:
    """Run a pg_dump-style script: SQL through `execute`, each COPY block via `copy_to_table`."""
    sql: list[str] = []
    lines = iter(script.splitlines(keepends=True))
    for line in lines:
        header = _COPY_HEADER.match(line.rstrip("\n"))
        if header is None:
            sql.append(line)
            continue
        await _execute_sql("".join(sql), conn, has_postgres_role)
        sql.clear()
        rows: list[str] = []
        for row in lines:
            if row.rstrip("\n") == "\\.":
                break
            rows.append(row)
        schema, table, columns = header.groups()
        await conn.copy_to_table(
            table,
            schema_name=schema or "public",
            columns=[c.strip().strip('"') for c in columns.split(",")],
            source=io.BytesIO("".join(rows).encode()),
            format="text",
        )
    await _execute_sql("".join(sql), conn, has_postgres_role)


async def _execute_sql(chunk: str, conn: asyncpg.Connection, has_postgres_role: bool) -> None:
    if not has_postgres_role:
        chunk = _OWNER_TO_POSTGRES.sub("", chunk)
    if not _COMMENT_LINE.sub("", chunk).strip():
        return  # asyncpg rejects a query made only of comments
    await conn.execute(chunk)
