"""The checks `just serve` and `just test` run before installing anything: each staged problem
gives one line naming the fix, within seconds, from a copy of the project that has no .venv."""

import asyncio
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.settings import PROJECT_ROOT

UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture
def fresh_clone() -> Iterator[Path]:
    """The project's preflight script in a folder of its own, as a fresh clone has it: no .venv,
    no cache, no .env. Not pytest's tmp_path: its parents are private (0700) to begin with."""
    parent = Path(tempfile.mkdtemp(prefix="pagila-preflight-"))
    parent.chmod(0o755)
    clone = parent / "clone"
    (clone / "devenv").mkdir(parents=True)
    shutil.copy(PROJECT_ROOT / "devenv" / "preflight.py", clone / "devenv" / "preflight.py")
    yield clone
    shutil.rmtree(parent, ignore_errors=True)


async def preflight(clone: Path, mode: str, **env: str) -> tuple[int, list[str], float]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("PAGILA", "LLM_", "OPENAI"))}
    base.pop("DATABASE_URL", None)
    base.pop("TEST_DATABASE_URL", None)
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(clone / "devenv" / "preflight.py"), mode,
        env={**base, **env}, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await process.communicate()
    assert process.returncode is not None
    return process.returncode, stderr.decode().splitlines(), time.monotonic() - started


def _tools_without(*names: str) -> str:
    """A PATH with python and the usual tools, minus `names`."""
    folder = Path(tempfile.mkdtemp(prefix="pagila-path-"))
    for tool in ("cc", "gcc", "c++", "g++", "cmake", "clang", "clang++"):
        found = shutil.which(tool)
        if found and tool not in names and not any(tool.startswith(n) for n in names):
            (folder / tool).symlink_to(found)
    return str(folder)


async def test_a_healthy_setup_passes(fresh_clone: Path) -> None:
    pagila_dir = os.environ.get("PAGILA_DIR")
    assert pagila_dir, "the tests need PAGILA_DIR"
    code, lines, _ = await preflight(
        fresh_clone, "serve", OPENAI_API_KEY="sk-x", PAGILA_DIR=pagila_dir,
        DATABASE_URL="postgresql+asyncpg://x@127.0.0.1/x",
    )  # fmt: skip

    assert (code, lines) == (0, [])


async def test_missing_build_tools_are_named_before_the_build(fresh_clone: Path) -> None:
    code, lines, seconds = await preflight(
        fresh_clone, "serve", PATH=_tools_without("cmake", "c++", "g++", "clang"),
        PAGILA_DIR=os.environ["PAGILA_DIR"], DATABASE_URL="postgresql+asyncpg://x@127.0.0.1/x",
    )  # fmt: skip

    assert code == 1
    [line] = lines
    assert "C++ compiler" in line
    assert "cmake" in line
    assert "OPENAI_API_KEY" in line
    assert seconds < 10


@pytest.mark.skipif(os.geteuid() != 0, reason="the account check applies when run as root")
async def test_a_private_parent_folder_is_named(fresh_clone: Path) -> None:
    private = fresh_clone.parent / "private"
    private.mkdir()
    clone = private / "clone"
    shutil.copytree(fresh_clone, clone)
    private.chmod(0o700)  # what `mktemp -d` gives

    code, lines, seconds = await preflight(
        clone, "serve", OPENAI_API_KEY="sk-x", PAGILA_DIR=os.environ["PAGILA_DIR"]
    )

    assert code == 1
    [line] = lines
    assert f"cannot enter {private} (mode 0700)" in line
    assert "EMBEDDED_PG_USER" in line
    assert seconds < 10


async def test_unobtainable_pagila_names_both_settings(fresh_clone: Path) -> None:
    code, lines, seconds = await preflight(
        fresh_clone, "test", PAGILA_BASE_URL=UNREACHABLE,
        TEST_DATABASE_URL="postgresql+asyncpg://x@127.0.0.1/x",
        PATH=os.environ["PATH"],
    )  # fmt: skip

    assert code == 1
    [line] = [x for x in lines if "Pagila" in x]
    assert "PAGILA_DIR" in line
    assert "PAGILA_BASE_URL" in line
    assert seconds < 10


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql+psycopg://postgres@127.0.0.1:5432/pagila",
            "DATABASE_URL starts with postgresql+psycopg://: the app talks to PostgreSQL through "
            "asyncpg",
        ),
        (
            "postgresql://postgres@127.0.0.1:9/pagila",
            "DATABASE_URL: cannot connect to PostgreSQL at 127.0.0.1:9 (connection refused)",
        ),
    ],
    ids=["another driver", "nothing on that port"],
)
async def test_a_wrong_database_url_is_one_line_naming_the_fix(
    fresh_clone: Path, url: str, expected: str
) -> None:
    code, lines, took = await preflight(
        fresh_clone, "serve", DATABASE_URL=url, PAGILA_DIR=os.environ["PAGILA_DIR"],
        LLM_PROVIDER="openai", OPENAI_API_KEY="sk-x",
    )  # fmt: skip
    assert code == 1
    assert len(lines) == 1
    assert lines[0].startswith(f"preflight: {expected}")
    assert took < 5


