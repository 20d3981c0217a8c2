"""SQLModel table models: the part of Pagila the service uses, plus our own tables.

Only what is modelled here is compared by `alembic check`; the rest of Pagila is ignored.
Column types mirror Pagila's so that autogenerate finds no drift.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal, get_args

import pydantic
from sqlalchemy import (
    CHAR,
    CheckConstraint,
    Column,
    ColumnElement,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    SmallInteger,
    String,
    Text,
    column,
    false,
    func,
    literal_column,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import (
    ARRAY,
    DOMAIN,
    TSVECTOR,
    ExcludeConstraint,
    aggregate_order_by,
)
from sqlalchemy.sql.selectable import ScalarSelect
from sqlmodel import Field, SQLModel, col

metadata = SQLModel.metadata

# Pagila's keys are `integer`: a larger id cannot exist, and the driver refuses to send one.
# Ids are checked against this before any SQL (422), and are strict integers in bodies.
MAX_ID = 2**31 - 1

# Money as every response writes it: a JSON number (numeric(4,2) 0.99 -> 0.99). A float holds
# every such value exactly enough to print it back unchanged, and serialises natively (no
# Python callback per row, as a Decimal would need).
Money = Annotated[float, pydantic.Field(ge=0, examples=[0.99])]

# The ratings Pagila's `mpaa_rating` enum allows, in its order: the one list in the code.
Rating = Literal["G", "PG", "PG-13", "R", "NC-17"]
MPAA_RATINGS: tuple[str, ...] = get_args(Rating)
# Pagila's own enum type: never created or dropped by us.
mpaa_rating = Enum(*MPAA_RATINGS, name="mpaa_rating", create_type=False)
# Pagila's `year` domain (an integer checked to 1901..2155).
year = DOMAIN("year", Integer, create_type=False)


class Category(SQLModel, table=True):
    __tablename__ = "category"

    category_id: int = Field(primary_key=True)
    name: str = Field(sa_type=Text)


class Language(SQLModel, table=True):
    __tablename__ = "language"

    language_id: int = Field(primary_key=True)
    name: str = Field(sa_type=CHAR(20))  # blank-padded: compared trimmed


class Film(SQLModel, table=True):
    __tablename__ = "film"

    film_id: int = Field(primary_key=True)
    title: str = Field(sa_type=Text)
    description: str | None = Field(default=None, sa_type=Text)
    release_year: int | None = Field(default=None, sa_type=year)
    language_id: int
    rental_duration: int = Field(sa_type=SmallInteger)  # days
    rating: str | None = Field(default=None, sa_type=mpaa_rating)
    rental_rate: Decimal = Field(sa_type=Numeric(4, 2))
    length: int | None = Field(default=None, sa_type=SmallInteger)
    replacement_cost: Decimal = Field(sa_type=Numeric(5, 2))  # a lost or damaged copy
    special_features: list[str] | None = Field(default=None, sa_type=ARRAY(Text))
    # Pagila's: title + description as a tsvector ('english'), kept current by a trigger and
    # GiST-indexed. Read in searches only.
    fulltext: str | None = Field(default=None, sa_column=Column(TSVECTOR, nullable=False))
    # Added by migration 0001.
    streaming_available: bool = Field(
        default=False, sa_column_kwargs={"server_default": false(), "nullable": False}
    )


class FilmCategory(SQLModel, table=True):
    __tablename__ = "film_category"

    film_id: int = Field(primary_key=True)
    category_id: int = Field(primary_key=True)


def film_category_name(film_id: ColumnElement[int] | None = None) -> ScalarSelect[str]:
    """A film's category name, correlated to the enclosing query's film (`film_id`: its id
    column, the `film` table's by default). A film may in principle have several categories
    (film_category's key allows it); Pagila gives each one, and the first by name is taken."""
    return (
        select(col(Category.name))
        .join(FilmCategory, col(FilmCategory.category_id) == col(Category.category_id))
        .where(col(FilmCategory.film_id) == (film_id if film_id is not None else col(Film.film_id)))
        .order_by(col(Category.name))
        .limit(1)
        .scalar_subquery()
    )


class Actor(SQLModel, table=True):
    __tablename__ = "actor"

    actor_id: int = Field(primary_key=True)
    first_name: str = Field(sa_type=Text)
    last_name: str = Field(sa_type=Text)


class FilmActor(SQLModel, table=True):
    __tablename__ = "film_actor"

    actor_id: int = Field(primary_key=True)
    film_id: int = Field(primary_key=True)


class Customer(SQLModel, table=True):
    __tablename__ = "customer"

    customer_id: int = Field(primary_key=True)
    first_name: str = Field(sa_type=Text)
    last_name: str = Field(sa_type=Text)
    email: str | None = Field(default=None, sa_type=Text)


class Staff(SQLModel, table=True):
    """A member of staff, who signs in with `username` and `password` (features/auth)."""

    __tablename__ = "staff"
    # Pagila's usernames are unique in its data but not by constraint: a sign-in must name one
    # member of staff (migration 0009).
    __table_args__ = (Index("staff_username_key", "username", unique=True),)

    staff_id: int = Field(primary_key=True)
    first_name: str = Field(sa_type=Text)
    last_name: str = Field(sa_type=Text)
    store_id: int
    active: bool = Field(sa_column_kwargs={"server_default": text("true")})
    username: str = Field(sa_type=Text)
    # An argon2 hash; Pagila's own are unsalted SHA-1 digests, replaced at their first sign-in.
    password: str | None = Field(default=None, sa_type=Text)


class City(SQLModel, table=True):
    __tablename__ = "city"

    city_id: int = Field(primary_key=True)
    city: str = Field(sa_type=Text)


class Address(SQLModel, table=True):
    __tablename__ = "address"

    address_id: int = Field(primary_key=True)
    address: str = Field(sa_type=Text)
    city_id: int


class Store(SQLModel, table=True):
    __tablename__ = "store"

    store_id: int = Field(primary_key=True)
    manager_staff_id: int
    address_id: int


# Migration 0013: a film's copies, read without a scan of every copy.
INVENTORY_FILM_INDEX = "ix_inventory_film"


class Inventory(SQLModel, table=True):
    __tablename__ = "inventory"
    __table_args__ = (Index(INVENTORY_FILM_INDEX, "film_id"),)

    inventory_id: int = Field(primary_key=True)
    film_id: int
    store_id: int


# Migration 0003: at most one open (unreturned) rental per copy.
OPEN_RENTAL_INDEX = "uq_rental_open_inventory"
# Migration 0007: a customer's rentals, newest first (GET /customers/{id}/rentals and its total),
# read from an index instead of a scan of every rental (Pagila has no index on customer_id).
CUSTOMER_RENTALS_INDEX = "ix_rental_customer_recent"
# Migration 0008: a stemmer for the store assistant's words that drops none of them.
ASSISTANT_STEM = "assistant_stem"
# Pagila's own unique index; it fires for two rentals of one copy to one customer in one instant.
PAGILA_RENTAL_UNIQUE_INDEX = "idx_unq_rental_rental_date_inventory_id_customer_id"


class Rental(SQLModel, table=True):
    __tablename__ = "rental"
    __table_args__ = (
        Index(
            OPEN_RENTAL_INDEX,
            "inventory_id",
            unique=True,
            postgresql_where=text("return_date IS NULL"),
        ),
        # Scanned backwards for newest first.
        Index(CUSTOMER_RENTALS_INDEX, "customer_id", "rental_date", "rental_id"),
    )

    rental_id: int = Field(primary_key=True)
    rental_date: datetime = Field(sa_type=DateTime(timezone=True))
    inventory_id: int
    customer_id: int
    return_date: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    staff_id: int
    last_update: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


# Migration 0004: a customer's subscriptions never overlap. `end_date` is the last day included
# (NULL: open-ended), hence the closed range '[]'.
NO_OVERLAPPING_SUBSCRIPTIONS = "ex_streaming_subscription_no_overlap"
SUBSCRIPTION_CUSTOMER_FK = "fk_streaming_subscription_customer"
SUBSCRIPTION_PERIOD = "daterange(start_date, end_date, '[]')"


class StreamingSubscription(SQLModel, table=True):
    """Migration 0002: a customer's streaming plan over a date range (open-ended if no end)."""

    __tablename__ = "streaming_subscription"
    __table_args__ = (
        ExcludeConstraint(
            ("customer_id", "="),
            (
                func.daterange(column("start_date"), column("end_date"), literal_column("'[]'")),
                "&&",
            ),
            name=NO_OVERLAPPING_SUBSCRIPTIONS,
            using="gist",
        ),
        CheckConstraint(
            "end_date IS NULL OR end_date >= start_date",
            name="ck_streaming_subscription_end_after_start",
        ),
        Index("ix_streaming_subscription_customer_id", "customer_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    customer_id: int = Field(
        sa_column=Column(
            "customer_id",  # named here: the exclusion constraint refers to it by name
            Integer,
            ForeignKey("customer.customer_id", name=SUBSCRIPTION_CUSTOMER_FK),
            nullable=False,
        )
    )
    plan_name: str = Field(sa_type=String(50))
    start_date: date = Field(sa_type=Date)
    end_date: date | None = Field(default=None, sa_type=Date)


# Migration 0010: summaries kept (features/ai_summary), keyed by a digest of the facts in the
# prompt, the model's identity and the prompt's version. Only the model's text is kept.
FILM_SUMMARY_FILM_FK = "fk_film_summary_film"


class FilmSummaryRow(SQLModel, table=True):
    """A film's summary as the model wrote it, for the facts, model and prompt its key names."""

    __tablename__ = "film_summary"
    __table_args__ = (Index("ix_film_summary_film_id", "film_id"),)

    key: str = Field(sa_type=Text, primary_key=True)  # hex SHA-256
    film_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("film.film_id", name=FILM_SUMMARY_FILM_FK, ondelete="CASCADE"),
            nullable=False,
        )
    )
    model: str = Field(sa_type=Text)  # provider/model, for an operator pruning by model
    summary: str = Field(sa_type=Text)
    created_at: datetime = Field(
        sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


def film_cast(film_id: ColumnElement[int] | None = None) -> ScalarSelect[list[str]]:
    """A film's cast as "FIRST LAST" names, in one order, by surname and then first name (Pagila
    keeps no billing order), correlated as `film_category_name` is; NULL when it has none."""
    name = col(Actor.first_name) + " " + col(Actor.last_name)
    return (
        select(
            func.array_agg(aggregate_order_by(name, col(Actor.last_name), col(Actor.first_name)))
        )
        .join(FilmActor, col(FilmActor.actor_id) == col(Actor.actor_id))
        .where(col(FilmActor.film_id) == (film_id if film_id is not None else col(Film.film_id)))
        .scalar_subquery()
    )
