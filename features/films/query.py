"""Data access for films: one statement per call, built once, page and total in one round trip."""

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    Select,
    Text,
    bindparam,
    select,
    text,
    update,
)
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database import Database, PagedSelect, RowDict, fetch_row, fetch_rows
from shared.models import (
    COPY_IS_OUT_SQL,
    FILM_CATEGORY_SQL,
    Film,
    film_category_name,
)

_FILM_COLUMNS = (
    col(Film.film_id),
    col(Film.title),
    col(Film.description),
    col(Film.release_year),
    col(Film.rating),
    col(Film.rental_rate),
    col(Film.length),
    col(Film.streaming_available),
)


@dataclass(frozen=True)
class FilmFilters:
    """What a catalogue page is narrowed by; None means "any"."""

    q: str | None = None
    category: str | None = None
    rating: str | None = None
    streaming: bool | None = None

    def params(self) -> dict[str, Any]:
        # Spelled out: dataclasses.asdict deep-copies, on the busiest route.
        params: dict[str, Any] = {}
        if self.q is not None:
            params["q"] = self.q
        if self.category is not None:
            params["category"] = self.category
        if self.rating is not None:
            params["rating"] = self.rating
        if self.streaming is not None:
            params["streaming"] = self.streaming
        return params


def _film_with_category() -> Select[*tuple[Any, ...]]:
    return select(*_FILM_COLUMNS, film_category_name().label("category"))


# The page's filters but the category, each a condition on `film AS f`. Pagila keeps
# `film.fulltext` (title + description, configuration 'english') current with a trigger and
# indexes it (GiST); the search text is parsed with the same configuration by
# websearch_to_tsquery, which accepts anything a person types ("dinosaur -epic", "\"mad
# scientist\""). A category is not a test per film but where the ids come from: its films in
# film_category (its key is (film_id, category_id)), found by the category's name.
_CONDITIONS = {
    "q": "f.fulltext @@ websearch_to_tsquery('english', :q)",
    "rating": "f.rating = CAST(:rating AS mpaa_rating)",
    "streaming": "f.streaming_available = :streaming",
}
_CATEGORY_NAME = "lower(c.name) = lower(:category)"
_PARAM_TYPES = {"q": Text, "category": Text, "rating": Text, "streaming": Boolean}


def _paged(present: frozenset[str]) -> PagedSelect:
    """Chosen by its plan against the query builder's version (`just explain`). Only the
    page's rows are read whole, each with its category (a correlated sub-select per page
    row, never per skipped row). With a search or a category, the matching ids are found once
    (a materialised CTE) and both the total and the page taken from them; otherwise the total
    is a plain count and the page's ids an index-ordered scan that stops at the page."""
    conditions = [_CONDITIONS[name] for name in sorted(present - {"category"})]
    where = " AND ".join(conditions)
    rank = "ts_rank(f.fulltext, websearch_to_tsquery('english', :q)) AS rank"
    order = "rank DESC, film_id" if "q" in present else "film_id"
    if present & {"q", "category"}:  # selective, and costly to test twice: found once
        source = "film AS f"
        if "category" in present:
            where = " AND ".join([_CATEGORY_NAME, *conditions])
            source = "film_category AS fc JOIN category AS c USING (category_id)"
            if conditions:
                source += " JOIN film AS f ON f.film_id = fc.film_id"
        film_id = "fc.film_id" if "category" in present else "f.film_id"
        ids = f"SELECT {film_id}{', ' + rank if 'q' in present else ''} FROM {source} WHERE {where}"  # noqa: S608
        matching = f"WITH m AS MATERIALIZED ({ids})\n"
        count, page = "SELECT count(*) AS total FROM m", f"SELECT * FROM m ORDER BY {order}"  # noqa: S608
    else:  # none, or a cheap test on most rows: counted, and read in key order up to the page
        where = where or "true"
        matching, count = "", f"SELECT count(*) AS total FROM film AS f WHERE {where}"  # noqa: S608
        page = f"SELECT f.film_id FROM film AS f WHERE {where} ORDER BY f.film_id"  # noqa: S608
    sql = f"""{matching}
SELECT t.total, f.film_id, f.title, f.description, f.release_year, f.rating::text AS rating,
       f.rental_rate, f.length, f.streaming_available, {FILM_CATEGORY_SQL} AS category
FROM ({count}) AS t
LEFT JOIN LATERAL ({page} LIMIT :limit OFFSET :offset) AS p ON true
LEFT JOIN film AS f ON f.film_id = p.film_id
ORDER BY {order.replace("rank", "p.rank").replace("film_id", "p.film_id")}"""  # noqa: S608 - fixed fragments; values are bound
    binds: list[BindParameter[Any]] = [
        bindparam(name, type_=_PARAM_TYPES[name]) for name in sorted(present)
    ]
    statement = text(sql).bindparams(
        *binds, bindparam("limit", type_=Integer), bindparam("offset", type_=Integer)
    )
    return PagedSelect(statement, key="film_id")


