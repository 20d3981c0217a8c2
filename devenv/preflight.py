"""Checks that run before any install or build, in seconds, with the standard library only.

    python3 devenv/preflight.py serve    # what `just serve` needs
    python3 devenv/preflight.py test     # what `just test` needs

Each problem is one line that says what to do; exit status 1 if any. Reads the same settings
as the app (environment, then `.env`), but none of the project's dependencies: it runs before
they are installed.
"""

from __future__ import annotations  # runs on whatever python3 is on PATH

import glob
import os
import pwd
import shutil
import socket
import stat
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PAGILA_FILES = ("pagila-schema.sql", "pagila-data.sql")
# DevSettings' defaults, restated because this script runs before pydantic is installed; a test
# (tests/devenv/test_preflight.py) keeps the two in step, the provider rule included.
DEFAULTS = {
    "PAGILA_BASE_URL": "https://raw.githubusercontent.com/devrimgunduz/pagila/pagila-v3.1.0",
    "PAGILA_CACHE_DIR": str(PROJECT_ROOT / ".data" / "pagila"),
    "EMBEDDED_PG_DIR": str(PROJECT_ROOT / ".data" / "postgres"),
    "EMBEDDED_PG_USER": "nobody",
    "PREPARE_DATABASE": "true",
    "DB_POOLER": "none",
}
NETWORK_TIMEOUT_S = 5.0


def read_settings(environ: Mapping[str, str], env_file: Path) -> dict[str, str]:
    """The environment over `.env` (KEY=VALUE lines), as pydantic-settings reads them."""
    values: dict[str, str] = {}
    if env_file.is_file():
        for line in env_file.read_text().splitlines():
            key, sep, value = line.strip().partition("=")
            if sep and key and not key.startswith("#"):
                values[key.strip().upper()] = value.strip().strip("'\"")
    values.update({k.upper(): v for k, v in environ.items()})
    return values


def uses_local_model(settings: Mapping[str, str]) -> bool:
    provider = settings.get("LLM_PROVIDER", "auto")
    if provider != "auto":
        return provider == "local"
    return not any(
        settings.get(k) for k in ("LLM_BASE_URL", "AZURE_OPENAI_ENDPOINT", "OPENAI_API_KEY")
    )


def check_build_tools(path: str | None, venv: Path) -> str | None:
    """llama-cpp-python has no wheel for Linux on PyPI: its first install compiles llama.cpp."""
    if glob.glob(str(venv / "lib" / "python3*" / "site-packages" / "llama_cpp" / "__init__.py")):
        return None  # built already
    missing = [
        name
        for name, candidates in (("a C compiler", ("cc", "gcc", "clang")),
                                 ("a C++ compiler", ("c++", "g++", "clang++")),
                                 ("cmake", ("cmake",)))
        if not any(shutil.which(c, path=path) for c in candidates)
    ]  # fmt: skip
    if not missing:
        return None
    return (
        f"the local model's llama.cpp is compiled on first install and needs {', '.join(missing)}"
        ": install them (Debian/Ubuntu: apt-get install build-essential cmake), or skip the "
        "local model with OPENAI_API_KEY or LLM_BASE_URL"
    )


def _can_enter(directory: Path, uid: int, gids: set[int]) -> bool:
    st = directory.stat()
    if st.st_uid == uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid in gids:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def check_embedded_account(account: str, project: Path, euid: int) -> str | None:
    """As root, PostgreSQL runs as an unprivileged account: it must reach the project folder
    (its binaries are in .venv, its data in .data)."""
    if euid != 0:
        return None
    try:
        entry = pwd.getpwnam(account)
    except KeyError:
        return (
            f"running as root, the embedded PostgreSQL runs as EMBEDDED_PG_USER={account!r}, "
            "which does not exist: set EMBEDDED_PG_USER to an existing unprivileged account, "
            "or set DATABASE_URL"
        )
    gids = {entry.pw_gid} | set(os.getgrouplist(account, entry.pw_gid))
    for directory in [*reversed(project.parents), project]:
        if not _can_enter(directory, entry.pw_uid, gids):
            mode = stat.S_IMODE(directory.stat().st_mode)
            return (
                f"running as root, the embedded PostgreSQL runs as {account!r}, which cannot "
                f"enter {directory} (mode {mode:04o}): chmod o+x {directory}, put the project "
                "elsewhere, set EMBEDDED_PG_USER, or set DATABASE_URL"
            )
    return None


