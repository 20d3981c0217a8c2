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
    exists,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.elements import BindParameter
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from shared.database import Database, RowDict, fetch_row, fetch_rows
from shared.models import (
    Address,
    City,
    Film,
    Inventory,
    Rental,
    Store,
    film_category_name,
)
from shared.pagination import PagedSelect

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


# The page's filters, each a condition on `film AS f`. Pagila keeps `film.fulltext` (title +
# description, configuration 'english') current with a trigger and indexes it (GiST); the search
# text is parsed with the same configuration by websearch_to_tsquery, which accepts anything a
# person types ("dinosaur -epic", "\"mad scientist\""). A film's category is resolved through
# film_category's key (film_id, category_id) rather than a correlated EXISTS per film.
_CONDITIONS = {
    "q": "f.fulltext @@ websearch_to_tsquery('english', :q)",
    "category": "EXISTS (SELECT FROM film_category AS fc JOIN category AS c USING (category_id) "
    "WHERE fc.film_id = f.film_id AND lower(c.name) = lower(:category))",
    "rating": "f.rating = CAST(:rating AS mpaa_rating)",
    "streaming": "f.streaming_available = :streaming",
}
_PARAM_TYPES = {"q": Text, "category": Text, "rating": Text, "streaming": Boolean}


def _paged(present: frozenset[str]) -> PagedSelect:
    """Chosen by its plan against the query builder's version (EXPLAIN ANALYZE, README). Only
    the page's rows are read whole, each with its category (a correlated sub-select per page
    row, never per skipped row). With a search or a category, the matching ids are found once
    (a materialised CTE) and both the total and the page taken from them; otherwise the total
    is a plain count and the page's ids an index-ordered scan that stops at the page."""
    where = " AND ".join(_CONDITIONS[name] for name in sorted(present))
    rank = "ts_rank(f.fulltext, websearch_to_tsquery('english', :q)) AS rank"
    order = "rank DESC, film_id" if "q" in present else "film_id"
    if present & {"q", "category"}:  # selective, and costly to test twice: found once
        ids = (
            f"SELECT f.film_id{', ' + rank if 'q' in present else ''} FROM film AS f WHERE {where}"  # noqa: S608
        )
        matching = f"WITH m AS MATERIALIZED ({ids})\n"
        count, page = "SELECT count(*) AS total FROM m", f"SELECT * FROM m ORDER BY {order}"  # noqa: S608
    else:  # none, or a cheap test on most rows: counted, and read in key order up to the page
        where = where or "true"
        matching, count = "", f"SELECT count(*) AS total FROM film AS f WHERE {where}"  # noqa: S608
        page = f"SELECT f.film_id FROM film AS f WHERE {where} ORDER BY f.film_id"  # noqa: S608
    sql = f"""{matching}
SELECT t.total, f.film_id, f.title, f.description, f.release_year, f.rating::text AS rating,
       f.rental_rate, f.length, f.streaming_available,
       (SELECT c.name FROM film_category AS fc JOIN category AS c USING (category_id)
        WHERE fc.film_id = f.film_id ORDER BY c.name LIMIT 1) AS category
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

# Only the column the API lets staff change; the row comes back as GET /films/{id} shows it.
SET_STREAMING = (
    update(Film)
    .where(col(Film.film_id) == bindparam("target_film_id"))
    .values(streaming_available=bindparam("streaming"))
    .returning(col(Film.film_id))
)

_OPEN_RENTAL = exists().where(
    col(Rental.inventory_id) == col(Inventory.inventory_id), col(Rental.return_date).is_(None)
)
# Per store: copies, and the ones on the shelf (no open rental; exact, as migration 0003 allows
# one open rental per copy). A film without copies gives one row with a NULL store.
_PER_STORE = (
    col(Film.film_id),
    col(Film.title),
    col(Inventory.store_id),
    col(Store.manager_staff_id),
    col(Address.address),
    col(City.city),
)
AVAILABILITY = (
    select(
        *_PER_STORE,
        func.count(col(Inventory.inventory_id)).label("copies"),
        func.array_agg(aggregate_order_by(col(Inventory.inventory_id), col(Inventory.inventory_id)))
        .filter(~_OPEN_RENTAL)
        .label("available_inventory_ids"),
    )
    .outerjoin(Inventory, col(Inventory.film_id) == col(Film.film_id))
    .outerjoin(Store, col(Store.store_id) == col(Inventory.store_id))
    .outerjoin(Address, col(Address.address_id) == col(Store.address_id))
    .outerjoin(City, col(City.city_id) == col(Address.city_id))
    .where(col(Film.film_id) == bindparam("film_id"))
    .group_by(*_PER_STORE)
    .order_by(col(Inventory.store_id))
)


async def fetch_page(
    db: Database, *, limit: int, offset: int, filters: FilmFilters
) -> tuple[int, list[dict[str, Any]]]:
    params = filters.params()
    statement = paged_select(frozenset(params))
    return await statement.fetch(db, {**params, "limit": limit, "offset": offset})


async def fetch_one(source: Database | AsyncSession, film_id: int) -> RowDict | None:
    """A film: from the read pool, or inside a write's session (seeing its change)."""
    return await fetch_row(source, _ONE, {"film_id": film_id})


async def fetch_availability(db: Database, film_id: int) -> list[RowDict]:
    """No rows: no such film."""
    return await fetch_rows(db, AVAILABILITY, {"film_id": film_id})


async def set_streaming(session: AsyncSession, film_id: int, streaming: bool) -> RowDict | None:
    params = {"target_film_id": film_id, "streaming": streaming}
    return await fetch_row(session, SET_STREAMING, params)
