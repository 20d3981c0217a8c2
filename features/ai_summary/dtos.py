from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.models import MAX_ID, MPAA_RATINGS, Rating

SUMMARY_MAX_CHARS = 300
# The business rule: recommended = rated above PG-13 and cheap to rent.
RECOMMENDED_RATINGS = MPAA_RATINGS[MPAA_RATINGS.index("PG-13") + 1 :]  # R, NC-17
RECOMMENDED_BELOW_RATE = Decimal("3.00")
RECOMMENDED_RULE = (
    f"true only when the rating is {' or '.join(RECOMMENDED_RATINGS)} "
    f"and the rental rate is below {RECOMMENDED_BELOW_RATE}, else false"
)


@dataclass(frozen=True)
class FilmFacts:
    """What the catalogue knows of a film, as the prompt uses it (read from films' rows)."""

    title: str
    description: str | None
    release_year: int | None
    rating: str | None
    rental_rate: Decimal
    length: int | None
    category: str | None

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "FilmFacts":
        return cls(**{name: row[name] for name in cls.__dataclass_fields__})


class SummaryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    film_id: int = Field(ge=1, le=MAX_ID, strict=True, description="The film to summarise.")


class FilmSummary(BaseModel):
    """The response. title, rating and recommended always come from the database and the
    business rule; only the summary text is the model's."""

    title: str
    rating: str
    recommended: bool = Field(description=f"{RECOMMENDED_RULE}.")
    summary: str = Field(max_length=SUMMARY_MAX_CHARS)


class SummaryDraft(BaseModel):
    """What the model is asked to return: its JSON schema is sent as the response format."""

    model_config = ConfigDict(extra="forbid")

    title: str
    rating: Rating
    recommended: bool
    summary: str
