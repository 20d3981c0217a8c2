"""idempotency_key: safe retries of writes (the Idempotency-Key header)

A write sent with an `Idempotency-Key` records, in its own transaction, the key, a fingerprint
of the request and the response it gave; a retry with the same key gets that response again,
and the work is not done twice. Keys are per caller (a member of staff, or the service
token) and kept IDEMPOTENCY_KEY_TTL_S.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE idempotency_key (
            owner text NOT NULL,
            key text NOT NULL,
            fingerprint text NOT NULL,
            status smallint NOT NULL,
            body bytea NOT NULL,  -- the response's bytes, given back as they were
            headers jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            PRIMARY KEY (owner, key)
        )
        """
    )
    op.execute("CREATE INDEX idempotency_key_created_at_idx ON idempotency_key (created_at)")


def downgrade() -> None:
    op.execute("DROP TABLE idempotency_key")
