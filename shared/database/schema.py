"""The schema the code needs, against the one the database has: production replicas never migrate
(migrations are a step of their own), so they refuse to start on a schema older than the code.

The code's revisions are read from migrations/versions/ as text (each file's `revision` and
`down_revision` assignments), not through Alembic: no migration module is imported, and no
alembic.ini or env.py is needed at run time. The database's revision is its `alembic_version`.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import text

from shared.database.core import Database
from shared.database.statements import Statement
from shared.settings import PROJECT_ROOT

VERSIONS_DIR = PROJECT_ROOT / "migrations" / "versions"


@dataclass(frozen=True)
class CodeRevisions:
    heads: frozenset[str]  # what the code needs: revisions no other revision follows
    known: frozenset[str]  # every revision the code has


def _assigned(module: ast.Module, names: set[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for node in module.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in names:
            values[target.id] = ast.literal_eval(value)
    return values


def code_revisions(versions_dir: Path = VERSIONS_DIR) -> CodeRevisions:
    known: set[str] = set()
    followed: set[str] = set()
    for path in sorted(versions_dir.glob("*.py")):
        values = _assigned(ast.parse(path.read_bytes(), str(path)), {"revision", "down_revision"})
        revision, down = values.get("revision"), values.get("down_revision")
        if not isinstance(revision, str):
            continue
        known.add(revision)
        if isinstance(down, str):
            followed.add(down)
        elif isinstance(down, tuple | list):  # a merge revision
            followed.update(str(d) for d in down)
    if not known:
        raise SchemaBehindError(f"no migration found in {versions_dir}: the app needs its files")
    return CodeRevisions(frozenset(known - followed), frozenset(known))


class SchemaBehindError(RuntimeError):
    """The database's schema is older than the code (or has none): migrate it first."""


# On the primary (a transaction's session), where migrations ran: a replica may lag.
_HAS_TABLE = Statement(text("SELECT to_regclass('alembic_version') IS NOT NULL AS found"))
_FOUND = Statement(text("SELECT version_num FROM alembic_version"))


async def database_revisions(database: Database) -> frozenset[str]:
    """The revisions in the database's alembic_version (empty: never migrated)."""
    async with database.transaction() as transaction:
        table = await transaction.row(_HAS_TABLE)
        if table is None or not table["found"]:
            return frozenset()
        return frozenset(row["version_num"] for row in await transaction.rows(_FOUND))


def _names(revisions: frozenset[str]) -> str:
    return ", ".join(sorted(revisions)) or "none"


async def require_current_schema(
    database: Database, code: CodeRevisions | None = None
) -> frozenset[str]:
    """The database's revisions, when they are the code's head, or newer (a migration for code
    still to be rolled out: the expand step of expand/contract); else SchemaBehindError, naming
    the revision the code needs and the one found."""
    code = code or code_revisions()
    found = await database_revisions(database)
    if found == code.heads or found - code.known:
        return found
    raise SchemaBehindError(
        f"the database schema is at revision {_names(found)}, older than the code, which needs "
        f"{_names(code.heads)}: migrate it first (`just migrate`, or compose's `migrate` "
        "service); production replicas never migrate"
    )