def check_pagila(settings: Mapping[str, str], may_be_restored: bool) -> str | None:
    """Pagila's SQL files: PAGILA_DIR, the cache, or a reachable download."""
    pagila_dir = settings.get("PAGILA_DIR")
    if pagila_dir:
        missing = [f for f in PAGILA_FILES if not (Path(pagila_dir) / f).is_file()]
        if missing:
            return f"PAGILA_DIR={pagila_dir} lacks {', '.join(missing)} (Pagila v3.1.0)"
        return None
    cache = Path(settings.get("PAGILA_CACHE_DIR", DEFAULTS["PAGILA_CACHE_DIR"]))
    if all((cache / f).is_file() for f in PAGILA_FILES):
        return None
    base_url = settings.get("PAGILA_BASE_URL", DEFAULTS["PAGILA_BASE_URL"]).rstrip("/")
    url = f"{base_url}/{PAGILA_FILES[0]}"
    try:
        request = urllib.request.Request(url, method="HEAD")  # noqa: S310 - a setting's URL
        with urllib.request.urlopen(request, timeout=NETWORK_TIMEOUT_S):  # noqa: S310
            return None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        if may_be_restored:
            return None  # an existing database needs no files; the app says so if it does
        reason = getattr(exc, "reason", exc)
        return (
            f"Pagila's SQL files are neither in PAGILA_DIR nor cached in {cache}, and {url} is "
            f"unreachable ({reason}): set PAGILA_DIR to a folder holding "
            f"{' and '.join(PAGILA_FILES)} (v3.1.0), or PAGILA_BASE_URL to a reachable copy"
        )


ASYNCPG_SCHEMES = ("postgresql+asyncpg", "postgresql", "postgres")  # the app adds the driver


def check_database_url(url: str, timeout_s: float = 3.0, name: str = "DATABASE_URL") -> str | None:
    """DATABASE_URL (or `name`): a PostgreSQL URL for asyncpg, and a server that accepts
    connections."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ASYNCPG_SCHEMES:
        return (
            f"{name} starts with {parts.scheme + '://' if parts.scheme else 'no scheme'}: "
            "the app talks to PostgreSQL through asyncpg: "
            "postgresql+asyncpg://USER[:PASSWORD]@HOST[:PORT]/DATABASE (postgresql:// works too)"
        )
    query = urllib.parse.parse_qs(parts.query)
    socket_dir = (query.get("host") or [""])[0]
    try:
        port = parts.port or int((query.get("port") or ["5432"])[0])
    except ValueError:
        return f"{name} has a port that is not a number: {url.split('@')[-1]}"
    if socket_dir.startswith("/"):
        path = f"{socket_dir}/.s.PGSQL.{port}"
        if not os.path.exists(path):
            return f"{name} names the unix socket {path}, which does not exist"
        return None
    host = parts.hostname or socket_dir or "localhost"
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return (
            f"{name}: cannot connect to PostgreSQL at {host}:{port} ({reason.lower()}): "
            "start the server, or fix the host and port (unset DATABASE_URL for the embedded one)"
        )


def _setting(settings: Mapping[str, str], name: str) -> str:
    return settings.get(name, DEFAULTS[name])


_FALSE = frozenset({"0", "false", "f", "no", "n", "off"})  # pydantic's words for false


def check_pooler(settings: Mapping[str, str]) -> list[str | None]:
    """DB_POOLER=transaction: DATABASE_URL is the pooler, and provisioning has PostgreSQL
    itself (DATABASE_DIRECT_URL) unless it is off."""
    direct = settings.get("DATABASE_DIRECT_URL")
    problems = [check_database_url(direct, name="DATABASE_DIRECT_URL") if direct else None]
    if _setting(settings, "DB_POOLER").lower() != "transaction":
        return problems
    if not settings.get("DATABASE_URL"):
        problems.append(
            "DB_POOLER=transaction: set DATABASE_URL to the pooler (PgBouncer: "
            "postgresql://USER@HOST:6432/DATABASE); the embedded PostgreSQL has none in front"
        )
    elif not direct and _setting(settings, "PREPARE_DATABASE").lower() not in _FALSE:
        problems.append(
            "DB_POOLER=transaction: set DATABASE_DIRECT_URL to PostgreSQL itself (not the "
            "pooler) for creating, restoring and migrating the database, which need a session "
            "of their own; or PREPARE_DATABASE=false when that is done elsewhere"
        )
    return problems


def run(mode: str, environ: Mapping[str, str]) -> list[str]:
    settings = read_settings(environ, PROJECT_ROOT / ".env")
    problems = []
    if mode == "test" or uses_local_model(settings):
        problems.append(check_build_tools(environ.get("PATH"), PROJECT_ROOT / ".venv"))
    # The tests use TEST_DATABASE_URL first (then DATABASE_URL); the app, DATABASE_URL.
    external = (mode == "test" and settings.get("TEST_DATABASE_URL")) or settings.get(
        "DATABASE_URL"
    )
    data_dir = Path(settings.get("EMBEDDED_PG_DIR", DEFAULTS["EMBEDDED_PG_DIR"]))
    if external:
        problems.append(check_database_url(external))
    else:
        account = settings.get("EMBEDDED_PG_USER", DEFAULTS["EMBEDDED_PG_USER"])
        problems.append(check_embedded_account(account, PROJECT_ROOT, os.geteuid()))
    if mode == "serve":
        problems.extend(check_pooler(settings))
    # The tests always restore a fresh copy; the app only when its database has none yet.
    may_be_restored = mode == "serve" and bool(external or (data_dir / "PG_VERSION").exists())
    problems.append(check_pagila(settings, may_be_restored))
    return [p for p in problems if p]


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in {"serve", "test"}:
        print("usage: python3 devenv/preflight.py serve|test", file=sys.stderr)
        return 2
    problems = run(argv[0], os.environ)
    for problem in problems:
        print(f"preflight: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
