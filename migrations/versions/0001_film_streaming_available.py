"""film.streaming_available: whether a film can be streamed (not only rented on disc)

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A constant default makes this a catalog-only change in PostgreSQL 11+: no table rewrite.
    op.add_column(
        "film",
        sa.Column("streaming_available", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    op.drop_column("film", "streaming_available")
