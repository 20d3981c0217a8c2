"""PgBouncer in transaction mode in front of a PostgreSQL server, for trying DB_POOLER=transaction
on this machine: the pooler tests, `just soak --pooler`, `just bench --pooler`.

Debian's `pgbouncer` package (1.18 on bookworm) provides the binary; `just` recipes install it
when missing. It refuses to run as root, so when we are root it runs as an unprivileged account
(`-u`, after reading its config); it logs to standard error, which goes to our file.
"""

import os
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import structlog

from devenv.ports import free_port
from shared.database.connections import asyncpg_connect_args

log = structlog.get_logger(__name__)


class PgBouncerError(RuntimeError):
    pass


def pgbouncer_binary() -> str:
    found = shutil.which("pgbouncer", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if found is None:
        raise PgBouncerError("pgbouncer is missing: apt-get install pgbouncer")
    return found


def _config(
    port: int, server_host: str, server_port: int, pool_size: int, folder: Path, admin: str
) -> str:
    # `unix_socket_dir =` (none): only TCP, so that no socket file needs a writable folder.
    # Clients must give the password in userlist.txt (SCRAM), which is also what PgBouncer
    # logs in to the server with: a loopback port open to every local account must not hand
    # out the server's superuser.
    return f"""\
[databases]
* = host={server_host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = scram-sha-256
auth_file = {folder / "userlist.txt"}
admin_users = {admin}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 1000
logfile =
pidfile =
"""


class PgBouncer:
    """One PgBouncer process in transaction mode on a free loopback port."""

    def __init__(
        self,
        folder: Path,
        server_host: str = "127.0.0.1",
        server_port: int = 5432,
        pool_size: int = 20,
        user: str = "postgres",
        password: str | None = None,
        run_as_when_root: str = "nobody",
    ) -> None:
        """`user` and `password`: the server's login (its password, if it asks for one); a
        random one otherwise, which only our clients learn."""
        self.folder = folder
        self.port = free_port()
        self._server = (server_host, server_port)
        self._pool_size = pool_size
        self.user = user
        self._password = password or secrets.token_urlsafe(24)
        self._run_as = run_as_when_root if os.geteuid() == 0 else None
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, database: str) -> str:
        login = f"{quote(self.user, safe='')}:{quote(self._password, safe='')}"
        return f"postgresql+asyncpg://{login}@127.0.0.1:{self.port}/{database}"

    @property
    def log_file(self) -> Path:
        return self.folder / "pgbouncer.log"

    def start(self, timeout_s: float = 10.0) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "pgbouncer.ini"
        config.write_text(
            _config(self.port, *self._server, self._pool_size, self.folder, self.user)
        )
        userlist = self.folder / "userlist.txt"
        userlist.touch(mode=0o600)
        userlist.write_text(f'"{self.user}" "{self._password.replace(chr(34), chr(34) * 2)}"\n')
        command = [pgbouncer_binary(), str(config)]
        if self._run_as is not None:
            command[1:1] = ["-u", self._run_as]
        with self.log_file.open("ab") as log_out:
            self.process = subprocess.Popen(  # noqa: S603 - our binary, our config
                command, stdout=log_out, stderr=log_out
            )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                tail = self.log_file.read_text().strip()[-500:]
                raise PgBouncerError(f"pgbouncer exited: {tail}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    log.info("pgbouncer.started", port=self.port, pool_mode="transaction")
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise PgBouncerError(f"pgbouncer did not listen on {self.port} within {timeout_s} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None


@contextmanager
def pgbouncer_in_front_of(url: str, folder: Path, pool_size: int = 20) -> Iterator[PgBouncer]:
    """PgBouncer running in front of the server of `url` (TCP, or the embedded server's unix
    socket), logging in with the URL's user and password."""
    server = asyncpg_connect_args(url)
    bouncer = PgBouncer(
        folder,
        server_host=server["host"] or "127.0.0.1",
        server_port=server["port"] or 5432,
        pool_size=pool_size,
        user=server["user"] or "postgres",
        password=server["password"],
    )
    bouncer.start()
    try:
        yield bouncer
    finally:
        bouncer.stop()
