import re
from datetime import date
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date_only(value: Any) -> Any:
    """Dates are written YYYY-MM-DD. Pydantic would also read a number, or a string of digits,
    as a Unix timestamp ("0" = 1970-01-01)."""
    if isinstance(value, date) or (isinstance(value, str) and _ISO_DATE.fullmatch(value)):
        return value
    raise ValueError("a date is written YYYY-MM-DD")


IsoDate = Annotated[date, BeforeValidator(_iso_date_only)]
PlanName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[^\x00]+$"),
]


class SubscriptionCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"plan_name": "premium", "start_date": "2026-12-01", "end_date": "2027-05-31"},
                {"plan_name": "basic", "start_date": "2026-12-01"},
            ]
        },
    )

    plan_name: PlanName = Field(description="The plan's name (1..50 characters).")
    start_date: IsoDate = Field(description="First day of the subscription.")
    end_date: IsoDate | None = Field(
        default=None, description="Last day included; omitted or null: until ended."
    )

    @model_validator(mode="after")
    def _ends_after_it_starts(self) -> Self:
        if self.end_date is not None and self.end_date < self.start_date:
            raise ValueError("end_date must not be before start_date")
        return self


class SubscriptionEnd(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"end_date": "2026-12-31"}, {}]}
    )

    end_date: IsoDate | None = Field(
        default=None, description="Last day included; omitted: today (the database's date)."
    )


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subscription_id": 1,
                    "customer_id": 5,
                    "plan_name": "premium",
                    "start_date": "2026-12-01",
                    "end_date": None,
                    "active": True,
                }
            ]
        }
    )

    subscription_id: int
    customer_id: int
    plan_name: str
    start_date: date
    end_date: date | None
    active: bool = Field(description="Whether today (the database's date) is in the period.")
