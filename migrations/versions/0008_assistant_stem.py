"""assistant_stem: PostgreSQL's English stemmer, with no word dropped

The store assistant chooses what a question asks by its nearest example phrasing, compared by
their words' stems ("copies" -> "copi"). PostgreSQL's `english_stem` drops stop words, and with
them the words that say what is asked ("who is in it", "what is it about"); this dictionary is
the same Snowball stemmer without a stop-word list.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

from alembic import op

from shared.database.models import ASSISTANT_STEM

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        f"CREATE TEXT SEARCH DICTIONARY {ASSISTANT_STEM} (TEMPLATE = snowball, Language = english)"
    )


def downgrade() -> None:
    op.execute(f"DROP TEXT SEARCH DICTIONARY {ASSISTANT_STEM}")
