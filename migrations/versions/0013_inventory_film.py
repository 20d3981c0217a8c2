"""inventory: an index for a film's copies

A film's availability (GET /films/{id}/availability, the assistant's film_availability) and how
often it was rented (the assistant's find_films) read the film's copies. Pagila indexes
inventory by (store_id, film_id) only, so each read scanned every copy (`just explain`).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

from shared.database.models import INVENTORY_FILM_INDEX

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(INVENTORY_FILM_INDEX, "inventory", ["film_id"])


def downgrade() -> None:
    op.drop_index(INVENTORY_FILM_INDEX, table_name="inventory")
