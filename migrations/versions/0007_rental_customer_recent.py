"""rental: an index for a customer's rentals, newest first

GET /customers/{id}/rentals (and its total) read a customer's rentals by date. Pagila indexes
rental by (rental_date, inventory_id, customer_id) only, so each page scanned every rental
(EXPLAIN in the README: `just explain`). Scanned backwards, this index gives the page in order
and the count from the customer's entries alone.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

from shared.database.models import CUSTOMER_RENTALS_INDEX

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(CUSTOMER_RENTALS_INDEX, "rental", ["customer_id", "rental_date", "rental_id"])


def downgrade() -> None:
    op.drop_index(CUSTOMER_RENTALS_INDEX, table_name="rental")
