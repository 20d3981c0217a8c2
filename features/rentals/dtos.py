from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.database.models import MAX_ID


class RentalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inventory_id: int = Field(
        ge=1, le=MAX_ID, strict=True, description="The copy (inventory item) to rent."
    )
    staff_id: int | None = Field(
        default=None,
        ge=1,
        le=MAX_ID,
        strict=True,
        description="The member of staff handing it out: the signed-in one when omitted (a "
        "staff token; naming another is a 403), required with the service token.",
    )


class RentalOut(BaseModel):
    rental_id: int
    customer_id: int
    inventory_id: int
    staff_id: int
    rental_date: datetime
    return_date: datetime | None


class RentalWithFilmOut(RentalOut):
    """A rental with its film, so that a person can read it: in a customer's list, one rental,
    a return."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rental_id": 16050,
                    "customer_id": 5,
                    "inventory_id": 1,
                    "staff_id": 1,
                    "rental_date": "2026-11-23T10:15:00+00:00",
                    "return_date": None,
                    "film_id": 1,
                    "title": "ACADEMY DINOSAUR",
                }
            ]
        }
    )

    film_id: int
    title: str
