"""Data access for summaries: everything the catalogue knows of one film, cast included, in one
statement built once."""

from sqlalchemy import bindparam, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlmodel import col

from shared.database import Database, RowDict, fetch_row
from shared.models import Actor, Film, FilmActor, film_category_name

# Pagila stores names in capitals; the prompt reads better, and the model copies better, in
# the case people write them in.
_ACTOR_NAME = func.initcap(col(Actor.first_name) + " " + col(Actor.last_name))
_CAST = (
    select(func.array_agg(aggregate_order_by(_ACTOR_NAME, col(Actor.actor_id))))
    .join(FilmActor, col(FilmActor.actor_id) == col(Actor.actor_id))
    .where(col(FilmActor.film_id) == col(Film.film_id))
    .scalar_subquery()
)

FACTS = select(
    col(Film.title),
    col(Film.description),
    col(Film.release_year),
    col(Film.rating),
    col(Film.rental_rate),
    col(Film.length),
    film_category_name().label("category"),
    _CAST.label("actors"),
).where(col(Film.film_id) == bindparam("film_id"))


async def fetch_facts(db: Database, film_id: int) -> RowDict | None:
    return await fetch_row(db, FACTS, {"film_id": film_id})
