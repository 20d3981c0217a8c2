"""Answer a free-form question by streaming the model's reply, grounded in what the store has
that fits it, after the conversation's earlier turns.

The question is read as the store assistant reads it (features/catalogue/understanding.py), in
the light of the conversation. The rows put after it are those that fit what it asks: a film
named, or meant by "it", gives that film; films asked for give those films; a question about
genres gives the store's categories; anything else gives none, and the model is told to name no
film. A database that is down does not stop an answer: it is given ungrounded, under the same
rule.
"""

from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import structlog
from semantic_kernel.contents import ChatHistory

from features.ai_ask.dtos import AskDone
from features.catalogue import query
from features.catalogue.understanding import read_conversation
from features.categories import query as categories
from features.films import query as film_search
from shared.ai.calls import ChatStream, LLMUnavailableError
from shared.ai.conversation import Turn, as_messages, exchanges
from shared.ai.kernel import AIRuntime
from shared.database import Database, DatabaseUnavailableError, RowDict
from shared.database.models import MPAA_RATINGS
from shared.http import sse

log = structlog.get_logger(__name__)

_PROMPTS = Path(__file__).parent / "prompts"
SYSTEM_PROMPT = (
    (_PROMPTS / "system.txt")
    .read_text(encoding="utf-8")
    .format(ratings=", ".join(MPAA_RATINGS[:-1]) + " or " + MPAA_RATINGS[-1])
)
CATALOGUE_PROMPT = (_PROMPTS / "catalogue.txt").read_text(encoding="utf-8")
CATEGORIES_PROMPT = (_PROMPTS / "categories.txt").read_text(encoding="utf-8")
NO_CATALOGUE_PROMPT = (_PROMPTS / "no_catalogue.txt").read_text(encoding="utf-8")
GROUNDING_FILMS = 8


def _film_line(row: RowDict) -> str:
    facts = ", ".join(
        str(fact)
        for fact in (
            row["rating"],
            row["category"],
            row["release_year"],
            f"{row['length']} min" if row["length"] else None,
            f"${row['rental_rate']:.2f}",
        )
        if fact
    )
    return f"- {row['title']} ({facts}): {row['description']}"


async def grounding(db: Database, question: str, history: list[Turn]) -> str:
    """What the model is told of the store, after the question: the rows that fit it."""
    try:
        earlier, _ = exchanges((t.role, t.content) for t in history)
        u = await read_conversation(db, earlier, question)
        if "categories" in (u.intent, u.nearest_store if u.intent == "general" else None):
            rows = await categories.fetch_all(db)
            listed = ", ".join(f"{r['name']} ({r['films']} films)" for r in rows)
            return CATEGORIES_PROMPT.format(categories=listed)
        films: list[RowDict] = []
        if u.film is not None:
            row = await query.film_details(db, u.film)
            films = [row] if row else []
        elif u.films is not None:
            films = await film_search.find(
                db, u.films.filters(), sort=u.films.sort, limit=GROUNDING_FILMS
            )
    except DatabaseUnavailableError:
        log.warning("ask.grounding_unavailable")
        return NO_CATALOGUE_PROMPT
    if not films:
        return NO_CATALOGUE_PROMPT
    return CATALOGUE_PROMPT.format(films="\n".join(_film_line(row) for row in films))


async def start_answer(
    ai: AIRuntime, question: str, history: list[Turn], max_tokens: int, grounded: str | None
) -> ChatStream:
    """Start the model's answer after the earlier turns (`grounded`: what it is told of the
    store; None: nothing); raises LLMUnavailableError (503) before the first token."""
    # The store's rows go right after the question: a small model heeds the last thing it read.
    asked = question if grounded is None else f"{question}\n\n{grounded}"
    chat = ChatHistory(system_message=SYSTEM_PROMPT, messages=as_messages(history, asked))
    stream = ChatStream(ai, chat, max_tokens=max_tokens, temperature=0.3)
    await stream.start()
    return stream


async def plain_text(stream: ChatStream) -> AsyncIterator[bytes]:
    try:
        async for delta in stream:
            yield delta.encode()
    except LLMUnavailableError as exc:
        # Mid-stream: the status line is long gone; the answer simply ends. Logged by ChatStream.
        log.warning("ask.stream_failed", error=exc.detail)


async def server_sent_events(
    stream: ChatStream, keepalive_s: float = sse.KEEPALIVE_S
) -> AsyncIterator[bytes]:
    """SSE framing: one `message` event per delta (JSON, so newlines are safe), then `done`,
    or `error` if the model fails mid-stream; a comment ping while the model is silent."""
    try:
        # Closed first, however this ends: its pending read of the model must stop before the
        # model's stream is closed.
        async with aclosing(sse.with_pings(aiter(stream), keepalive_s)) as deltas:
            async for delta in deltas:
                yield sse.PING if delta is None else sse.message(delta)
    except LLMUnavailableError as exc:
        yield sse.event("error", sse.StreamError(message=exc.detail))
        return
    finally:
        await stream.aclose()
    yield sse.event("done", AskDone(finish_reason=stream.finish_reason, usage=stream.usage))
