"""Data access for streaming subscriptions. "Today" is the database's current_date."""

from datetime import date
from typing import Any

from sqlalchemy import Date, and_, bindparam, func, insert, literal_column, select, update
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import col

from shared.database import Database, PagedSelect, RowDict, Rows, Statement
from shared.database.models import SUBSCRIPTION_PERIOD, StreamingSubscription

S = StreamingSubscription
_TODAY = func.current_date()


def _active() -> ColumnElement[bool]:
    return and_(
        col(S.start_date) <= _TODAY, col(S.end_date).is_(None) | (col(S.end_date) >= _TODAY)
    )


_COLUMNS: tuple[Any, ...] = (
    col(S.id).label("subscription_id"),
    col(S.customer_id),
    col(S.plan_name),
    col(S.start_date),
    col(S.end_date),
    _active().label("active"),
)

_PERIOD: ColumnElement[Any] = literal_column(SUBSCRIPTION_PERIOD)
_REQUESTED = func.daterange(
    bindparam("start_date", type_=Date), bindparam("end_date", type_=Date), literal_column("'[]'")
)

# The first of the customer's subscriptions the requested period overlaps, for a clear 409.
OVERLAPPING = Statement(
    select(*_COLUMNS)
    .where(col(S.customer_id) == bindparam("customer_id"), _PERIOD.op("&&")(_REQUESTED))
    .order_by(col(S.start_date))
    .limit(1)
)

INSERT = Statement(
    insert(S)
    .values(
        customer_id=bindparam("customer_id"),
        plan_name=bindparam("plan_name"),
        start_date=bindparam("start_date"),
        end_date=bindparam("end_date"),
    )
    .returning(*_COLUMNS)
)

_END = func.coalesce(bindparam("new_end_date", type_=Date), _TODAY)
# Ends a subscription that is open or ends later; never extends one (that could overlap).
END = Statement(
    update(S)
    .where(
        col(S.id) == bindparam("target_id"),
        col(S.start_date) <= _END,
        col(S.end_date).is_(None) | (col(S.end_date) > _END),
    )
    .values(end_date=_END)
    .returning(*_COLUMNS)
)

_ONE = Statement(select(*_COLUMNS).where(col(S.id) == bindparam("subscription_id")))
TODAY = Statement(select(_TODAY.label("today")))


def _customer_page() -> PagedSelect:
    of_customer = col(S.customer_id) == bindparam("customer_id")
    page = (
        select(*_COLUMNS)
        .where(of_customer)
        .order_by(col(S.start_date).desc(), col(S.id).desc())
        .limit(bindparam("limit"))
        .offset(bindparam("offset"))
    )
    count = select(func.count().label("total")).where(of_customer)
    return PagedSelect.build(
        count,
        page,
        lambda c: [c.start_date.desc(), c.subscription_id.desc()],
        key="subscription_id",
    )


_CUSTOMER_PAGE = _customer_page()


async def overlapping(
    transaction: Rows, customer_id: int, start: date, end: date | None
) -> RowDict | None:
    params = {"customer_id": customer_id, "start_date": start, "end_date": end}
    return await transaction.row(OVERLAPPING, params)


async def insert_subscription(
    transaction: Rows, customer_id: int, plan_name: str, start: date, end: date | None
) -> RowDict:
    params = {"customer_id": customer_id, "plan_name": plan_name, "start_date": start}
    row = await transaction.write(INSERT, {**params, "end_date": end})
    if row is None:  # INSERT ... RETURNING of one row
        raise RuntimeError("the subscription INSERT returned no row")
    return row


async def end_subscription(
    transaction: Rows, subscription_id: int, end: date | None
) -> RowDict | None:
    params = {"target_id": subscription_id, "new_end_date": end}
    return await transaction.write(END, params)


async def fetch_one(rows: Rows, subscription_id: int) -> RowDict | None:
    """A subscription: a read, or inside a transaction."""
    return await rows.row(_ONE, {"subscription_id": subscription_id})


async def today_in(transaction: Rows) -> date:
    row = await transaction.row(TODAY)
    assert row is not None  # SELECT without FROM: one row
    today: date = row["today"]
    return today


async def fetch_customer_page(
    db: Database, customer_id: int, *, limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    params = {"customer_id": customer_id, "limit": limit, "offset": offset}
    return await _CUSTOMER_PAGE.fetch(db, params)
