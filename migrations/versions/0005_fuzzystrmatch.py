"""fuzzystrmatch: the store assistant links misspelt titles and names (levenshtein)

The offline store assistant matches the words of a question against film titles and actors'
names with `levenshtein_less_equal`, so that "acadmey dinosuar" finds ACADEMY DINOSAUR. A
trusted contrib extension; the downgrade keeps it (it may predate us, and dropping it would
break anything else that uses it).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS fuzzystrmatch")


def downgrade() -> None:
    pass
