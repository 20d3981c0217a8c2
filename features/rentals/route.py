from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status

from features.rentals import handler
from features.rentals.dtos import RentalCreate, RentalOut
from shared.auth import AdminGuard
from shared.database import SessionDep
from shared.pagination import Page, PageParamsDep

router = APIRouter(tags=["rentals"])

CustomerId = Annotated[int, Path(ge=1)]
RentalId = Annotated[int, Path(ge=1)]
_GUARDED: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid bearer token"}
}


@router.post(
    "/customers/{customer_id}/rentals",
    status_code=status.HTTP_201_CREATED,
    dependencies=[AdminGuard],
    summary="Rent a copy to a customer (rental_date = now())",
    responses={
        **_GUARDED,
        404: {"description": "No such customer"},
        409: {"description": "The copy is already out"},
        422: {"description": "Invalid body, or unknown inventory_id / staff_id"},
    },
)
async def create_rental(
    session: SessionDep, customer_id: CustomerId, body: RentalCreate, response: Response
) -> RentalOut:
    rental = await handler.rent(session, customer_id, body)
    response.headers["Location"] = f"/rentals/{rental.rental_id}"
    return rental


@router.put(
    "/rentals/{rental_id}/return",
    dependencies=[AdminGuard],
    summary="Mark a rental returned (return_date = now())",
    responses={
        **_GUARDED,
        404: {"description": "No such rental"},
        409: {"description": "Already returned"},
    },
)
async def return_rental(session: SessionDep, rental_id: RentalId) -> RentalOut:
    return await handler.return_rental(session, rental_id)


@router.get(
    "/customers/{customer_id}/rentals",
    summary="A customer's rentals, newest first",
    responses={404: {"description": "No such customer"}},
)
async def list_customer_rentals(
    session: SessionDep, customer_id: CustomerId, page: PageParamsDep
) -> Page[RentalOut]:
    return await handler.list_customer_rentals(session, customer_id, page)


@router.get(
    "/rentals/{rental_id}", summary="One rental", responses={404: {"description": "No such rental"}}
)
async def get_rental(session: SessionDep, rental_id: RentalId) -> RentalOut:
    return await handler.get_rental(session, rental_id)
