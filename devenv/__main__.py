"""Provisioning commands (what `just migrate` and `just db-reset` run).

python -m devenv prepare   # database + Pagila + migrations; idempotent
python -m devenv restore   # Pagila only, no migrations (`just migrate` runs alembic next)
python -m devenv reset     # drop the database and prepare it again: asks first (--yes: don't);
                           # a DATABASE_URL on another machine only with --remote
python -m devenv stop      # stop the embedded PostgreSQL, unless a server still uses it
python -m devenv password USERNAME
                           # set a member of staff's password (asked twice on a terminal,
                           # else one line of standard input)
"""

import argparse
import asyncio
import getpass
import sys

import structlog
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from devenv import pagila
from devenv.database import (
    DatabaseConnectError,
    PoolerWithoutDirectURLError,
    connect,
    database_url_async,
    direct_url,
    drop_database,
    embedded_server,
    pooled_statement_timeout,
    prepare,
    restore_pagila_if_needed,
    set_role_statement_timeout,
)
from devenv.embedded_postgres import EmbeddedPostgresError
from devenv.pagila import PagilaError
from devenv.settings import DevSettings, get_dev_settings
from features.auth import passwords
from features.auth import query as staff_accounts
from shared.database import Transaction
from shared.observability.logs import configure_logging
from shared.settings import Settings, get_settings

log = structlog.get_logger("devenv")


async def _run(action: str, settings: Settings, dev: DevSettings) -> None:
    async with database_url_async(settings, dev) as app_url:
        url = direct_url(app_url, settings, dev)
        role_timeout = pooled_statement_timeout(app_url, settings)
        if action == "reset":
            # Obtain and verify the files first: offline, a reset must not destroy a database
            # it cannot rebuild.
            await pagila.obtain_files(dev.pagila_dir, dev.pagila_cache_dir, dev.pagila_base_url)
            await drop_database(url)
        if action == "restore":
            await restore_pagila_if_needed(url, dev)
            if role_timeout is not None:
                conn = await connect(url)
                try:
                    await set_role_statement_timeout(conn, *role_timeout)
                finally:
                    await conn.close()
        else:
            await prepare(url, dev, role_timeout)


# Long enough that Pagila's sample password (12345) cannot be kept.
MIN_PASSWORD_CHARS = 8


def _read_new_password(username: str) -> str | None:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    password = getpass.getpass(f"New password for {username}: ")
    if getpass.getpass("Again: ") != password:
        print("password: the two differ; nothing changed", file=sys.stderr)
        return None
    return password


async def _set_password(username: str, password: str, settings: Settings, dev: DevSettings) -> bool:
    async with database_url_async(settings, dev) as app_url:
        engine = create_async_engine(direct_url(app_url, settings, dev))
        try:
            async with AsyncSession(engine) as session:
                found = await staff_accounts.set_password(
                    Transaction(session), username, passwords.hash_password(password)
                )
                await session.commit()
        finally:
            await engine.dispose()
    return found


def _password(username: str, settings: Settings, dev: DevSettings) -> int:
    password = _read_new_password(username)
    if password is None:
        return 1
    if len(password) < MIN_PASSWORD_CHARS:
        print(
            f"password: at least {MIN_PASSWORD_CHARS} characters; nothing changed", file=sys.stderr
        )
        return 1
    if not asyncio.run(_set_password(username, password, settings, dev)):
        print(f"password: no member of staff has the username {username!r}", file=sys.stderr)
        return 1
    print(f"password: set for {username}; their next sign-in uses it", file=sys.stderr)
    return 0


_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def reset_target(settings: Settings, dev: DevSettings) -> tuple[str, bool]:
    """What a reset drops, in words, and whether its server is on this machine."""
    if not settings.database_url:
        return (
            f"database '{dev.database_name}' of the embedded PostgreSQL in {dev.embedded_pg_dir}",
            True,
        )
    # What is dropped is PostgreSQL's database, not a pooler's name for it.
    name = "DATABASE_DIRECT_URL" if dev.database_direct_url else "DATABASE_URL"
    url = make_url(dev.database_direct_url or settings.database_url)
    host = str(url.host or url.query.get("host") or "localhost")
    where = host if host.startswith("/") else f"{host}:{url.port or 5432}"
    return (
        f"database '{url.database}' on {where} ({name})",
        host in _LOCAL_HOSTS or host.startswith("/"),
    )


def _reset_allowed(settings: Settings, dev: DevSettings, args: argparse.Namespace) -> bool:
    target, local = reset_target(settings, dev)
    if not local and not args.remote:
        print(
            f"db-reset: refusing to drop {target}: it is not on this machine "
            "(add --remote if you mean it)",
            file=sys.stderr,
        )
        return False
    if args.yes:
        return True
    if not sys.stdin.isatty():
        print(
            f"db-reset: would drop {target}; nobody to ask: add --yes to confirm", file=sys.stderr
        )
        return False
    answer = input(
        f"This drops {target} and rebuilds it from Pagila: all changes to it are lost. "
        "Drop it? [y/N] "
    )
    return answer.strip().lower() in ("y", "yes")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devenv")
    parser.add_argument("action", choices=["prepare", "restore", "reset", "stop", "password"])
    parser.add_argument("username", nargs="?", help="password: the member of staff's username")
    parser.add_argument("--yes", action="store_true", help="reset: do not ask")
    parser.add_argument("--remote", action="store_true", help="reset: a server elsewhere, too")
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings)
    dev = get_dev_settings()
    if args.action == "reset" and not _reset_allowed(settings, dev, args):
        return 1
    if args.action == "password" and not args.username:
        parser.error("password needs a USERNAME (Pagila's staff: Mike, Jon)")
    try:
        if args.action == "password":
            return _password(args.username, settings, dev)
        if args.action == "stop":
            embedded_server(dev).stop()
        else:
            asyncio.run(_run(args.action, settings, dev))
    except (
        PagilaError,
        EmbeddedPostgresError,
        DatabaseConnectError,
        PoolerWithoutDirectURLError,
        OSError,
    ) as exc:
        log.error("devenv.failed", action=args.action, error=str(exc))
        return 1
    if args.action == "reset":
        print(f"db-reset: dropped and rebuilt {reset_target(settings, dev)[0]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
