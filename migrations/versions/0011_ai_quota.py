"""ai_call and ai_token_use: AI quotas that hold across workers and hosts

Each client's AI requests and model calls (shared/ai/quota.py): one row a request or call, with
when it started and finished, so that "per minute" and "at once" are counted by every worker
alike; rows that no longer count are pruned as new ones come. ai_token_use: the tokens the
provider reported, a row a UTC day, against AI_DAILY_TOKEN_BUDGET.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        """
        CREATE TABLE ai_call (
            id bigserial PRIMARY KEY,
            client text NOT NULL,
            kind text NOT NULL CHECK (kind IN ('request', 'model')),
            started_at timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz
        )
        """
    )
    op.execute("CREATE INDEX ai_call_client_idx ON ai_call (client, kind, started_at)")
    op.execute("CREATE INDEX ai_call_started_at_idx ON ai_call (started_at)")
    op.execute(
        """
        CREATE TABLE ai_token_use (
            day date PRIMARY KEY,
            tokens bigint NOT NULL CHECK (tokens >= 0)
        )
        """
    )


def downgrade() -> None:
    op.execute("DROP TABLE ai_token_use")
    op.execute("DROP TABLE ai_call")
