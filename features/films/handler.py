import structlog

from features.films import query
from features.films.dtos import FilmAvailability, FilmOut, StoreAvailability
from features.films.query import FilmFilters
from shared.database import Database, Transaction
from shared.http.conditional import check_if_match
from shared.http.errors import NotFoundError
from shared.http.pagination import Page, PageParams

log = structlog.get_logger(__name__)

_FilmPage = Page[FilmOut]


def _not_found(film_id: int) -> NotFoundError:
    return NotFoundError(f"Film {film_id} not found.")


async def list_films(db: Database, page: PageParams, filters: FilmFilters) -> Page[FilmOut]:
    total, items = await query.fetch_page(db, limit=page.limit, offset=page.offset, filters=filters)
    return _FilmPage.of(total, items, page)


async def get_film(db: Database, film_id: int) -> FilmOut:
    row = await query.fetch_one(db, film_id)
    if row is None:
        raise _not_found(film_id)
    return FilmOut.model_validate(row)


async def get_availability(db: Database, film_id: int) -> FilmAvailability:
    rows = await query.fetch_availability(db, film_id)
    if not rows:
        raise _not_found(film_id)
    stores = [
        StoreAvailability(
            store_id=row["store_id"],
            manager_staff_id=row["manager_staff_id"],
            address=f"{row['address']}, {row['city']}",
            copies=row["copies"],
            in_stock=len(row["available_inventory_ids"] or ()),
            available_inventory_ids=row["available_inventory_ids"] or [],
        )
        for row in rows
        if row["store_id"] is not None  # a film without copies: one row, no store
    ]
    return FilmAvailability(
        film_id=rows[0]["film_id"],
        title=rows[0]["title"],
        copies=sum(store.copies for store in stores),
        in_stock=sum(store.in_stock for store in stores),
        stores=stores,
    )


async def set_streaming(
    transaction: Transaction, film_id: int, streaming: bool, if_match: str | None = None
) -> FilmOut:
    if if_match is not None:
        current = await query.fetch_one_locked(transaction, film_id)
        if current is None:
            raise _not_found(film_id)
        check_if_match(if_match, FilmOut.model_validate(current), f"Film {film_id}")
    if await query.set_streaming(transaction, film_id, streaming) is None:
        raise _not_found(film_id)
    row = await query.fetch_one(transaction, film_id)
    assert row is not None  # updated in this transaction
    log.info("film.streaming_set", film_id=film_id, streaming_available=streaming)
    return FilmOut.model_validate(row)
