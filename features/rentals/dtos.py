from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from shared.models import MAX_ID


class RentalCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inventory_id: int = Field(
        ge=1, le=MAX_ID, strict=True, description="The copy (inventory item) to rent."
    )
    staff_id: int = Field(
        ge=1, le=MAX_ID, strict=True, description="The staff member handing it out."
    )


class RentalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    rental_id: int
    customer_id: int
    inventory_id: int
    staff_id: int
    rental_date: datetime
    return_date: datetime | None
