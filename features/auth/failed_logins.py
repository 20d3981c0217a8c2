"""Failed POST /token attempts per client, in a sliding window, kept in PostgreSQL so that the
limit holds across workers and hosts: enough failures, and the client waits (429 +
Retry-After) before it may try again.

One statement per attempt, after the credentials were compared: it says whether the client
is locked out (and for how long), records a failure or clears the client's failures on a
success, and prunes every row that has left the window (so the table stays small). Before it,
in the same transaction, a transaction-scoped advisory lock on the client: parallel attempts
of one client take turns, each counting what the one before it committed, so a burst cannot
slip past the limit (a single statement's snapshot would not see its siblings' failures).
"""

from dataclasses import dataclass

from sqlalchemy import Boolean, Float, Integer, String, bindparam, text
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database import execute

ATTEMPT = text(
    """
    WITH recent AS (
        SELECT failed_at FROM token_failure
         WHERE client = :client AND failed_at > now() - make_interval(secs => :window_s)
    ), verdict AS (
        SELECT count(*) >= :max_failures AS locked,
               (SELECT failed_at FROM recent ORDER BY failed_at DESC
                OFFSET :max_failures - 1 LIMIT 1) AS oldest_that_counts
          FROM recent
    ), recorded AS (
        INSERT INTO token_failure (client)
        SELECT :client FROM verdict WHERE NOT locked AND NOT :ok
        RETURNING 1
    ), cleared AS (
        DELETE FROM token_failure
         WHERE (:ok AND client = :client AND NOT (SELECT locked FROM verdict))
            OR failed_at <= now() - make_interval(secs => :window_s)
        RETURNING 1
    )
    SELECT locked,
           CASE WHEN locked THEN extract(epoch FROM oldest_that_counts
                + make_interval(secs => :window_s) - now()) END AS wait_s,
           (SELECT count(*) FROM recent) + (SELECT count(*) FROM recorded) AS failures
      FROM verdict
    """
).bindparams(
    bindparam("client", type_=String),
    bindparam("ok", type_=Boolean),
    bindparam("max_failures", type_=Integer),
    bindparam("window_s", type_=Float),
)


@dataclass(frozen=True)
class Attempt:
    locked: bool  # refused without looking at the credentials' result
    wait_s: float  # when locked: seconds until the client may try again
    failures: int  # the client's failures in the window, this one included


TAKE_TURNS = text("SELECT pg_advisory_xact_lock(hashtext('token_failure:' || :client))").bindparams(
    bindparam("client", type_=String)
)


async def attempt(
    session: AsyncSession, client: str, *, ok: bool, max_failures: int, window_s: float
) -> Attempt:
    """In the session's transaction (the lock lasts until it commits)."""
    await execute(session, TAKE_TURNS, {"client": client})
    params = {"client": client, "ok": ok, "max_failures": max_failures, "window_s": window_s}
    row = (await execute(session, ATTEMPT, params)).one()
    return Attempt(bool(row.locked), float(row.wait_s or 0.0), int(row.failures))