async def test_a_plain_postgresql_url_that_answers_passes(fresh_clone: Path) -> None:
    code, lines, _ = await preflight(
        fresh_clone, "serve", DATABASE_URL="postgresql://postgres@127.0.0.1:5432/postgres",
        PAGILA_DIR=os.environ["PAGILA_DIR"], LLM_PROVIDER="openai", OPENAI_API_KEY="sk-x",
    )  # fmt: skip
    assert (code, lines) == (0, [])


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "DB_POOLER=transaction: set DATABASE_URL to the pooler"),
        (
            {"DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/pagila"},
            "DB_POOLER=transaction: set DATABASE_DIRECT_URL to PostgreSQL itself",
        ),
        (
            {
                "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/pagila",
                "DATABASE_DIRECT_URL": "postgresql://postgres@127.0.0.1:9/pagila",
            },
            "DATABASE_DIRECT_URL: cannot connect to PostgreSQL at 127.0.0.1:9",
        ),
    ],
    ids=["no pooler URL", "nowhere to provision", "direct URL unreachable"],
)
async def test_a_pooler_without_what_it_needs_is_named(
    fresh_clone: Path, env: dict[str, str], expected: str
) -> None:
    code, lines, _ = await preflight(
        fresh_clone, "serve", DB_POOLER="transaction", PAGILA_DIR=os.environ["PAGILA_DIR"],
        LLM_PROVIDER="openai", OPENAI_API_KEY="sk-x", **env,
    )  # fmt: skip
    assert code == 1
    assert [line for line in lines if expected in line], lines


async def test_a_pooler_with_provisioning_off_needs_no_direct_url(fresh_clone: Path) -> None:
    code, lines, _ = await preflight(
        fresh_clone, "serve", DB_POOLER="transaction", PREPARE_DATABASE="false",
        DATABASE_URL="postgresql://postgres@127.0.0.1:5432/postgres",
        PAGILA_DIR=os.environ["PAGILA_DIR"], LLM_PROVIDER="openai", OPENAI_API_KEY="sk-x",
    )  # fmt: skip
    assert (code, lines) == (0, [])


def test_the_preflight_restates_the_settings_defaults_and_provider_rule() -> None:
    """devenv/preflight.py runs before pydantic is installed, so it restates some defaults and
    the provider rule: they must agree with the settings classes."""
    from devenv import preflight
    from devenv.settings import DevSettings
    from shared.settings import Settings, resolve_llm_provider

    # The classes' defaults, not this environment's values.
    dev = {name: field.default for name, field in DevSettings.model_fields.items()}
    assert {
        "PAGILA_BASE_URL": dev["pagila_base_url"],
        "PAGILA_CACHE_DIR": str(dev["pagila_cache_dir"]),
        "EMBEDDED_PG_DIR": str(dev["embedded_pg_dir"]),
        "EMBEDDED_PG_USER": dev["embedded_pg_user"],
        "PREPARE_DATABASE": str(dev["prepare_database"]).lower(),
        "DB_POOLER": Settings.model_fields["db_pooler"].default,
    } == preflight.DEFAULTS
    unset = {"llm_provider": "auto", "llm_base_url": None, "azure_openai_endpoint": None}
    cases: list[dict[str, str]] = [
        {},
        {"LLM_PROVIDER": "local"},
        {"LLM_PROVIDER": "openai"},
        {"LLM_BASE_URL": "http://127.0.0.1:9/v1"},
        {"AZURE_OPENAI_ENDPOINT": "https://x.openai.azure.com"},
        {"OPENAI_API_KEY": "sk-x"},
        {"LLM_PROVIDER": "auto", "OPENAI_API_KEY": "sk-x"},
    ]
    for env in cases:
        fields: dict[str, Any] = {**unset, "openai_api_key": None}
        fields |= {k.lower(): v for k, v in env.items()}
        expected = resolve_llm_provider(Settings(_env_file=None, **fields)) == "local"
        assert preflight.uses_local_model(env) is expected, env
