"""`just serve` exactly as a user runs it (the recipe, not a copy of its command line)."""

import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest

from shared.settings import PROJECT_ROOT
from tests.support import free_port

JUST = shutil.which("just")
if JUST is None and not os.environ.get("CI"):
    pytest.skip("just is not installed (see README: setup)", allow_module_level=True)


@pytest.fixture(scope="module")
def served(test_db_url: str) -> Iterator[str]:
    assert JUST is not None
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": test_db_url,
        "PREPARE_DATABASE": "false",
        "LLM_PROVIDER": "openai",  # no local model to start: this test is about the server
        "OPENAI_API_KEY": "sk-unit-tests-make-no-calls",
    }
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
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert server.poll() is None, "just serve exited"
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("just serve did not answer within 120 s")
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
