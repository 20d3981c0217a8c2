"""Data access for summaries: everything the catalogue knows of one film, cast included, in one
statement built once; and the summaries kept (table film_summary)."""

from sqlalchemy import bindparam, select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col

from shared.database import Database, RowDict, Statement
from shared.database.models import Film, FilmSummaryRow, film_cast, film_category_name

FACTS = Statement(
    select(
        col(Film.title),
        col(Film.description),
        col(Film.release_year),
        col(Film.rating),
        col(Film.rental_rate),
        col(Film.length),
        film_category_name().label("category"),
        film_cast().label("actors"),
    ).where(col(Film.film_id) == bindparam("film_id"))
)


async def fetch_facts(db: Database, film_id: int) -> RowDict | None:
    return await db.row(FACTS, {"film_id": film_id})


# The summary kept for a key (the handler's `cache_key`): a read on the read pool.
CACHED_SUMMARY = Statement(
    select(col(FilmSummaryRow.summary)).where(col(FilmSummaryRow.key) == bindparam("key"))
)
# Kept once: a concurrent miss that stored the same key first wins, and this one is a no-op.
STORE_SUMMARY = Statement(
    insert(FilmSummaryRow)
    .values(
        key=bindparam("key"),
        film_id=bindparam("film_id"),
        model=bindparam("model"),
        summary=bindparam("summary"),
    )
    .on_conflict_do_nothing(index_elements=[col(FilmSummaryRow.key)])
)


async def fetch_cached_summary(db: Database, key: str) -> str | None:
    row = await db.row(CACHED_SUMMARY, {"key": key})
    return row["summary"] if row is not None else None


async def store_summary(db: Database, key: str, film_id: int, model: str, summary: str) -> None:
    """Keeps a summary, committed when this returns."""
    params = {"key": key, "film_id": film_id, "model": model, "summary": summary}
    await db.write(STORE_SUMMARY, params)
