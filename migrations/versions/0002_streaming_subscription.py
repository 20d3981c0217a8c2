"""streaming_subscription: a customer's streaming plan over a date range

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "streaming_subscription",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "customer_id",
            sa.Integer(),
            sa.ForeignKey("customer.customer_id", name="fk_streaming_subscription_customer"),
            nullable=False,
        ),
        sa.Column("plan_name", sa.String(50), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "end_date IS NULL OR end_date >= start_date",
            name="ck_streaming_subscription_end_after_start",
        ),
    )
    op.create_index(
        "ix_streaming_subscription_customer_id", "streaming_subscription", ["customer_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_streaming_subscription_customer_id", table_name="streaming_subscription")
    op.drop_table("streaming_subscription")
