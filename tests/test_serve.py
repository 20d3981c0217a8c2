"""`just serve` exactly as a user runs it (the recipe, not a copy of its command line), and the
bounds it enforces itself, over a real socket, memory included."""

import asyncio
import fcntl
import os
import pty
import re
import select
import shutil
import socket
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from devenv.ports import free_port
from shared.settings import PROJECT_ROOT
from tests.support import forget_failures

JUST = shutil.which("just")
if JUST is None and not os.environ.get("CI"):
    pytest.skip("just is not installed (see README: setup)", allow_module_level=True)


HEADER_TIMEOUT_S = 1.0
MIB = 1024 * 1024


def _serve_env(port: int, test_db_url: str, **extra: str) -> dict[str, str]:
    """`just serve` on `port` against the test database, with no local model to start: these
    tests are about the server."""
    return {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": test_db_url,
        "PREPARE_DATABASE": "false",
        "LLM_PROVIDER": "openai",
        "OPENAI_API_KEY": "sk-unit-tests-make-no-calls",
        **extra,
    }


def _wait_until_it_answers(
    url: str, server: subprocess.Popen[bytes], why_it_exited: Callable[[], str]
) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        assert server.poll() is None, why_it_exited()
        try:
            httpx.get(f"{url}/health", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    pytest.fail("just serve did not answer within 120 s")


@pytest.fixture(scope="module")
def served(test_db_url: str) -> Iterator[str]:
    assert JUST is not None
    port = free_port()
    env = _serve_env(port, test_db_url, REQUEST_HEADER_TIMEOUT_S=str(HEADER_TIMEOUT_S))
    server = subprocess.Popen(  # noqa: S603 - our own recipe
        [JUST, "serve"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_it_answers(url, server, lambda: "just serve exited")
        yield url
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=60)


@pytest.mark.parametrize("path", ["/", "/static/app.js", "/films/1", "/films/0", "/nowhere"])
def test_no_server_banner(served: str, path: str) -> None:
    response = httpx.get(f"{served}{path}")

    assert response.status_code in {200, 404, 422}
    assert "server" not in response.headers
    assert response.headers["x-request-id"]


def _server_pid(url: str) -> int:
    """The uvicorn process serving `url` (under `just` and `poetry run`)."""
    port = str(urlsplit(url).port).encode()
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"uvicorn" in a for a in argv) and port in argv and b"poetry" not in argv[1]:
            return int(proc.name)
    raise AssertionError(f"no uvicorn process serves {url}")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def _send_until_answered(url: str, head: bytes, body_chunk: bytes, total: int) -> bytes:
    """Send `head`, then `body_chunk`s up to `total` bytes, until the server answers (or closes
    the connection); returns what it answered."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head)
        sent = 0
        try:
            while sent < total:
                if select.select([sock], [], [], 0)[0]:
                    break  # an answer (or the end): stop sending
                sock.sendall(body_chunk)
                sent += len(body_chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # closed on us; the answer is already in our receive buffer
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, TimeoutError):
            pass
    return answer


def test_a_100_mb_header_is_refused_with_431_without_reading_it(served: str) -> None:
    pid = _server_pid(served)
    httpx.get(f"{served}/films/1")  # warm: the first request allocates what every one needs
    before = _rss_mib(pid)

    answer = _send_until_answered(
        served, b"GET /films/1 HTTP/1.1\r\nHost: x\r\nX-Big: ", b"a" * 65536, 100 * MIB
    )

    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"at most 32768 bytes" in answer
    assert _rss_mib(pid) - before < 5
    assert httpx.get(f"{served}/health").status_code == 200


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_100_mb_body_is_refused_with_413_without_reading_it(served: str, declared: bool) -> None:
    pid = _server_pid(served)
    httpx.post(f"{served}/ai/summary", json={"film_id": "x"})  # warm
    before = _rss_mib(pid)
    framing = (
        f"Content-Length: {100 * MIB}" if declared else "Transfer-Encoding: chunked"
    ).encode()
    chunk = b"a" * 65536
    head = b"POST /ai/summary HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    head += framing + b"\r\n\r\n"
    if not declared:
        chunk = b"10000\r\n" + chunk + b"\r\n"  # 0x10000 bytes per chunk

    answer = _send_until_answered(served, head, chunk, 100 * MIB)

    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"Request body too large: at most 1048576 bytes." in answer
    assert b"x-request-id" in answer.lower()
    assert _rss_mib(pid) - before < 5


@pytest.mark.parametrize(
    "sent", [b"", b"GET /films/1 HTTP/1.1\r\nHost: x\r\n"], ids=["nothing", "half a head"]
)
def test_a_connection_that_does_not_finish_its_head_in_time_is_closed(
    served: str, sent: bytes
) -> None:
    parts = urlsplit(served)
    # Timed from before the connection: the server's clock starts when it accepts it, which
    # may be before create_connection returns here.
    started = time.monotonic()
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(sent)
        closed = sock.recv(1024) == b""  # blocks until the server closes it
        waited = time.monotonic() - started
    assert closed
    assert HEADER_TIMEOUT_S <= waited < HEADER_TIMEOUT_S + 2


def test_a_slow_head_is_cut_off_though_it_keeps_sending(served: str) -> None:
    """Slowloris: a byte at a time keeps a connection busy; the clock runs from the head's
    first byte, not from the last one."""
    parts = urlsplit(served)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        started = time.monotonic()
        try:
            for byte in b"GET /films/1 HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 100:
                sock.sendall(bytes([byte]))
                time.sleep(0.1)
            closed = False
        except (BrokenPipeError, ConnectionResetError):
            closed = True
        waited = time.monotonic() - started
    assert closed
    assert waited < HEADER_TIMEOUT_S + 2


def test_keep_alive_requests_each_get_the_whole_budget(served: str) -> None:
    """The head clock restarts per request: a connection reused for several quick requests
    across more than the timeout is not cut off."""
    with httpx.Client(base_url=served) as http:
        statuses = []
        for _ in range(4):
            statuses.append(http.get("/health").status_code)
            time.sleep(HEADER_TIMEOUT_S / 2)
    assert statuses == [200] * 4


def test_ctrl_c_on_a_terminal_ends_without_an_error_line(test_db_url: str) -> None:
    """Ctrl+C in the terminal running `just serve`: the server shuts down in order, and nothing
    says "error" (just, had it caught the SIGINT too, would print "error: interrupted")."""
    assert JUST is not None
    port = free_port()
    env = _serve_env(port, test_db_url)
    terminal, tty = pty.openpty()

    def controlling_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    server = subprocess.Popen(  # noqa: S603 - our own recipe
        [JUST, "serve"],
        cwd=PROJECT_ROOT,
        env=env,
        stdin=tty,
        stdout=tty,
        stderr=tty,
        start_new_session=True,
        preexec_fn=controlling_terminal,
    )
    os.close(tty)
    shown: list[bytes] = []
    reader = threading.Thread(target=_read_all, args=(terminal, shown), daemon=True)
    reader.start()
    try:
        _wait_until_it_answers(f"http://127.0.0.1:{port}", server, lambda: b"".join(shown).decode())
        os.write(terminal, b"\x03")  # Ctrl+C, as typed
        returncode = server.wait(timeout=60)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, 9)
    reader.join(timeout=5)
    output = re.sub(r"\x1b\[[0-9;]*m", "", b"".join(shown).decode(errors="replace"))

    assert "Application shutdown complete" in output
    assert [line for line in output.splitlines() if line.lstrip("^C").startswith("error")] == []
    assert returncode == 0


def _read_all(fd: int, into: list[bytes]) -> None:
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:  # the terminal's last user has gone
            return
        if not data:
            return
        into.append(data)


def test_a_forged_x_forwarded_for_does_not_escape_the_token_limit(
    served: str, test_db_url: str
) -> None:
    """Nobody's X-Forwarded-For is believed unless FORWARDED_ALLOW_IPS says so: a client that
    varies it is still one client to /token's failure limit (5 a minute)."""
    try:
        statuses = [
            httpx.post(
                f"{served}/token",
                data={"username": "admin", "password": "wrong"},
                headers={"X-Forwarded-For": f"10.0.0.{i}"},
            ).status_code
            for i in range(6)
        ]
    finally:
        asyncio.run(forget_failures(test_db_url, "127.0.0.1"))  # other tests sign in from here
    assert statuses == [401] * 5 + [429]
