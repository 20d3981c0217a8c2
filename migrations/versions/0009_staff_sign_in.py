"""staff sign-in: one member of staff per username; failed sign-ins per account and client

Staff sign in with Pagila's `staff.username` and `staff.password` (features/auth). Pagila's
usernames are unique in its data, not by constraint: a sign-in must name one member of staff.
`staff.password` is already `text`, wide enough for an argon2 hash (Pagila's SHA-1 digests are
replaced at their first sign-in).

token_failure gains the account a failure was for: failures are counted per (account, client)
and per client, so that a guesser locks out their own address, not a clerk elsewhere. The
account is a digest of the username typed, never the text itself (a password typed into the
username field must not be kept).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE UNIQUE INDEX staff_username_key ON staff (username)")
    op.execute("ALTER TABLE token_failure ADD COLUMN account text NOT NULL DEFAULT ''")
    op.execute("DROP INDEX token_failure_client_idx")
    op.execute(
        "CREATE INDEX token_failure_client_idx ON token_failure (client, account, failed_at)"
    )


def downgrade() -> None:
    op.execute("DROP INDEX token_failure_client_idx")
    op.execute("CREATE INDEX token_failure_client_idx ON token_failure (client, failed_at)")
    op.execute("ALTER TABLE token_failure DROP COLUMN account")
    op.execute("DROP INDEX staff_username_key")
