"""Data access for films: one statement per call, built once, page and total in one round trip."""

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    Boolean,
    Integer,
    Text,
    bindparam,
    func,
    literal_column,
    select,
    text,
    true,
    update,
)
from sqlmodel import col

from shared.database import Database, PagedSelect, RowDict, Rows, Statement, Transaction
from shared.database.models import Category, Film, FilmCategory, film_category_name

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


# A search: Pagila keeps `film.fulltext` (title + description, configuration 'english') current
# with a trigger and indexes it (GiST); the text is parsed with the same configuration by
# websearch_to_tsquery, which accepts anything a person types ("dinosaur -epic", "\"mad
# scientist\"").
_QUERY = func.websearch_to_tsquery(literal_column("'english'"), bindparam("q", type_=Text))
_RANK = func.ts_rank(col(Film.fulltext), _QUERY).label("rank")
# The page's filters but the category, each a condition on the film.
_CONDITIONS = {
    "q": col(Film.fulltext).bool_op("@@")(_QUERY),
    "rating": col(Film.rating) == bindparam("rating"),
    "streaming": col(Film.streaming_available) == bindparam("streaming", type_=Boolean),
}
# A category is not a test per film but where the ids come from: its films in film_category
# (keyed by (film_id, category_id)), found by the category's name, in any case.
_IN_CATEGORY = func.lower(col(Category.name)) == func.lower(bindparam("category", type_=Text))


def _paged(present: frozenset[str]) -> PagedSelect:
    """Chosen by its plan against the query builder's version (`just explain`). Only the
    page's rows are read whole, each with its category (a correlated sub-select per page
    row, never per skipped row). With a search or a category, the matching ids are found once
    (a materialised CTE) and both the total and the page taken from them; otherwise the total
    is a plain count and the page's ids an index-ordered scan that stops at the page."""
    conditions = [_CONDITIONS[name] for name in sorted(present - {"category"})]
    searched = "q" in present
    if present & {"q", "category"}:  # selective, and costly to test twice: found once
        if "category" in present:
            ids = select(col(FilmCategory.film_id)).join(
                Category, col(Category.category_id) == col(FilmCategory.category_id)
            )
            if conditions:
                ids = ids.join(Film, col(Film.film_id) == col(FilmCategory.film_id))
            ids = ids.where(_IN_CATEGORY, *conditions)
        else:
            ids = select(col(Film.film_id)).where(*conditions)
        if searched:
            ids = ids.add_columns(_RANK)
        matching = ids.cte("m").prefix_with("MATERIALIZED")
        count = select(func.count().label("total")).select_from(matching)
        page = select(matching)
    else:  # none, or a cheap test on most rows: counted, and read in key order up to the page
        count = select(func.count().label("total")).select_from(Film).where(*conditions)
        page = select(col(Film.film_id)).where(*conditions)
    inner = page.selected_columns
    order = [inner.rank.desc(), inner.film_id] if searched else [inner.film_id]
    paged = page.order_by(*order).limit(bindparam("limit")).offset(bindparam("offset"))
    total, p = count.subquery("t"), paged.lateral("p")
    outer_order = [p.c.rank.desc(), p.c.film_id] if searched else [p.c.film_id]
    statement = (
        select(total.c.total, *_FILM_COLUMNS, film_category_name().label("category"))
        .select_from(total.outerjoin(p, true()).outerjoin(Film, col(Film.film_id) == p.c.film_id))
        .order_by(*outer_order)
    )
    return PagedSelect(Statement(statement), key="film_id")


@cache
def paged_select(present: frozenset[str]) -> PagedSelect:
    """One statement per combination of filters (16 at most), built on first use: building
    costs more CPU than running."""
    return _paged(present)


_ONE_FILM = select(*_FILM_COLUMNS, film_category_name().label("category")).where(
    col(Film.film_id) == bindparam("film_id")
)
_ONE = Statement(_ONE_FILM)
# The same, its film row locked until the transaction ends: a change checked against what the
# client last read (If-Match) cannot be overtaken by another meanwhile.
_ONE_LOCKED = Statement(_ONE_FILM.with_for_update(of=Film))

# Only the column the API lets staff change; the row comes back as GET /films/{id} shows it.
SET_STREAMING = Statement(
    update(Film)
    .where(col(Film.film_id) == bindparam("target_film_id"))
    .values(streaming_available=bindparam("streaming"))
    .returning(col(Film.film_id))
)

# Per store: copies, and the ones on the shelf: a copy is out while it has an open rental
# (OPEN_RENTAL_INDEX allows at most one, so the count is exact). A film without copies gives
# one row with a NULL store. Chosen by its plan (`just explain`): the film's copies are counted
# per store first, and each store's address joined once, not once per copy.
AVAILABILITY = Statement(
    text(
        """
    SELECT f.film_id, f.title, x.store_id, s.manager_staff_id, a.address, ci.city,
           coalesce(x.copies, 0) AS copies, x.available AS available_inventory_ids
      FROM film AS f
      LEFT JOIN LATERAL (
           SELECT i.store_id, count(*) AS copies,
                  array_agg(i.inventory_id ORDER BY i.inventory_id)
                      FILTER (WHERE NOT EXISTS (
                          SELECT FROM rental AS r
                           WHERE r.inventory_id = i.inventory_id AND r.return_date IS NULL
                      )) AS available
             FROM inventory AS i WHERE i.film_id = f.film_id GROUP BY i.store_id
      ) AS x ON true
      LEFT JOIN store AS s ON s.store_id = x.store_id
      LEFT JOIN address AS a ON a.address_id = s.address_id
      LEFT JOIN city AS ci ON ci.city_id = a.city_id
     WHERE f.film_id = :film_id
     ORDER BY x.store_id
    """
    ).bindparams(bindparam("film_id", type_=Integer))
)


async def fetch_page(
    db: Database, *, limit: int, offset: int, filters: FilmFilters
) -> tuple[int, list[dict[str, Any]]]:
    params = filters.params()
    statement = paged_select(frozenset(params))
    return await statement.fetch(db, {**params, "limit": limit, "offset": offset})


async def fetch_one(rows: Rows, film_id: int) -> RowDict | None:
    """A film: a read, or inside a transaction (seeing its change)."""
    return await rows.row(_ONE, {"film_id": film_id})


async def fetch_one_locked(transaction: Transaction, film_id: int) -> RowDict | None:
    return await transaction.row(_ONE_LOCKED, {"film_id": film_id})


async def fetch_availability(db: Database, film_id: int) -> list[RowDict]:
    """No rows: no such film."""
    return await db.rows(AVAILABILITY, {"film_id": film_id})


async def set_streaming(transaction: Transaction, film_id: int, streaming: bool) -> RowDict | None:
    params = {"target_film_id": film_id, "streaming": streaming}
    return await transaction.write(SET_STREAMING, params)
