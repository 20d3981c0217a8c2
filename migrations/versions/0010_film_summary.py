"""film_summary: film summaries kept, so a repeat costs no model call

POST /ai/summary stores each summary it generates, keyed by a digest of everything that made
it (features/ai_summary/handler.py, `cache_key`): the facts the prompt was given, the model's
identity and the prompt's version (a digest of its files). A repeat is then a read. Only the
model's text is kept: title, rating and `recommended` come from the database and the rule at
every request.

A film's facts changing, another model or an edited prompt make a new key; the row for the old
key is never read again. Such rows may stay: at most one per film, set of facts, model and
prompt version, a few hundred bytes each. Any row may be deleted at any time (it is made again
on the next request for it), e.g. `DELETE FROM film_summary WHERE created_at < now() -
interval '90 days'`; deleting a film deletes its summaries.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE film_summary (
            key text PRIMARY KEY,
            film_id integer NOT NULL
                CONSTRAINT fk_film_summary_film REFERENCES film (film_id) ON DELETE CASCADE,
            model text NOT NULL,
            summary text NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX ix_film_summary_film_id ON film_summary (film_id)")


def downgrade() -> None:
    op.execute("DROP TABLE film_summary")
