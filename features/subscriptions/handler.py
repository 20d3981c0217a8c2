"""Subscription rules. Race safety: the overlap check gives a clear 409 in the common case; the
exclusion constraint `NO_OVERLAPPING_SUBSCRIPTIONS` decides between concurrent requests."""

from datetime import date

import structlog

from features.customers import query as customers
from features.subscriptions import query
from features.subscriptions.dtos import SubscriptionCreate, SubscriptionOut
from shared.database import Database, Rows, WriteConflictError
from shared.database.models import NO_OVERLAPPING_SUBSCRIPTIONS, SUBSCRIPTION_CUSTOMER_FK
from shared.http.errors import ConflictError, InvalidFieldError, NotFoundError, Problem
from shared.http.pagination import Page, PageParams

log = structlog.get_logger(__name__)

_SubscriptionPage = Page[SubscriptionOut]


def _period(start: date, end: date | None) -> str:
    return f"{start.isoformat()} to {end.isoformat() if end else 'open-ended'}"


# The kinds of refusal a client branches on (the `type` of the problem details).
OVERLAPPING = Problem("subscription-overlaps", 409, "The period overlaps another subscription")
ALREADY_ENDS = Problem("subscription-already-ends", 409, "The subscription already ends by then")
CHANGED_MEANWHILE = Problem("changed-meanwhile", 409, "Changed meanwhile: retry")


def _customer_not_found(customer_id: int) -> NotFoundError:
    return NotFoundError(f"Customer {customer_id} not found.")


async def subscribe(
    transaction: Rows, customer_id: int, body: SubscriptionCreate
) -> SubscriptionOut:
    clash = await query.overlapping(transaction, customer_id, body.start_date, body.end_date)
    if clash is not None:
        raise ConflictError(
            f"Customer {customer_id} already has subscription {clash['subscription_id']} "
            f"({_period(clash['start_date'], clash['end_date'])}), which overlaps "
            f"{_period(body.start_date, body.end_date)}.",
            problem=OVERLAPPING,
        )
    try:
        row = await query.insert_subscription(
            transaction, customer_id, body.plan_name, body.start_date, body.end_date
        )
    except WriteConflictError as exc:
        # Lost a race: a concurrent request subscribed this customer for an overlapping period.
        # Two conflicting inserts can also each wait for the other under an exclusion
        # constraint; PostgreSQL then aborts one as a deadlock: the same.
        constraint = exc.constraint
        if constraint == NO_OVERLAPPING_SUBSCRIPTIONS or exc.aborted:
            log.info("subscription.conflict", customer_id=customer_id, constraint=constraint)
            raise ConflictError(
                f"Customer {customer_id} already has a subscription overlapping "
                f"{_period(body.start_date, body.end_date)}.",
                problem=OVERLAPPING,
            ) from None
        if constraint == SUBSCRIPTION_CUSTOMER_FK:
            raise _customer_not_found(customer_id) from None
        raise
    subscription = SubscriptionOut.model_validate(row)
    log.info("subscription.created", subscription_id=subscription.subscription_id)
    return subscription


async def end(transaction: Rows, subscription_id: int, end_date: date | None) -> SubscriptionOut:
    row = await query.end_subscription(transaction, subscription_id, end_date)
    if row is not None:
        return SubscriptionOut.model_validate(row)
    current = await query.fetch_one(transaction, subscription_id)
    if current is None:
        raise NotFoundError(f"Subscription {subscription_id} not found.")
    requested = end_date or await query.today_in(transaction)
    if requested < current["start_date"]:
        day = requested.isoformat() if end_date else f"today ({requested.isoformat()})"
        raise InvalidFieldError(
            "end_date",
            f"Subscription {subscription_id} starts on {current['start_date'].isoformat()}; "
            f"it cannot end {'on ' if end_date else ''}{day}.",
        )
    if current["end_date"] is None:  # ended and reopened meanwhile? Only a retry can tell.
        raise ConflictError(
            f"Subscription {subscription_id} changed meanwhile; please retry.",
            problem=CHANGED_MEANWHILE,
        )
    raise ConflictError(
        f"Subscription {subscription_id} already ends on {current['end_date'].isoformat()}.",
        problem=ALREADY_ENDS,
    )


async def get_subscription(db: Database, subscription_id: int) -> SubscriptionOut:
    row = await query.fetch_one(db, subscription_id)
    if row is None:
        raise NotFoundError(f"Subscription {subscription_id} not found.")
    return SubscriptionOut.model_validate(row)


async def list_customer_subscriptions(
    db: Database, customer_id: int, page: PageParams
) -> Page[SubscriptionOut]:
    total, items = await query.fetch_customer_page(
        db, customer_id, limit=page.limit, offset=page.offset
    )
    if total == 0 and not await customers.customer_exists(db, customer_id):
        raise _customer_not_found(customer_id)
    return _SubscriptionPage.of(total, items, page)
