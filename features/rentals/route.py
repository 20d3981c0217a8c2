from fastapi import APIRouter, Response, status

from features.rentals import handler
from features.rentals.dtos import RentalCreate, RentalOut, RentalWithFilmOut
from shared.database import DatabaseDep, OneStatementSessionDep
from shared.http.errors import (
    UNAUTHORIZED_RESPONSE,
    UNAVAILABLE_RESPONSE,
    ConflictError,
    ForbiddenError,
    NotFoundError,
)
from shared.http.pagination import Page, PageParamsDep
from shared.http.params import IdPath
from shared.security.auth import CallerDep, StaffGuard

router = APIRouter(tags=["rentals"], responses=UNAVAILABLE_RESPONSE)

CustomerId = IdPath
RentalId = IdPath


@router.post(
    "/customers/{customer_id}/rentals",
    status_code=status.HTTP_201_CREATED,
    summary="Rent a copy to a customer (rental_date = now()), recorded as the signed-in staff's",
    responses={
        **UNAUTHORIZED_RESPONSE,
        **ForbiddenError.response_doc("staff_id names another member of staff"),
        **NotFoundError.response_doc("No such customer"),
        **ConflictError.response_doc("The copy is already out"),
        422: {
            "description": "Invalid body, unknown inventory_id / staff_id, or no staff_id "
            "with the service token"
        },
    },
)
async def create_rental(
    caller: CallerDep,
    session: OneStatementSessionDep,
    customer_id: CustomerId,
    body: RentalCreate,
    response: Response,
) -> RentalOut:
    rental = await handler.rent(
        session, customer_id, body.inventory_id, caller.acting_as(body.staff_id)
    )
    response.headers["Location"] = f"/rentals/{rental.rental_id}"
    return rental


@router.put(
    "/rentals/{rental_id}/return",
    dependencies=[StaffGuard],
    summary="Mark a rental returned (return_date = now())",
    responses={
        **UNAUTHORIZED_RESPONSE,
        **NotFoundError.response_doc("No such rental"),
        **ConflictError.response_doc("Already returned"),
    },
)
async def return_rental(session: OneStatementSessionDep, rental_id: RentalId) -> RentalWithFilmOut:
    return await handler.return_rental(session, rental_id)


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
