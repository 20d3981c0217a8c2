"""The store agent's tools, as Semantic Kernel functions over the Pagila database.

The same tools serve a tool-calling model (`router: llm`) and the offline rules router. Each call
is one short read (see query.py), returns a typed result (results.py: attributes for the offline
answers, JSON for a model), and is recorded (name, arguments, ok)
with the films it returned, for the response. A tool that fails tells the model so in its
result instead of raising: the run goes on and the call is listed `ok: false`.
"""

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

import structlog
from semantic_kernel.agents.orchestration.handoffs import HANDOFF_PLUGIN_NAME
from semantic_kernel.functions import kernel_function

from features.ai_handoff.dtos import FilmHit, ToolCall
from features.ai_handoff.results import (
    ActorCount,
    Availability,
    Categories,
    CategoryCount,
    CustomerCount,
    CustomerNotFound,
    CustomerRentals,
    DayRange,
    FilmFacts,
    FilmNotFound,
    FilmRenters,
    FilmRow,
    FoundFilms,
    MoneyRange,
    RateCount,
    Rental,
    RentalTerms,
    Renter,
    StaffList,
    StaffMember,
    StoreCopies,
    StoreFacts,
    Stores,
    ToolError,
    ToolResult,
    TopActors,
    TopCustomers,
    Totals,
)
from features.catalogue import query
from features.categories import query as categories
from features.customers import query as customers
from features.films import query as films
from features.stores import query as store_query
from shared.database import Database, RowDict
from shared.database.models import MAX_ID, MPAA_RATINGS

log = structlog.get_logger(__name__)

# Agent, plugin and function names, stated once: the kernel calls a function `Plugin-function`,
# and offers a handoff to an agent as `Handoff-transfer_to_<agent>` (Semantic Kernel's names).
SEARCH_AGENT = "SearchAgent"
GENERAL_AGENT = "GeneralAgent"
STORE_PLUGIN = "Store"
CUSTOMERS_PLUGIN = "Customers"
FILM_DETAILS = "film_details"
FILM_AVAILABILITY = "film_availability"
FIND_FILMS = "find_films"
LIST_CATEGORIES = "list_categories"
TOP_ACTORS = "top_actors"
RENTAL_TERMS = "rental_terms"
STORES = "stores"
STAFF = "staff"
CATALOGUE_TOTALS = "catalogue_totals"
CUSTOMER_RENTALS = "customer_rentals"
FILM_RENTERS = "film_renters"
TOP_CUSTOMERS = "top_customers"
CUSTOMERS_BY = ("rentals", "paid")

TEXT_MAX_CHARS = 200
SORTS = tuple(films.SORT_WORDS)
MAX_FILMS = 20


def qualified(plugin: str, function: str) -> str:
    return f"{plugin}-{function}"


HANDOFF_TO_GENERAL = qualified(HANDOFF_PLUGIN_NAME, f"transfer_to_{GENERAL_AGENT}")


@dataclass
class ToolRecord:
    """What the tools did during one run."""

    calls: list[ToolCall] = field(default_factory=list)
    films: dict[int, FilmHit] = field(default_factory=dict)
    intent: str | None = None  # what the rules router read the question as (a metric's label)

    def saw(self, rows: list[RowDict]) -> None:
        for row in rows:
            if row["film_id"] not in self.films:
                self.films[row["film_id"]] = FilmHit(
                    film_id=row["film_id"],
                    title=row["title"],
                    rating=row["rating"],
                    rental_rate=_money(row["rental_rate"]),
                )


class ToolInputError(ValueError):
    """An argument the model passed is out of range: it is told which, and may try again."""


def _money(value: Decimal) -> float:
    """Money for the model as every response writes it (`shared.database.models.Money`)."""
    return float(value)


def _text(value: str | None) -> str | None:
    value = (value or "").replace("\x00", "").strip()[:TEXT_MAX_CHARS]
    return value or None


def _texts(values: list[str] | None) -> list[str] | None:
    """Names, cleaned, at most MAX_FILMS of them; none given: None (any)."""
    cleaned = [v for v in (_text(value) for value in (values or [])[:MAX_FILMS]) if v]
    return cleaned or None