@cache
def paged_select(present: frozenset[str]) -> PagedSelect:
    """One statement per combination of filters (16 at most), built on first use: building
    costs more CPU than running."""
    return _paged(present)


_ONE = _film_with_category().where(col(Film.film_id) == bindparam("film_id"))
# The same, its film row locked until the write's transaction ends: a change checked against
# what the client last read (If-Match) cannot be overtaken by another meanwhile.
_ONE_LOCKED = _ONE.with_for_update(of=Film)

# Only the column the API lets staff change; the row comes back as GET /films/{id} shows it.
SET_STREAMING = (
    update(Film)
    .where(col(Film.film_id) == bindparam("target_film_id"))
    .values(streaming_available=bindparam("streaming"))
    .returning(col(Film.film_id))
)

# Per store: copies, and the ones on the shelf (no open rental; exact, as migration 0003 allows
# one open rental per copy). A film without copies gives one row with a NULL store. Chosen by
# its plan (`just explain`): the film's copies are counted per store first, and each store's
# address joined once, not once per copy.
AVAILABILITY = text(
    f"""
    SELECT f.film_id, f.title, x.store_id, s.manager_staff_id, a.address, ci.city,
           coalesce(x.copies, 0) AS copies, x.available AS available_inventory_ids
      FROM film AS f
      LEFT JOIN LATERAL (
           SELECT i.store_id, count(*) AS copies,
                  array_agg(i.inventory_id ORDER BY i.inventory_id)
                      FILTER (WHERE NOT {COPY_IS_OUT_SQL}) AS available
             FROM inventory AS i WHERE i.film_id = f.film_id GROUP BY i.store_id
      ) AS x ON true
      LEFT JOIN store AS s ON s.store_id = x.store_id
      LEFT JOIN address AS a ON a.address_id = s.address_id
      LEFT JOIN city AS ci ON ci.city_id = a.city_id
     WHERE f.film_id = :film_id
     ORDER BY x.store_id
    """  # noqa: S608 - a constant fragment
).bindparams(bindparam("film_id", type_=Integer))


async def fetch_page(
    db: Database, *, limit: int, offset: int, filters: FilmFilters
) -> tuple[int, list[dict[str, Any]]]:
    params = filters.params()
    statement = paged_select(frozenset(params))
    return await statement.fetch(db, {**params, "limit": limit, "offset": offset})


async def fetch_one(source: Database | AsyncSession, film_id: int) -> RowDict | None:
    """A film: from the read pool, or inside a write's session (seeing its change)."""
    return await fetch_row(source, _ONE, {"film_id": film_id})


async def fetch_one_locked(session: AsyncSession, film_id: int) -> RowDict | None:
    return await fetch_row(session, _ONE_LOCKED, {"film_id": film_id})


async def fetch_availability(db: Database, film_id: int) -> list[RowDict]:
    """No rows: no such film."""
    return await fetch_rows(db, AVAILABILITY, {"film_id": film_id})


async def set_streaming(session: AsyncSession, film_id: int, streaming: bool) -> RowDict | None:
    params = {"target_film_id": film_id, "streaming": streaming}
    return await fetch_row(session, SET_STREAMING, params)
