"""The store agent's tools, as Semantic Kernel functions over the Pagila database.

Each call is one short read (see query.py), returns compact JSON for the model, and is recorded
(name, arguments, ok) with the films it returned, for the response. A tool that fails tells the
model so in its result instead of raising: the run goes on and the call is listed `ok: false`.
"""

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import asyncpg
import structlog
from semantic_kernel.functions import kernel_function

from features.ai_handoff import query
from features.ai_handoff.dtos import FilmHit, ToolCall
from shared.database import Database
from shared.models import MAX_ID

log = structlog.get_logger(__name__)

STORE_PLUGIN = "Store"
CUSTOMERS_PLUGIN = "Customers"
TITLE_MAX_CHARS = 100


@dataclass
class ToolRecord:
    """What the tools did during one run."""

    calls: list[ToolCall] = field(default_factory=list)
    films: dict[int, FilmHit] = field(default_factory=dict)

    def saw(self, rows: list[asyncpg.Record]) -> None:
        for row in rows:
            if row["film_id"] not in self.films:
                self.films[row["film_id"]] = FilmHit(
                    film_id=row["film_id"],
                    title=row["title"],
                    rating=row["rating"],
                    rental_rate=row["rental_rate"],
                )


def _film(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "title": row["title"],
        "rating": row["rating"],
        "rental_rate": f"{row['rental_rate']:.2f}",
        "category": row["category"],
    }


class _Tools:
    def __init__(self, db: Database, record: ToolRecord) -> None:
        self._db = db
        self._record = record

    async def _run(
        self, name: str, arguments: dict[str, Any], work: Callable[[], Awaitable[Any]]
    ) -> str:
        started = time.perf_counter()
        try:
            result = await work()
        except Exception as exc:  # the model is told, the response lists it; the run goes on
            self._record.calls.append(ToolCall(name=name, arguments=arguments, ok=False))
            log.warning(
                "handoff.tool_failed",
                tool=name,
                error=type(exc).__name__,
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
            )
            return json.dumps({"error": f"The store database could not answer ({name})."})
        self._record.calls.append(ToolCall(name=name, arguments=arguments, ok=True))
        return json.dumps(result, separators=(",", ":"), default=str)


class StoreTools(_Tools):
    """Tools anyone may use: the catalogue, prices, availability, streaming."""

    @kernel_function(
        name="search_films",
        description="Find films whose title contains the text (any case; at most 5): "
        "title, rating, rental rate, category.",
    )
    async def search_films(
        self, title: Annotated[str, "Part of a film title, e.g. DINOSAUR"]
    ) -> str:
        async def work() -> dict[str, Any]:
            text = title.strip()[:TITLE_MAX_CHARS]
            rows = await query.search_by_title(self._db, text)
            self._record.saw(rows)
            return {"query": text, "films": [_film(row) for row in rows]}

        return await self._run("search_films", {"title": title}, work)

    @kernel_function(
        name="film_availability",
        description="A film's rental rate and, per store, how many copies it has and how many "
        "are in now. Needs the exact title.",
    )
    async def film_availability(
        self, title: Annotated[str, "The film's exact title, any case"]
    ) -> str:
        async def work() -> dict[str, Any]:
            rows = await query.availability(self._db, title.strip()[:TITLE_MAX_CHARS])
            if not rows:
                return {"title": title, "found": False}
            self._record.saw(rows)
            stores = [
                {"store_id": r["store_id"], "copies": r["copies"], "in_store": r["in_store"]}
                for r in rows
                if r["store_id"] is not None
            ]
            return {**_film(rows[0]), "found": True, "stores": stores}

        return await self._run("film_availability", {"title": title}, work)

    @kernel_function(
        name="streaming_recommendations",
        description="Films available for streaming now (at most 5), optionally in one category "
        "(e.g. Comedy).",
    )
    async def streaming_recommendations(
        self, category: Annotated[str | None, "A category name, or none for any"] = None
    ) -> str:
        async def work() -> dict[str, Any]:
            rows = await query.streaming(self._db, category.strip() if category else None)
            self._record.saw(rows)
            return {"category": category, "films": [_film(row) for row in rows]}

        return await self._run("streaming_recommendations", {"category": category}, work)


class CustomerTools(_Tools):
    """Staff only: offered to the model only when the request carries the admin token."""

    @kernel_function(
        name="customer_rentals",
        description="A customer's most recent rentals (at most 5): film, rented, returned.",
    )
    async def customer_rentals(self, customer_id: Annotated[int, "The customer's id"]) -> str:
        async def work() -> dict[str, Any]:
            if not 1 <= customer_id <= MAX_ID:
                return {"customer_id": customer_id, "found": False}
            person = await query.customer(self._db, customer_id)
            if person is None:
                return {"customer_id": customer_id, "found": False}
            rows = await query.recent_rentals(self._db, customer_id)
            self._record.saw(rows)
            rentals = [
                {
                    "title": row["title"],
                    "rented": row["rental_date"].date().isoformat(),
                    "returned": row["return_date"].date().isoformat()
                    if row["return_date"]
                    else None,
                }
                for row in rows
            ]
            name = f"{person['first_name']} {person['last_name']}".title()
            return {"customer_id": customer_id, "found": True, "name": name, "rentals": rentals}

        return await self._run("customer_rentals", {"customer_id": customer_id}, work)
