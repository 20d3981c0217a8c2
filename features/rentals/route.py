from fastapi import APIRouter, Request, Response, status

from features.rentals import handler
from features.rentals.dtos import RentalCreate, RentalOut, RentalWithFilmOut
from shared.database import DatabaseDep
from shared.http.errors import (
    UNAUTHORIZED_RESPONSE,
    UNAVAILABLE_RESPONSE,
    VALIDATION,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    problem_doc,
)
from shared.http.idempotency import KEY_REUSED, IdempotentOneStatementDep
from shared.http.pagination import Page, PageParamsDep
from shared.http.params import IdPath
from shared.security.auth import StaffGuard

router = APIRouter(tags=["rentals"], responses=UNAVAILABLE_RESPONSE)

CustomerId = IdPath
RentalId = IdPath


@router.post(
    "/customers/{customer_id}/rentals",
    status_code=status.HTTP_201_CREATED,
    response_model=RentalOut,
    summary="Rent a copy to a customer (rental_date = now()), recorded as the signed-in staff's",
    responses={
        **UNAUTHORIZED_RESPONSE,
        **ForbiddenError.response_doc("staff_id names another member of staff"),
        **NotFoundError.response_doc("No such customer"),
        **ConflictError.response_doc("The copy is already out", handler.COPY_IS_OUT),
        **problem_doc(
            "Invalid body, unknown inventory_id / staff_id, no staff_id with the service "
            "token, or an Idempotency-Key already used for another request",
            VALIDATION,
            KEY_REUSED,
        ),
    },
)
async def create_rental(
    write: IdempotentOneStatementDep,
    request: Request,
    customer_id: CustomerId,
    body: RentalCreate,
    response: Response,
) -> RentalOut | Response:
    staff_id = write.caller.acting_as(body.staff_id)
    return await write.run(
        request,
        response,
        lambda writes: handler.rent(writes, customer_id, body.inventory_id, staff_id),
        body=body,
        location=lambda rental: f"/rentals/{rental.rental_id}",
    )


@router.put(
    "/rentals/{rental_id}/return",
    response_model=RentalWithFilmOut,
    summary="Mark a rental returned (return_date = now())",
    responses={
        **UNAUTHORIZED_RESPONSE,
        **NotFoundError.response_doc("No such rental"),
        **ConflictError.response_doc("Already returned", handler.ALREADY_RETURNED),
        **problem_doc("An Idempotency-Key already used for another request", KEY_REUSED),
    },
)
async def return_rental(
    write: IdempotentOneStatementDep, request: Request, response: Response, rental_id: RentalId
) -> RentalWithFilmOut | Response:
    return await write.run(
        request, response, lambda writes: handler.return_rental(writes, rental_id)
    )


@router.get(
    "/customers/{customer_id}/rentals",
    dependencies=[StaffGuard],
    summary="A customer's rentals, newest first (staff only)",
    responses={**UNAUTHORIZED_RESPONSE, **NotFoundError.response_doc("No such customer")},
)
async def list_customer_rentals(
    db: DatabaseDep, customer_id: CustomerId, page: PageParamsDep
) -> Page[RentalWithFilmOut]:
    return await handler.list_customer_rentals(db, customer_id, page)


@router.get(
    "/rentals/{rental_id}",
    dependencies=[StaffGuard],
    summary="One rental (staff only)",
    responses={**UNAUTHORIZED_RESPONSE, **NotFoundError.response_doc("No such rental")},
)
async def get_rental(db: DatabaseDep, rental_id: RentalId) -> RentalWithFilmOut:
    return await handler.get_rental(db, rental_id)
