"""token_failure: failed POST /token attempts, shared by every worker and host

The failure limit of POST /token lived in each process's memory: with N workers or hosts a
client had N times the tries. One row per failure (client, when); each attempt reads, records
or clears them, and prunes what has left the window, in one statement.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE token_failure (
            client text NOT NULL,
            failed_at timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute("CREATE INDEX token_failure_client_idx ON token_failure (client, failed_at)")
    op.execute("CREATE INDEX token_failure_failed_at_idx ON token_failure (failed_at)")


def downgrade() -> None:
    op.execute("DROP TABLE token_failure")
