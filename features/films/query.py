"""Data access for films: the one film search (the films page's and the assistant's), a film,
its availability. One statement per call, built once; a page and its total in one round trip."""

from collections.abc import Sequence
from dataclasses import dataclass, fields
from decimal import Decimal
from functools import lru_cache
from typing import Any, Literal, cast

from sqlalchemy import (
    Boolean,
    ColumnElement,
    Integer,
    Numeric,
    Select,
    Text,
    any_,
    bindparam,
    exists,
    func,
    literal_column,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, aliased
from sqlalchemy.sql.expression import ColumnClause
from sqlmodel import col

from shared.database import Database, PagedSelect, RowDict, Rows, Statement, Transaction
from shared.database.models import (
    Actor,
    Category,
    Film,
    FilmActor,
    FilmCategory,
    Inventory,
    Language,
    Rental,
    film_category_name,
)

# A film as GET /films shows it; other reads of a film add their columns to these.
FILM_COLUMNS = (
    col(Film.film_id),
    col(Film.title),
    col(Film.description),
    col(Film.release_year),
    col(Film.rating),
    col(Film.rental_rate),
    col(Film.length),
    col(Film.streaming_available),
)


# The orders the assistant finds films in, each as an answer says it (the films page: best
# match, then id). Each is stated by its column in _SORTS.
Sort = Literal[
    "price",
    "price_desc",
    "length",
    "length_desc",
    "popular",
    "replacement",
    "replacement_desc",
    "days",
    "days_desc",
    "cast_desc",
]
SORT_WORDS: dict[Sort, str] = {
    "price": "cheapest first",
    "price_desc": "most expensive first",
    "length": "shortest first",
    "length_desc": "longest first",
    "popular": "most rented first",
    "replacement": "cheapest to replace first",
    "replacement_desc": "dearest to replace first",
    "days": "shortest rental period first",
    "days_desc": "longest rental period first",
    "cast_desc": "biggest cast first",
}


@dataclass(slots=True, kw_only=True)  # not frozen: a frozen init costs µs per field, per page
class FilmFilters:
    """The one film search, which the films page and the store assistant share: what the
    catalogue is narrowed by. None means "any". Every name and title is matched in any case
    (the statement compares them in lower case; `params` puts the lists and the rating in
    the case their columns hold). `rating` must be one of MPAA_RATINGS: it binds as the enum."""

    q: str | None = None  # as typed in a search box: a web search of titles and descriptions
    topic: str | None = None  # the same, less the words that no film holds (the assistant's)
    title: str | None = None  # words that must all be words of the title
    category: str | None = None
    rating: str | None = None
    actor: str | None = None  # first and last name
    actors: Sequence[str] | None = None  # all of them in the film
    titles: Sequence[str] | None = None  # only these films
    min_price: Decimal | None = None  # rental rate, dollars
    max_price: Decimal | None = None
    min_days: int | None = None  # the fewest rental days
    feature: str | None = None  # a special feature
    language: str | None = None
    min_length: int | None = None  # minutes
    max_length: int | None = None
    min_year: int | None = None  # of release
    max_year: int | None = None
    streaming: bool | None = None

    def params(self) -> dict[str, Any]:
        """The given filters' bind parameters, in the case their columns are compared in."""
        params = {name: v for name in _FILTER_NAMES if (v := getattr(self, name)) is not None}
        if self.rating is not None:
            params["rating"] = self.rating.upper()  # the enum's
        if self.actors is not None:
            params["actors"] = [name.lower() for name in self.actors]
        if self.titles is not None:
            params["titles"] = [title.upper() for title in self.titles]  # Pagila's titles
        return params


_FILTER_NAMES = tuple(field.name for field in fields(FilmFilters))
# Statements built for combinations of filters (and orders) kept at once: callers use few of
# the 2^18 combinations, but nothing else bounds them.
_STATEMENTS = 256
_ENGLISH: ColumnClause[str] = literal_column("'english'")
# A search: Pagila keeps `film.fulltext` (title + description, configuration 'english') current
# with a trigger and indexes it (GiST); the text is parsed with the same configuration by
# websearch_to_tsquery, which accepts anything a person types ("dinosaur -epic", "\"mad
# scientist\"").
_QUERY = func.websearch_to_tsquery(_ENGLISH, bindparam("q", type_=Text))
# A topic is searched by its words that some film holds ("a crocodile in ancient china,
# wondering"): a word that no title or description holds would only make it find nothing. None
# held: the query is NULL, which matches nothing.
_WORD = func.unnest(func.string_to_array(bindparam("topic", type_=Text), " ")).column_valued("w")
_ANY_FILM = aliased(Film, name="any_film")
_TOPIC = (
    select(func.websearch_to_tsquery(_ENGLISH, func.string_agg(_WORD, " ")).label("query"))
    .where(
        or_(
            func.lower(_WORD) == "or",  # web search's "shark or dog"
            exists().where(
                col(_ANY_FILM.fulltext).bool_op("@@")(func.plainto_tsquery(_ENGLISH, _WORD))
            ),
        )
    )
    .cte("topic")
)
_SEARCHES = {"q": _QUERY, "topic": _TOPIC.c.query}


# The film's actors, each by "first last" in lower case.
_IN_CAST = (
    col(FilmActor.film_id) == col(Film.film_id),
    col(FilmActor.actor_id) == col(Actor.actor_id),
)
_ACTOR_NAME = func.lower(col(Actor.first_name) + " " + col(Actor.last_name))
_FEATURE = func.unnest(col(Film.special_features)).column_valued("feature")
_ACTORS = bindparam("actors", type_=ARRAY(Text))
# Each filter but the category, as a condition on the film.
_CONDITIONS: dict[str, ColumnElement[bool]] = {
    **{name: col(Film.fulltext).bool_op("@@")(query) for name, query in _SEARCHES.items()},
    "title": func.string_to_array(func.lower(col(Film.title)), " ").bool_op("@>")(
        func.string_to_array(func.lower(bindparam("title", type_=Text)), " ")
    ),
    "rating": col(Film.rating) == bindparam("rating"),
    "actor": exists().where(*_IN_CAST, func.lower(bindparam("actor", type_=Text)) == _ACTOR_NAME),
    "actors": (
        select(func.count(col(Actor.actor_id).distinct()))
        .where(*_IN_CAST, any_(_ACTORS) == _ACTOR_NAME)
        .scalar_subquery()
        == func.cardinality(_ACTORS)
    ),
    "titles": col(Film.title) == any_(bindparam("titles", type_=ARRAY(Text))),
    "min_price": col(Film.rental_rate) >= bindparam("min_price", type_=Numeric()),
    "max_price": col(Film.rental_rate) <= bindparam("max_price", type_=Numeric()),
    "min_days": col(Film.rental_duration) >= bindparam("min_days", type_=Integer),
    "feature": exists(
        select(_FEATURE).where(func.lower(_FEATURE) == func.lower(bindparam("feature", type_=Text)))
    ),
    "language": exists().where(
        col(Language.language_id) == col(Film.language_id),
        func.lower(func.trim(col(Language.name))) == func.lower(bindparam("language", type_=Text)),
    ),
    "min_length": col(Film.length) >= bindparam("min_length", type_=Integer),
    "max_length": col(Film.length) <= bindparam("max_length", type_=Integer),
    "min_year": col(Film.release_year) >= bindparam("min_year", type_=Integer),
    "max_year": col(Film.release_year) <= bindparam("max_year", type_=Integer),
    "streaming": col(Film.streaming_available) == bindparam("streaming", type_=Boolean),
}
# A category is not a test per film but where the ids come from: its films in film_category
# (keyed by (film_id, category_id)), found by the category's name, in any case.
_IN_CATEGORY = func.lower(col(Category.name)) == func.lower(bindparam("category", type_=Text))


def _matching(present: frozenset[str]) -> Select[Any]:
    """The ids of the films that every present filter admits, each with its rank when the
    text is searched."""
    conditions = [_CONDITIONS[name] for name in sorted(present - {"category"})]
    if "category" in present:
        ids = select(col(FilmCategory.film_id)).join(
            Category, col(Category.category_id) == col(FilmCategory.category_id)
        )
        if conditions:
            ids = ids.join(Film, col(Film.film_id) == col(FilmCategory.film_id))
        ids = ids.where(_IN_CATEGORY, *conditions)
    else:
        ids = select(col(Film.film_id)).where(*conditions)
    searched = [query for name, query in _SEARCHES.items() if name in present]
    if searched:
        ids = ids.add_columns(func.ts_rank(col(Film.fulltext), searched[0]).label("rank"))
    return ids


def _paged(present: frozenset[str]) -> PagedSelect:
    """Chosen by its plan against the query builder's version (`just explain`). Only the
    page's rows are read whole, each with its category (a correlated sub-select per page
    row, never per skipped row). With a search or a category, the matching ids are found once
    (a materialised CTE) and both the total and the page taken from them; otherwise the total
    is a plain count and the page's ids an index-ordered scan that stops at the page."""
    searched = bool(present & _SEARCHES.keys())
    if searched or "category" in present:  # selective, and costly to test twice: found once
        matching = _matching(present).cte("m").prefix_with("MATERIALIZED")
        count = select(func.count().label("total")).select_from(matching)
        page = select(matching)
    else:  # none, or a cheap test on most rows: counted, and read in key order up to the page
        page = _matching(present)
        count = page.with_only_columns(func.count().label("total"), maintain_column_froms=True)
    inner = page.selected_columns
    order = [inner.rank.desc(), inner.film_id] if searched else [inner.film_id]
    paged = page.order_by(*order).limit(bindparam("limit")).offset(bindparam("offset"))
    total, p = count.subquery("t"), paged.lateral("p")
    outer_order = [p.c.rank.desc(), p.c.film_id] if searched else [p.c.film_id]
    statement = (
        select(total.c.total, *FILM_COLUMNS, film_category_name().label("category"))
        .select_from(total.outerjoin(p, true()).outerjoin(Film, col(Film.film_id) == p.c.film_id))
        .order_by(*outer_order)
    )
    return PagedSelect(Statement(statement), key="film_id")


@lru_cache(maxsize=_STATEMENTS)
def paged_select(present: frozenset[str]) -> PagedSelect:
    """One statement per combination of filters given (the page's four make 16), built on
    first use: building costs more CPU than running."""
    return _paged(present)


# How often a film was rented: for the few films returned, counted for each (after the limit);
# to sort by it, every film's counted in one pass (a hash join: ~9 ms, against ~20 ms for a
# count per film).
_TIMES_RENTED = (
    select(func.count())
    .select_from(Rental)
    .join(Inventory, col(Inventory.inventory_id) == col(Rental.inventory_id))
    .where(col(Inventory.film_id) == col(Film.film_id))
    .scalar_subquery()
    .label("times_rented")
)
_RENTED = (
    select(col(Inventory.film_id), func.count().label("times"))
    .join(Rental, col(Rental.inventory_id) == col(Inventory.inventory_id))
    .group_by(col(Inventory.film_id))
    .subquery("rented")
)
_MOST_RENTED = func.coalesce(_RENTED.c.times, 0).label("times_rented")
_CAST_SIZE = (
    select(func.count()).where(col(FilmActor.film_id) == col(Film.film_id)).scalar_subquery()
).label("cast_size")
# What each order sorts on, and whether the highest come first. `find` hands the value back as
# `sorted_on`, so that an answer tells ties by the very value sorted on.
_SORTS: dict[Sort, tuple[ColumnElement[Any] | Mapped[Any], bool]] = {
    "price": (col(Film.rental_rate), False),
    "price_desc": (col(Film.rental_rate), True),
    "length": (col(Film.length), False),
    "length_desc": (col(Film.length), True),
    "popular": (_MOST_RENTED, True),
    "replacement": (col(Film.replacement_cost), False),
    "replacement_desc": (col(Film.replacement_cost), True),
    "days": (col(Film.rental_duration), False),
    "days_desc": (col(Film.rental_duration), True),
    "cast_desc": (_CAST_SIZE, True),
}


def _sort_order(sort: Sort) -> ColumnElement[Any]:
    key, highest_first = _SORTS[sort]
    return key.desc().nulls_last() if highest_first else key.asc()


# The name of the column each order sorts on, among those `find` returns (a model's column is
# typed as its ORM attribute; both kinds have the column's key).
_SORTED_ON: dict[Sort, str] = {
    sort: str(cast(ColumnElement[Any], key).key) for sort, (key, _) in _SORTS.items()
}


@lru_cache(maxsize=_STATEMENTS)
def _found(present: frozenset[str], sort: Sort | None) -> Statement:
    """Films the assistant names: the first `limit` in the order asked, with the total number
    of matches and what an answer says of each (what no order needs, such as a film's
    category, for the few returned: PostgreSQL evaluates it after the limit). lower(title),
    not title: an order no index gives, so that all matches are sorted (the total needs them
    all anyway) instead of an index scan by title that stops at the limit but, to sort by
    popularity, loops over every film's rentals."""
    m = _matching(present).subquery("m")
    found = m.join(Film, col(Film.film_id) == m.c.film_id)
    times_rented = _TIMES_RENTED
    if sort == "popular":
        found, times_rented = (
            found.outerjoin(_RENTED, _RENTED.c.film_id == m.c.film_id),
            _MOST_RENTED,
        )
    # Ties (and no order) by relevance, then title.
    order = [_sort_order(sort)] if sort else []
    if present & _SEARCHES.keys():
        order.append(m.c.rank.desc())
    return Statement(
        select(
            *FILM_COLUMNS,
            col(Film.replacement_cost),
            col(Film.rental_duration),
            _CAST_SIZE,
            times_rented,
            func.count().over().label("total"),
            film_category_name().label("category"),
        )
        .select_from(found)
        .order_by(*order, func.lower(col(Film.title)))
        .limit(bindparam("limit", type_=Integer))
    )


_ONE_FILM = select(*FILM_COLUMNS, film_category_name().label("category")).where(
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


async def find(
    db: Database, filters: FilmFilters, *, sort: Sort | None, limit: int
) -> list[RowDict]:
    """The first `limit` films that `filters` admit, in the order `sort` names (none: best
    match, then title), each with the total number of matches and, when sorted, the value it
    was sorted on (`sorted_on`)."""
    params = filters.params()
    rows = await db.rows(_found(frozenset(params), sort), {**params, "limit": limit})
    if sort is not None:
        sorted_on = _SORTED_ON[sort]
        for row in rows:
            row["sorted_on"] = row[sorted_on]
    return rows


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
