"""Who may use the model, how much: per-client quotas and the service's daily token budget, held
in PostgreSQL so that they hold across workers and hosts.

A client is a signed-in member of staff (by staff id) or else an address (the one uvicorn
trusts: FORWARDED_ALLOW_IPS). Each client has
- AI_REQUESTS_PER_MINUTE AI requests, whatever answers them (the store assistant's database
  answers are counted only here: they are cheap);
- AI_MODEL_CALLS_PER_MINUTE calls to the model, and at most AI_MODEL_CALLS_AT_ONCE at once.
Past either, a 429 + Retry-After. A hosted provider's tokens are counted from its reported usage
against AI_DAILY_TOKEN_BUDGET for the whole service (a UTC day); past it, a 503 for model calls,
while database answers go on.

`ai_quota` (a dependency of every AI route) charges the request and makes the client's quota
the current one; the chat service (capacity.MeteredChat) takes a model call from it.
"""

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Annotated

import structlog
from fastapi import Depends, Request
from semantic_kernel.connectors.ai.completion_usage import CompletionUsage
from semantic_kernel.contents import ChatMessageContent, StreamingChatMessageContent
from sqlalchemy import Float, Integer, String, bindparam, text

from shared.database import Database, DatabaseDep, Statement
from shared.http.errors import Problem, ServiceUnavailableError, TooManyRequestsError
from shared.http.params import client_address
from shared.security.auth import Caller, current_caller
from shared.settings import Settings, SettingsDep

log = structlog.get_logger(__name__)

REQUEST, MODEL_CALL = "request", "model"
MINUTE_S = 60.0
UNBOUNDED = 2**31 - 1  # a request is finished as it starts: none is ever in progress


AI_QUOTA = Problem("ai-quota", 429, "Past your AI quota")
AI_BUDGET_SPENT = Problem("ai-budget-spent", 503, "The model's daily token budget is spent")


class TokenBudgetSpentError(ServiceUnavailableError):
    """The service's daily token budget is spent."""

    default_problem = AI_BUDGET_SPENT


@dataclass(frozen=True)
class QuotaLimits:
    requests_per_minute: int
    model_calls_per_minute: int
    model_calls_at_once: int
    # A call still open after this long was left by a worker that died: it no longer counts.
    stale_after_s: float
    daily_token_budget: int | None

    @classmethod
    def of(cls, settings: Settings) -> "QuotaLimits":
        return cls(
            settings.ai_requests_per_minute,
            settings.ai_model_calls_per_minute,
            settings.ai_model_calls_at_once,
            settings.ai_wait_timeout_s + settings.llm_timeout_s + settings.handoff_timeout_s,
            settings.ai_daily_token_budget,
        )


# A client's use of one kind in the last minute and now; a new row when both are under their
# limits (a request is finished as it starts; a model call when `finish` says so). Rows of any
# client that no longer count go, so the table stays small.
_TAKE = Statement(
    text(
        """
    WITH use AS (
        SELECT count(*) FILTER (WHERE started_at > now() - make_interval(secs => :minute_s))
                   AS last_minute,
               min(started_at) FILTER (WHERE started_at > now() - make_interval(secs => :minute_s))
                   AS oldest,
               count(*) FILTER (WHERE finished_at IS NULL
                                  AND started_at > now() - make_interval(secs => :stale_s))
                   AS running
          FROM ai_call
         WHERE client = :client AND kind = :kind
    ), taken AS (
        INSERT INTO ai_call (client, kind, finished_at)
        SELECT :client, :kind, CASE WHEN :kind = 'request' THEN now() END
          FROM use
         WHERE last_minute < :per_minute AND running < :at_once
        RETURNING id
    ), pruned AS (
        DELETE FROM ai_call
         WHERE started_at < now() - make_interval(secs => greatest(:minute_s, :stale_s))
        RETURNING 1
    )
    SELECT (SELECT id FROM taken) AS id, last_minute >= :per_minute AS per_minute_spent,
           extract(epoch FROM oldest + make_interval(secs => :minute_s) - now()) AS wait_s
      FROM use
    """
    ).bindparams(
        bindparam("client", type_=String),
        bindparam("kind", type_=String),
        bindparam("minute_s", type_=Float),
        bindparam("stale_s", type_=Float),
        bindparam("per_minute", type_=Integer),
        bindparam("at_once", type_=Integer),
    )
)

_FINISH = Statement(
    text("UPDATE ai_call SET finished_at = now() WHERE id = :id").bindparams(
        bindparam("id", type_=Integer)
    )
)

_TOKENS_TODAY = Statement(
    text(
        "SELECT coalesce(sum(tokens), 0) AS tokens FROM ai_token_use"
        " WHERE day = (now() AT TIME ZONE 'UTC')::date"
    )
)

