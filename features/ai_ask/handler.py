"""Answer a free-form question by streaming the model's reply, grounded in the catalogue.

When the question names catalogue things (titles, actors, categories) or a topic found in
titles and descriptions, the matching films go into the prompt as the only films the model may
name; otherwise it is told to name none. A database that is down does not stop an answer: it is
given ungrounded, under the same rule (name no film).
"""

from collections.abc import AsyncIterator
from contextlib import aclosing
from pathlib import Path

import structlog
from semantic_kernel.contents import ChatHistory

from features.ai_ask.dtos import AskDone
from features.catalogue import query
from shared import sse
from shared.ai_calls import ChatStream, LLMUnavailableError
from shared.ai_kernel import AIRuntime
from shared.database import Database, DatabaseUnavailableError, RowDict
from shared.models import MPAA_RATINGS

log = structlog.get_logger(__name__)

_PROMPTS = Path(__file__).parent / "prompts"
SYSTEM_PROMPT = (
    (_PROMPTS / "system.txt")
    .read_text(encoding="utf-8")
    .format(ratings=", ".join(MPAA_RATINGS[:-1]) + " or " + MPAA_RATINGS[-1])
)
CATALOGUE_PROMPT = (_PROMPTS / "catalogue.txt").read_text(encoding="utf-8")
NO_CATALOGUE_PROMPT = (_PROMPTS / "no_catalogue.txt").read_text(encoding="utf-8")
GROUNDING_FILMS = 8


async def catalogue_films(db: Database, question: str) -> list[RowDict]:
    """The films the question is about: those it names, an actor's, a category's, or those
    whose title or description has its topic words (best match first)."""
    linked = await query.link(db, question)
    if linked.films:
        rows = [await query.film_details(db, title) for title in linked.films[:3]]
        return [row for row in rows if row is not None]
    if linked.actors:
        return await query.find_films(db, {"actor": linked.actors[0], "limit": GROUNDING_FILMS})
    if linked.categories:
        filters = {"category": linked.categories[0], "sort": "popular", "limit": GROUNDING_FILMS}
        return await query.find_films(db, filters)
    return await query.about_any(db, query.topic_words(question), GROUNDING_FILMS)


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


def grounded(films: list[RowDict]) -> str:
    """What the model is told of the catalogue, after the question."""
    if not films:
        return NO_CATALOGUE_PROMPT
    return CATALOGUE_PROMPT.format(films="\n".join(_film_line(row) for row in films))


async def grounding(db: Database, question: str) -> list[RowDict]:
    """The catalogue films for the prompt; none (and a warning) when the database is down."""
    try:
        return await catalogue_films(db, question)
    except DatabaseUnavailableError:
        log.warning("ask.grounding_unavailable")
        return []


async def start_answer(
    ai: AIRuntime, question: str, max_tokens: int, films: list[RowDict] | None
) -> ChatStream:
    """Start the model's answer (`films`: the catalogue rows it may name; None: ungrounded);
    raises LLMUnavailableError (503) before the first token."""
    history = ChatHistory(system_message=SYSTEM_PROMPT)
    # The catalogue goes right after the question: a small model heeds the last thing it read.
    history.add_user_message(question if films is None else f"{question}\n\n{grounded(films)}")
    stream = ChatStream(ai, history, max_tokens=max_tokens, temperature=0.3)
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
