"""Failed sign-ins, kept in PostgreSQL so that the limits hold across workers and hosts.

Failures are counted over TOKEN_FAILURE_WINDOW_S per (account, client), and per client over
any accounts. Past TOKEN_MAX_FAILURES for the pair, or TOKEN_CLIENT_MAX_FAILURES for the client,
that client waits: TOKEN_LOCKOUT_S after the last failure, doubled by each further failure, up
to the window. So a guesser locks out their own address, and a clerk signing in from elsewhere
is never held up by them.

`check` runs before the password is verified: a locked-out client costs no hashing, and even
the right password waits (a guesser must not learn it was right). `record` runs after it. Both
run in one transaction after a transaction-scoped advisory lock on the client, so a client's
parallel attempts take turns, each counting what the one before it committed: a burst cannot
slip past a limit.

The account is a digest of the username typed: a password typed into the username field is
never kept.
"""

import hashlib
from dataclasses import dataclass

from sqlalchemy import Boolean, Float, Integer, String, bindparam, text

from shared.database import Statement, Transaction
from shared.settings import Settings


@dataclass(frozen=True)
class Limits:
    max_failures: int
    client_max_failures: int
    window_s: float
    lockout_s: float

    @classmethod
    def of(cls, settings: Settings) -> "Limits":
        return cls(
            settings.token_max_failures,
            settings.token_client_max_failures,
            settings.token_failure_window_s,
            settings.token_lockout_s,
        )


def account_of(username: str) -> str:
    return hashlib.sha256(username.encode()).hexdigest()[:32]


_LIMIT_PARAMS = (
    bindparam("client", type_=String),
    bindparam("account", type_=String),
    bindparam("window_s", type_=Float),
)

# How long the client must wait before this account may be tried (0: not at all).
WAIT = Statement(
    text(
        """
    WITH tally AS (
        SELECT count(*) FILTER (WHERE account = :account) AS pair,
               max(failed_at) FILTER (WHERE account = :account) AS pair_last,
               count(*) AS client,
               max(failed_at) AS client_last
          FROM token_failure
         WHERE client = :client AND failed_at > now() - make_interval(secs => :window_s)
    )
    SELECT greatest(
               0,
               CASE WHEN pair >= :max_failures THEN extract(epoch FROM pair_last - now()
                   + make_interval(secs => least(
                       :lockout_s * power(2.0, pair - :max_failures), :window_s)))
               END,
               CASE WHEN client >= :client_max_failures THEN extract(epoch FROM client_last
                   - now() + make_interval(secs => least(
                       :lockout_s * power(2.0, client - :client_max_failures), :window_s)))
               END
           ) AS wait_s
      FROM tally
    """
    ).bindparams(
        *_LIMIT_PARAMS,
        bindparam("max_failures", type_=Integer),
        bindparam("client_max_failures", type_=Integer),
        bindparam("lockout_s", type_=Float),
    )
)

# A failure is recorded; a success clears the pair's failures; rows that have left the window
# go, whoever's they were (the table stays small). Returns the pair's failures now.
RECORD = Statement(
    text(
        """
    WITH recorded AS (
        INSERT INTO token_failure (client, account)
        SELECT :client, :account WHERE NOT :ok
        RETURNING 1
    ), cleared AS (
        DELETE FROM token_failure
         WHERE (:ok AND client = :client AND account = :account)
            OR failed_at <= now() - make_interval(secs => :window_s)
        RETURNING 1
    )
    SELECT count(*) + (SELECT count(*) FROM recorded) AS failures
      FROM token_failure
     WHERE NOT :ok AND client = :client AND account = :account
       AND failed_at > now() - make_interval(secs => :window_s)
    """
    ).bindparams(*_LIMIT_PARAMS, bindparam("ok", type_=Boolean))
)


async def wait_s(transaction: Transaction, client: str, account: str, limits: Limits) -> float:
    """Seconds this client must wait before trying this account (0: it may now). Takes the
    client's turn first (held until the transaction ends)."""
    await transaction.take_turns(f"token_failure:{client}")
    params = {
        "client": client,
        "account": account,
        "window_s": limits.window_s,
        "max_failures": limits.max_failures,
        "client_max_failures": limits.client_max_failures,
        "lockout_s": limits.lockout_s,
    }
    row = await transaction.row(WAIT, params)
    assert row is not None  # an aggregate's one row
    return float(row["wait_s"])


async def record(
    transaction: Transaction, client: str, account: str, limits: Limits, *, ok: bool
) -> int:
    """The attempt's outcome; returns the pair's failures in the window, this one included."""
    params = {"client": client, "account": account, "window_s": limits.window_s, "ok": ok}
    row = await transaction.write(RECORD, params)
    assert row is not None  # an aggregate's one row
    return int(row["failures"])