class _Tools:
    def __init__(self, db: Database, record: ToolRecord) -> None:
        self._db = db
        self._record = record

    async def _run(
        self, name: str, arguments: dict[str, Any], work: Callable[[], Awaitable[ToolResult]]
    ) -> ToolResult:
        started = time.perf_counter()
        try:
            result = await work()
        except ToolInputError as exc:
            self._record.calls.append(ToolCall(name=name, arguments=arguments, ok=False))
            return ToolError(error=str(exc))
        except Exception as exc:  # the model is told, the response lists it; the run goes on
            self._record.calls.append(ToolCall(name=name, arguments=arguments, ok=False))
            log.warning(
                "handoff.tool_failed",
                tool=name,
                error=type(exc).__name__,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            return ToolError(error=f"The store database could not answer ({name}).")
        self._record.calls.append(ToolCall(name=name, arguments=arguments, ok=True))
        return result


class StoreTools(_Tools):
    """Tools anyone may use: the catalogue, prices, availability, streaming."""

    @kernel_function(
        name=FILM_DETAILS,
        description="Everything the store records about one film: what it is about "
        "(description), release year, rating, rental rate and rental days, length in minutes, "
        "category, language, special features (trailers, commentaries, deleted scenes, behind "
        "the scenes), replacement cost of a lost or damaged copy, whether it streams, and its "
        "cast. There is no director, award, review or box office. Needs the film's exact title "
        "(any case); find_films finds titles.",
    )
    async def film_details(
        self, title: Annotated[str, "The film's exact title, any case, e.g. ACADEMY DINOSAUR"]
    ) -> ToolResult:
        async def work() -> ToolResult:
            row = await query.film_details(self._db, _text(title) or "")
            if row is None:
                return FilmNotFound(title=title)
            self._record.saw([row])
            return FilmFacts(
                title=row["title"],
                description=row["description"],
                release_year=row["release_year"],
                rating=row["rating"],
                rental_rate=row["rental_rate"],
                rental_days=row["rental_duration"],
                length=row["length"],
                category=row["category"],
                language=row["language"],
                special_features=list(row["special_features"] or []),
                replacement_cost=row["replacement_cost"],
                streaming=row["streaming_available"],
                cast=list(row["cast_names"] or ()),  # NULL: no cast
            )

        return await self._run(FILM_DETAILS, {"title": title}, work)

    @kernel_function(
        name=FILM_AVAILABILITY,
        description="A film's rental rate and, per store and in total, how many copies the "
        "stores hold and how many are in now. Needs the film's exact title (any case).",
    )
    async def film_availability(
        self, title: Annotated[str, "The film's exact title, any case"]
    ) -> ToolResult:
        async def work() -> ToolResult:
            film = await query.film_details(self._db, _text(title) or "")
            if film is None:
                return FilmNotFound(title=title)
            self._record.saw([film])
            # The films page's own availability query: copies per store, and which are in.
            rows = await films.fetch_availability(self._db, film["film_id"])
            stores = [
                StoreCopies(
                    store_id=r["store_id"],
                    city=r["city"],
                    copies=r["copies"],
                    in_stock=len(r["available_inventory_ids"] or ()),
                )
                for r in rows
                if r["store_id"] is not None  # a film without copies: one row, no store
            ]
            return Availability(
                title=film["title"],
                rating=film["rating"],
                rental_rate=film["rental_rate"],
                copies=sum(s.copies for s in stores),
                in_stock=sum(s.in_stock for s in stores),
                stores=stores,
            )

        return await self._run(FILM_AVAILABILITY, {"title": title}, work)

    @kernel_function(
        name=FIND_FILMS,
        description="Find films by any combination of: words to search in titles and "
        "descriptions (a topic, e.g. 'shark'), words that must all be in the title, category, "
        "rating, an actor's full name, a rental rate range, the fewest rental days, a special "
        "feature, a language, a length range in minutes, streaming now. Sort by "
        f"{', '.join(SORTS)} (popular: most rented; replacement: the cost of a lost copy); "
        "default best match, then title. Returns the total number of matches and "
        "the first `limit` films.",
    )
    async def find_films(
        self,
        text: Annotated[str | None, "Words to search for in titles and descriptions"] = None,
        title: Annotated[str | None, "Words that must all be words of the title"] = None,
        category: Annotated[
            str | None, "A category name, e.g. Comedy (see list_categories)"
        ] = None,
        rating: Annotated[str | None, "One of G, PG, PG-13, R, NC-17"] = None,
        actor: Annotated[
            str | None, "An actor's first and last name, e.g. PENELOPE GUINESS"
        ] = None,
        actors: Annotated[
            list[str] | None, "Actors who must all be in the film (first and last names)"
        ] = None,
        titles: Annotated[
            list[str] | None, "Only these titles: to compare films already named"
        ] = None,
        max_price: Annotated[float | None, "Highest rental rate in dollars, e.g. 2.99"] = None,
        min_price: Annotated[float | None, "Lowest rental rate in dollars"] = None,
        min_days: Annotated[int | None, "Fewest rental days, e.g. 7 for a week"] = None,
        language: Annotated[str | None, "A language the film is in, e.g. French"] = None,
        feature: Annotated[
            str | None, f"A special feature: {', '.join(query.SPECIAL_FEATURES)}"
        ] = None,
        min_length: Annotated[int | None, "Shortest length in minutes"] = None,
        max_length: Annotated[int | None, "Longest length in minutes"] = None,
        min_year: Annotated[int | None, "Released in this year or later, e.g. 1990"] = None,
        max_year: Annotated[int | None, "Released in this year or earlier, e.g. 1999"] = None,
        streaming: Annotated[bool | None, "True: only films that stream now"] = None,
        sort: Annotated[str | None, f"One of {', '.join(SORTS)}; none: best match"] = None,
        limit: Annotated[int, "How many films to return, 1 to 20"] = query.LIST_LIMIT,
    ) -> ToolResult:
        given = {
            "text": text,
            "title": title,
            "category": category,
            "rating": rating,
            "actor": actor,
            "actors": actors,
            "titles": titles,
            "max_price": max_price,
            "min_price": min_price,
            "min_days": min_days,
            "feature": feature,
            "language": language,
            "min_length": min_length,
            "max_length": max_length,
            "min_year": min_year,
            "max_year": max_year,
            "streaming": streaming,
            "sort": sort,
            "limit": limit,
        }
        arguments = {name: value for name, value in given.items() if value is not None}

        async def work() -> ToolResult:
            if rating is not None and rating.upper() not in MPAA_RATINGS:
                raise ToolInputError(f"rating must be one of {', '.join(MPAA_RATINGS)}")
            if sort is not None and sort not in SORTS:
                raise ToolInputError(f"sort must be one of {', '.join(SORTS)}")
            price, least = _dollars("max_price", max_price), _dollars("min_price", min_price)
            filters = films.FilmFilters(
                topic=_text(text),
                title=_text(title),
                category=_text(category),
                rating=rating,
                actor=_text(actor),
                actors=_texts(actors),
                titles=_texts(titles),
                max_price=price,
                min_price=least,
                min_days=_length(min_days),
                feature=_text(feature),
                language=_text(language),
                min_length=_length(min_length),
                max_length=_length(max_length),
                min_year=_length(min_year),
                max_year=_length(max_year),
                streaming=streaming,
            )
            rows = await films.find(
                self._db, filters, sort=sort, limit=max(1, min(limit, MAX_FILMS))
            )
            self._record.saw(rows)
            return FoundFilms(
                total=rows[0]["total"] if rows else 0,
                films=[FilmRow(**row, rental_days=row["rental_duration"]) for row in rows],
            )

        return await self._run(FIND_FILMS, arguments, work)

    @kernel_function(
        name=LIST_CATEGORIES,
        description="The catalogue's categories (genres), each with its number of films.",
    )
    async def list_categories(self) -> ToolResult:
        async def work() -> ToolResult:
            rows = await categories.fetch_all(self._db)
            return Categories(categories=[CategoryCount.model_validate(r) for r in rows])

        return await self._run(LIST_CATEGORIES, {}, work)

    @kernel_function(
        name=RENTAL_TERMS,
        description="The store's rental terms from the catalogue: each rental rate with its "
        "number of films, the rental period in days (shortest and longest), and the "
        "replacement cost of a lost or damaged copy (lowest and highest). A film's own rate "
        "and days: film_details.",
    )
    async def rental_terms(self) -> ToolResult:
        async def work() -> ToolResult:
            rows = await query.rental_terms(self._db)
            if not rows:  # no films, no terms
                return RentalTerms(rates=[], days=None, replacement_cost=None)
            first = rows[0]
            return RentalTerms(
                rates=[RateCount.model_validate(r) for r in rows],
                days=DayRange(min=first["min_days"], max=first["max_days"]),
                replacement_cost=MoneyRange(
                    min=first["min_replacement"], max=first["max_replacement"]
                ),
            )

        return await self._run(RENTAL_TERMS, {}, work)

    @kernel_function(
        name=TOP_ACTORS,
        description="The actors who appear in the most films, with their number of films "
        "(ties at the cut included).",
    )
    async def top_actors(self, limit: Annotated[int, "How many, 1 to 20"] = 5) -> ToolResult:
        async def work() -> ToolResult:
            rows = await query.top_actors(self._db, max(1, min(limit, MAX_FILMS)))
            return TopActors(actors=[ActorCount.model_validate(r) for r in rows])

        return await self._run(TOP_ACTORS, {"limit": limit}, work)

    @kernel_function(
        name=STORES,
        description="The store's shops: each one's address, city, country and phone, its "
        "manager, and how many copies (of how many films) and active staff it has.",
    )
    async def stores(self) -> ToolResult:
        async def work() -> ToolResult:
            rows = await store_query.stores(self._db)
            return Stores(
                stores=[
                    StoreFacts(
                        **r, manager=_person(r["manager_first_name"], r["manager_last_name"])
                    )
                    for r in rows
                ]
            )

        return await self._run(STORES, {}, work)

    @kernel_function(
        name=STAFF,
        description="The store's active staff: each one's name, store, and whether they "
        "manage it. Never a username, e-mail address or password.",
    )
    async def staff(self) -> ToolResult:
        async def work() -> ToolResult:
            rows = await store_query.staff(self._db)
            return StaffList(
                staff=[
                    StaffMember(**r, name=_person(r["first_name"], r["last_name"])) for r in rows
                ]
            )

        return await self._run(STAFF, {}, work)

    @kernel_function(
        name=CATALOGUE_TOTALS,
        description="The catalogue's totals: films, actors, categories, copies (and how many "
        "are out right now), stores and the languages films are in.",
    )
    async def catalogue_totals(self) -> ToolResult:
        async def work() -> ToolResult:
            totals = await store_query.totals(self._db)
            spoken = [row["name"] for row in await query.film_languages(self._db)]
            return Totals.model_validate({**totals, "film_languages": spoken})

        return await self._run(CATALOGUE_TOTALS, {}, work)


def _rental(row: RowDict) -> Rental:
    returned = row["return_date"]
    return Rental(
        title=row["title"],
        rented=row["rental_date"].date().isoformat(),
        returned=returned.date().isoformat() if returned else None,
    )


def _person(first: str | None, last: str | None) -> str:
    """A person's name as the answers show it: first and last, as written, or capitalised when
    written in capitals (Pagila's customers: MARY SMITH), so that a McDonald stays one."""
    name = " ".join(part for part in (first, last) if part)
    return name.title() if name.isupper() else name


def _dollars(name: str, value: float | None) -> Decimal | None:
    """A price argument as the column's numeric; a bad one is the model's to fix."""
    if value is None:
        return None
    try:
        price = Decimal(str(value))
    except InvalidOperation:
        raise ToolInputError(f"{name} must be a number of dollars") from None
    if not price.is_finite():
        raise ToolInputError(f"{name} must be a number of dollars")
    return price.quantize(Decimal("0.01"))


def _length(amount: int | None) -> int | None:
    # Pagila's film.length and release_year are smallints; anything past them bounds nothing.
    return None if amount is None else max(0, min(amount, 32767))


class CustomerTools(_Tools):
    """Staff only: offered to the model only when the request carries a staff or service token."""

    @kernel_function(
        name=CUSTOMER_RENTALS,
        description="A customer's card and rentals: name, e-mail, address, phone, their "
        "store, what they have paid in all, how many rentals in all, the rentals not yet "
        "returned, and the most recent rentals (at most "
        f"{customers.RECENT_RENTALS_LIMIT}): film, rented, returned (null: still out).",
    )
    async def customer_rentals(
        self, customer_id: Annotated[int, "The customer's id"]
    ) -> ToolResult:
        async def work() -> ToolResult:
            if not 1 <= customer_id <= MAX_ID:
                return CustomerNotFound(customer_id=customer_id)
            card = await customers.customer_card(self._db, customer_id)
            if card is None:
                return CustomerNotFound(customer_id=customer_id)
            recent = await customers.recent_rentals(self._db, customer_id)
            out = await customers.out_now(self._db, customer_id)
            self._record.saw(out + recent)
            return CustomerRentals(
                customer_id=customer_id,
                name=_person(card["first_name"], card["last_name"]),
                email=card["email"],
                address=f"{card['address']}, {card['district']}, {card['city']}",
                phone=card["phone"],
                paid=card["paid"],
                payments=card["payments"],
                rented=card["rented"],
                store_id=card["store_id"],
                store_city=card["store_city"],
                store_country=card["store_country"],
                out_now=[_rental(row) for row in out],
                rentals=[_rental(row) for row in recent],
            )

        return await self._run(CUSTOMER_RENTALS, {"customer_id": customer_id}, work)

    @kernel_function(
        name=TOP_CUSTOMERS,
        description="The customers who rented the most, or paid the most in all: name, id, "
        "rentals and payments.",
    )
    async def top_customers(
        self,
        by: Annotated[str, f"One of {', '.join(CUSTOMERS_BY)}"] = "rentals",
        limit: Annotated[int, "How many, 1 to 20"] = 5,
    ) -> ToolResult:
        async def work() -> ToolResult:
            if by not in CUSTOMERS_BY:
                raise ToolInputError(f"by must be one of {', '.join(CUSTOMERS_BY)}")
            rows = await customers.top_customers(self._db, by, max(1, min(limit, MAX_FILMS)))
            return TopCustomers(
                by=by,
                customers=[
                    CustomerCount(
                        customer_id=row["customer_id"],
                        name=_person(row["first_name"], row["last_name"]),
                        rented=row["rented"],
                        paid=row["paid"],
                    )
                    for row in rows
                ],
            )

        return await self._run(TOP_CUSTOMERS, {"by": by, "limit": limit}, work)

    @kernel_function(
        name=FILM_RENTERS,
        description="Who has a film's copies out now, then who rented it last (at most "
        f"{customers.RECENT_RENTALS_LIMIT}): customer, store, rented, returned (null: still "
        "out). Needs the film's exact title (any case).",
    )
    async def film_renters(
        self, title: Annotated[str, "The film's exact title, any case"]
    ) -> ToolResult:
        async def work() -> ToolResult:
            rows = await customers.film_renters(self._db, _text(title) or "")
            if not rows:
                if await query.film_details(self._db, _text(title) or "") is None:
                    return FilmNotFound(title=title)
                return FilmRenters(title=title.upper(), renters=[])
            renters = [
                Renter(
                    customer_id=row["customer_id"],
                    name=_person(row["first_name"], row["last_name"]),
                    email=row["email"],
                    store_id=row["store_id"],
                    **_rental(row).model_dump(exclude={"title"}),
                )
                for row in rows
            ]
            return FilmRenters(title=rows[0]["title"], renters=renters)

        return await self._run(FILM_RENTERS, {"title": title}, work)
