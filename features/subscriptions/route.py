from typing import Annotated

from fastapi import APIRouter, Body, Request, Response, status

from features.subscriptions import handler
from features.subscriptions.dtos import SubscriptionCreate, SubscriptionEnd, SubscriptionOut
from shared.database import DatabaseDep, TransactionDep
from shared.http.errors import (
    UNAUTHORIZED_RESPONSE,
    UNAVAILABLE_RESPONSE,
    ConflictError,
    NotFoundError,
    problem_doc,
)
from shared.http.idempotency import KEY_REUSED, IdempotentTransactionDep
from shared.http.pagination import Page, PageParamsDep
from shared.http.params import IdPath
from shared.security.auth import StaffGuard

router = APIRouter(tags=["subscriptions"], responses=UNAVAILABLE_RESPONSE)

CustomerId = IdPath
SubscriptionId = IdPath


@router.post(
    "/customers/{customer_id}/subscriptions",
    status_code=status.HTTP_201_CREATED,
    response_model=SubscriptionOut,
    summary="Subscribe a customer to streaming for a period (never overlapping another)",
    responses={
        **UNAUTHORIZED_RESPONSE,
        **NotFoundError.response_doc("No such customer"),
        **ConflictError.response_doc(
            "The customer has a subscription in that period", handler.OVERLAPPING
        ),
        **problem_doc("An Idempotency-Key already used for another request", KEY_REUSED),
    },
)
async def create_subscription(
    write: IdempotentTransactionDep,
    request: Request,
    customer_id: CustomerId,
    body: SubscriptionCreate,
    response: Response,
) -> SubscriptionOut | Response:
    return await write.run(
        request,
        response,
        lambda writes: handler.subscribe(writes, customer_id, body),
        body=body,
        location=lambda subscription: f"/subscriptions/{subscription.subscription_id}",
    )


@router.get(
    "/customers/{customer_id}/subscriptions",
    dependencies=[StaffGuard],
    summary="A customer's subscriptions, latest start first (staff only)",
    responses={**UNAUTHORIZED_RESPONSE, **NotFoundError.response_doc("No such customer")},
)
async def list_customer_subscriptions(
    db: DatabaseDep, customer_id: CustomerId, page: PageParamsDep
) -> Page[SubscriptionOut]:
    return await handler.list_customer_subscriptions(db, customer_id, page)


@router.get(
    "/subscriptions/{subscription_id}",
    dependencies=[StaffGuard],
    summary="One subscription (staff only)",
    responses={**UNAUTHORIZED_RESPONSE, **NotFoundError.response_doc("No such subscription")},
)
async def get_subscription(db: DatabaseDep, subscription_id: SubscriptionId) -> SubscriptionOut:
    return await handler.get_subscription(db, subscription_id)


@router.put(
    "/subscriptions/{subscription_id}/end",
    dependencies=[StaffGuard],
    summary="End a subscription (today, or on a given day)",
    responses={
        **UNAUTHORIZED_RESPONSE,
        **NotFoundError.response_doc("No such subscription"),
        **ConflictError.response_doc(
            "It already ends on or before that day, or changed meanwhile (retry)",
            handler.ALREADY_ENDS,
            handler.CHANGED_MEANWHILE,
        ),
        422: {"description": "Invalid body, or an end before the subscription starts"},
    },
)
async def end_subscription(
    transaction: TransactionDep,
    subscription_id: SubscriptionId,
    body: Annotated[SubscriptionEnd | None, Body()] = None,
) -> SubscriptionOut:
    return await handler.end(transaction, subscription_id, body.end_date if body else None)
