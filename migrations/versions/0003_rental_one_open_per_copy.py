"""rental: at most one open (unreturned) rental per inventory copy

The last line of defence against two concurrent rentals of the same copy: the API checks first,
and maps a violation of this index to 409.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.database.models import OPEN_RENTAL_INDEX

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        OPEN_RENTAL_INDEX,
        "rental",
        ["inventory_id"],
        unique=True,
        postgresql_where=sa.text("return_date IS NULL"),
    )


def downgrade() -> None:
    op.drop_index(OPEN_RENTAL_INDEX, table_name="rental")
