"""Production takes no development shortcut on start: it never provisions nor migrates (a database
at an older revision stays there), and it refuses a schema older than the code, naming the
revision it needs and the one it found. Development still provisions everything on start.
(Production without DATABASE_URL: tests/shared/test_app_env.py; the main group alone, served
as the image serves it: tests/test_image.py.)"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from devenv.database import connect, migrate
from main import PRODUCTION_SKIPS, create_app
from shared.database.schema import (
    CodeRevisions,
    SchemaBehindError,
    code_revisions,
    require_current_schema,
)
from tests.fixtures.logs import of
from tests.support import make_dev_settings, make_settings

OWN_SECRETS = {
    "app_env": "production",
    "admin_token": "a-service-token-of-our-own-0123456789",
    "jwt_secret": "a-signing-key-of-our-own-0123456789abcdef",
}
HEAD = code_revisions().heads


def production_app(url: str) -> FastAPI:
    # Development settings that would prepare the database: production must not use them.
    return create_app(
        make_settings(database_url=url, **OWN_SECRETS), make_dev_settings(prepare_database=True)
    )


async def schema_of(url: str) -> dict[str, Any]:
    conn = await connect(url)
    try:
        revisions = None
        if await conn.fetchval("SELECT to_regclass('alembic_version') IS NOT NULL"):
            rows = await conn.fetch("SELECT version_num FROM alembic_version")
            revisions = {row["version_num"] for row in rows}
        return {
            "revisions": revisions,
            "streaming_available": await conn.fetchval(
                "SELECT count(*) FROM information_schema.columns"
                " WHERE table_name = 'film' AND column_name = 'streaming_available'"
            ),
        }
    finally:
        await conn.close()


async def start(app: FastAPI) -> None:
    async with app.router.lifespan_context(app):
        pass


async def test_production_refuses_an_older_schema_naming_both_revisions_and_leaves_it(
    fresh_pagila_url: str,
) -> None:
    await migrate(fresh_pagila_url, "0009")
    assert "0009" not in HEAD

    with pytest.raises(SchemaBehindError) as refused:
        await start(production_app(fresh_pagila_url))

    assert str(refused.value) == (
        f"the database schema is at revision 0009, older than the code, which needs "
        f"{', '.join(sorted(HEAD))}: migrate it first (`just migrate`, or compose's `migrate` "
        "service); production replicas never migrate"
    )
    assert (await schema_of(fresh_pagila_url))["revisions"] == {"0009"}  # not migrated


async def test_production_refuses_a_database_never_migrated_and_leaves_it(
    fresh_pagila_url: str,
) -> None:
    before = await schema_of(fresh_pagila_url)
    assert before == {"revisions": None, "streaming_available": 0}

    with pytest.raises(SchemaBehindError, match=r"^the database schema is at revision none, "):
        await start(production_app(fresh_pagila_url))

    assert await schema_of(fresh_pagila_url) == before


@pytest.fixture
def production_on_head(test_db_url: str) -> Iterator[FastAPI]:
    yield production_app(test_db_url)
    create_app(make_settings(), make_dev_settings())  # back to the tests' logging


async def test_production_on_a_current_schema_starts_and_says_what_it_skipped(
    production_on_head: FastAPI, log_events: list[dict[str, Any]]
) -> None:
    app = production_on_head
    async with app.router.lifespan_context(app):
        assert app.state.local_model is None
        assert app.state.dev_settings.prepare_database  # given, and not used

    [line] = of(log_events, "app.production")
    assert line["skipped"] == PRODUCTION_SKIPS
    assert line["schema_revision"] == ", ".join(sorted(HEAD))


async def test_a_schema_newer_than_the_code_is_accepted(app: FastAPI) -> None:
    """A migration applied for code still being rolled out (expand, then contract): the
    replicas of the older code keep starting."""
    older_code = CodeRevisions(heads=frozenset({"0001"}), known=frozenset({"0001"}))
    assert await require_current_schema(app.state.database, older_code) == HEAD


async def test_development_still_provisions_on_start(fresh_pagila_url: str) -> None:
    assert (await schema_of(fresh_pagila_url))["revisions"] is None
    app = create_app(
        make_settings(database_url=fresh_pagila_url), make_dev_settings(prepare_database=True)
    )
    await start(app)
    assert await schema_of(fresh_pagila_url) == {"revisions": set(HEAD), "streaming_available": 1}


def test_the_code_revisions_are_read_from_the_files(tmp_path: Path) -> None:
    for name, revision, down in [
        ("a.py", "a", None),
        ("b.py", "b", "a"),
        ("c.py", "c", "a"),
        ("m.py", "m", ("b", "c")),
        ("d.py", "d", "m"),
        ("e.py", "e", "d"),
    ]:
        (tmp_path / name).write_text(
            f'"""{name}"""\nrevision: str = {revision!r}\ndown_revision = {down!r}\n'
        )
    (tmp_path / "helpers.py").write_text("X = 1\n")
    (tmp_path / "e.py").unlink()

    assert code_revisions(tmp_path) == CodeRevisions(
        heads=frozenset({"d"}), known=frozenset({"a", "b", "c", "m", "d"})
    )
