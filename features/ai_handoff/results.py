"""What the store tools return: typed results, read as attributes by the offline answers and
serialised once, as JSON, for a model (Semantic Kernel sends a tool's result as `str(result)`).
"""

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.database.models import Money


class _Shape(BaseModel):
    model_config = ConfigDict(frozen=True)


class ToolResult(_Shape):
    def __str__(self) -> str:
        return self.model_dump_json()


class ToolError(ToolResult):
    """The tool could not answer; the model is told why, and may try again."""

    error: str


class FilmNotFound(ToolResult):
    title: str
    found: Literal[False] = False


class CustomerNotFound(ToolResult):
    customer_id: int
    found: Literal[False] = False


class FilmFacts(ToolResult):
    found: Literal[True] = True
    title: str
    description: str | None
    release_year: int | None
    rating: str | None
    rental_rate: Money
    rental_days: int
    length: int | None
    category: str | None
    language: str
    special_features: list[str]
    replacement_cost: Money
    streaming: bool
    cast: list[str]


class StoreCopies(_Shape):
    store_id: int
    city: str | None
    copies: int
    in_stock: int


class Availability(ToolResult):
    found: Literal[True] = True
    title: str
    rating: str | None
    rental_rate: Money
    copies: int
    in_stock: int
    stores: list[StoreCopies]


class FilmRow(_Shape):
    title: str
    rating: str | None
    category: str | None
    rental_rate: Money
    length: int | None
    rental_days: int
    replacement_cost: Money
    times_rented: int
    cast_size: int = 0  # actors in it
    # What the films were sorted on (films.query's `find`), to tell ties: not for the model.
    sorted_on: Decimal | int | None = Field(default=None, exclude=True)


class FoundFilms(ToolResult):
    total: int
    films: list[FilmRow]


class CategoryCount(_Shape):
    name: str
    films: int


class Categories(ToolResult):
    categories: list[CategoryCount]


class RateCount(_Shape):
    rental_rate: Money
    films: int


class DayRange(_Shape):
    min: int
    max: int


class MoneyRange(_Shape):
    min: Money
    max: Money


class RentalTerms(ToolResult):
    rates: list[RateCount]
    days: DayRange | None
    replacement_cost: MoneyRange | None


class ActorCount(_Shape):
    name: str
    films: int


class TopActors(ToolResult):
    actors: list[ActorCount]


class CustomerCount(_Shape):
    customer_id: int
    name: str
    rented: int
    paid: Money


class TopCustomers(ToolResult):
    by: str  # "rentals" or "paid"
    customers: list[CustomerCount]


class StoreFacts(_Shape):
    store_id: int
    address: str
    district: str
    city: str
    country: str
    phone: str
    manager: str | None
    copies: int
    films: int
    staff: int
    customers: int  # signed up at this store


class Stores(ToolResult):
    stores: list[StoreFacts]


class StaffMember(_Shape):
    """Names and store only: never a username, e-mail or password."""

    name: str | None
    store_id: int
    city: str
    manager: bool


class StaffList(ToolResult):
    staff: list[StaffMember]


class Totals(ToolResult):
    films: int
    actors: int
    categories: int
    copies: int
    stores: int
    languages: int
    out_now: int  # copies rented and not returned
    customers: int
    average_length: Decimal | None  # minutes, of the films that say
    average_rental_rate: Money | None
    average_replacement_cost: Money | None
    overdue: int  # rentals out longer than their film's rental period
    overdue_customers: int  # customers with at least one of those
    film_languages: list[str] = []  # the languages the films are in, most films first


class Rental(_Shape):
    title: str
    rented: str
    returned: str | None


class CustomerRentals(ToolResult):
    """A customer's card and rentals: for staff only."""

    found: Literal[True] = True
    customer_id: int
    name: str
    email: str | None
    address: str
    phone: str
    paid: Money  # in all, from their payments
    payments: int  # how many payments
    rented: int  # rentals in all
    store_id: int  # where they signed up
    store_city: str
    store_country: str
    out_now: list[Rental]  # not returned yet, newest first
    rentals: list[Rental]  # the most recent, returned or not


class Renter(_Shape):
    customer_id: int
    name: str
    email: str | None
    store_id: int
    rented: str
    returned: str | None


class FilmRenters(ToolResult):
    """Who has a film's copies out, then who rented it last: for staff only."""

    title: str
    renters: list[Renter]
