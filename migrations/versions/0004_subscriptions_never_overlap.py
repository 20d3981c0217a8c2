"""streaming_subscription: a customer's subscriptions never overlap (exclusion constraint)

The database, not a check-then-insert, keeps two concurrent requests from both succeeding: the
API checks first for a clear message, and maps a violation of this constraint to 409. GiST
needs btree_gist for the `customer_id WITH =` part (a trusted contrib extension).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Written out, not imported: a revision must keep meaning what it meant when it was written.
NO_OVERLAPPING_SUBSCRIPTIONS = "ex_streaming_subscription_no_overlap"
SUBSCRIPTION_PERIOD = "daterange(start_date, end_date, '[]')"


def upgrade() -> None:
    overlapping: int = (
        op.get_bind()
        .execute(
            sa.text(
                "SELECT count(*) FROM streaming_subscription a JOIN streaming_subscription b"
                " ON a.customer_id = b.customer_id AND a.id < b.id"
                " AND daterange(a.start_date, a.end_date, '[]')"
                " && daterange(b.start_date, b.end_date, '[]')"
            )
        )
        .scalar_one()
    )
    if overlapping:
        raise RuntimeError(
            f"Streaming subscriptions overlap ({overlapping} pair(s), same customer): end or "
            "delete one of each pair, then run this migration again."
        )
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        f"ALTER TABLE streaming_subscription ADD CONSTRAINT {NO_OVERLAPPING_SUBSCRIPTIONS}"
        f" EXCLUDE USING gist (customer_id WITH =, {SUBSCRIPTION_PERIOD} WITH &&)"
    )


def downgrade() -> None:
    op.drop_constraint(NO_OVERLAPPING_SUBSCRIPTIONS, "streaming_subscription")
    # btree_gist stays: it may predate this revision or serve other objects, and is inert.