_SPEND_TOKENS = Statement(
    text(
        """
    INSERT INTO ai_token_use (day, tokens) VALUES ((now() AT TIME ZONE 'UTC')::date, :tokens)
    ON CONFLICT (day) DO UPDATE SET tokens = ai_token_use.tokens + excluded.tokens
    """
    ).bindparams(bindparam("tokens", type_=Integer))
)


@dataclass(frozen=True)
class ClientQuota:
    database: Database
    client: str
    limits: QuotaLimits

    async def _take(self, kind: str, per_minute: int, at_once: int) -> int:
        params = {
            "client": self.client,
            "kind": kind,
            "minute_s": MINUTE_S,
            "stale_s": self.limits.stale_after_s,
            "per_minute": per_minute,
            "at_once": at_once,
        }
        async with self.database.transaction() as transaction:
            await transaction.take_turns(f"ai_call:{self.client}")
            row = await transaction.write(_TAKE, params)
        assert row is not None  # the statement's one row
        if row["id"] is not None:
            return int(row["id"])
        what = "AI requests" if kind == REQUEST else "model calls"
        if row["per_minute_spent"]:
            raise TooManyRequestsError(
                f"Too many {what} from you in the last minute ({per_minute}); please wait.",
                max(1.0, float(row["wait_s"] or 1.0)),
                problem=AI_QUOTA,
            )
        raise TooManyRequestsError(
            f"You already have {at_once} answers from the model in progress; please wait for them.",
            1.0,
            problem=AI_QUOTA,
        )

    async def charge_request(self) -> None:
        """One AI request, whatever will answer it."""
        await self._take(REQUEST, self.limits.requests_per_minute, UNBOUNDED)

    @asynccontextmanager
    async def model_call(self) -> AsyncIterator["TokenMeter"]:
        """A model call, held until the block ends; the block reports the tokens it used."""
        await self._check_token_budget()
        call_id = await self._take(
            MODEL_CALL, self.limits.model_calls_per_minute, self.limits.model_calls_at_once
        )
        meter = TokenMeter()
        try:
            yield meter
        finally:
            # Recorded even when the request was cancelled (the client left mid-answer).
            await asyncio.shield(self._finish(call_id, meter.tokens))

    async def _finish(self, call_id: int, tokens: int) -> None:
        async with self.database.transaction() as transaction:
            await transaction.write(_FINISH, {"id": call_id})
            if tokens and self.limits.daily_token_budget is not None:
                await transaction.write(_SPEND_TOKENS, {"tokens": tokens})

    async def _check_token_budget(self) -> None:
        budget = self.limits.daily_token_budget
        if budget is None:
            return
        row = await self.database.row(_TOKENS_TODAY)
        spent = int(row["tokens"]) if row else 0
        if spent >= budget:
            log.warning("ai.token_budget_spent", budget=budget)
            raise TokenBudgetSpentError(
                "The assistant's model has used today's token budget (AI_DAILY_TOKEN_BUDGET); "
                "answers from the database still work. Please retry tomorrow."
            )


class TokenMeter:
    """The tokens a model call used, as the provider reported them (Semantic Kernel's
    `usage` metadata: on the answer, or on a stream's last chunk)."""

    def __init__(self) -> None:
        self.tokens = 0

    def count(self, messages: Sequence[ChatMessageContent | StreamingChatMessageContent]) -> None:
        for message in messages[:1]:  # a stream's usage is repeated on every choice
            usage = message.metadata.get("usage")
            if isinstance(usage, CompletionUsage):
                self.tokens += (usage.prompt_tokens or 0) + (usage.completion_tokens or 0)


# The quota of the request being served, for the chat service (which the AI features reach
# through Semantic Kernel, not as a parameter). None outside a request (probes): no quota.
current_quota: ContextVar[ClientQuota | None] = ContextVar("ai_quota", default=None)


def client_key(caller: Caller | None, request: Request) -> str:
    if caller is not None and caller.staff_id is not None:
        return f"staff:{caller.staff_id}"
    return f"address:{client_address(request)}"


async def ai_quota(
    request: Request,
    caller: Annotated[Caller | None, Depends(current_caller)],
    db: DatabaseDep,
    settings: SettingsDep,
) -> ClientQuota:
    quota = ClientQuota(db, client_key(caller, request), QuotaLimits.of(settings))
    await quota.charge_request()
    current_quota.set(quota)
    return quota


AIQuota = Depends(ai_quota)
AI_QUOTA_RESPONSE = TooManyRequestsError.response_doc(
    "Past your AI quota (requests or model calls a minute, model calls at once): retry after "
    "`Retry-After` seconds",
    AI_QUOTA,
)
