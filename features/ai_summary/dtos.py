from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Rating = Literal["G", "PG", "PG-13", "R", "NC-17"]
SUMMARY_MAX_CHARS = 300


class SummaryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    film_id: int = Field(ge=1, description="The film to summarise.")


class FilmSummary(BaseModel):
    """The response. title, rating and recommended always come from the database and the
    business rule; only the summary text is the model's."""

    title: str
    rating: str
    recommended: bool = Field(
        description="True when the rating is R or NC-17 and the rental rate is below 3.00."
    )
    summary: str = Field(max_length=SUMMARY_MAX_CHARS)


class SummaryDraft(BaseModel):
    """What the model is asked to return: its JSON schema is sent as the response format."""

    model_config = ConfigDict(extra="forbid")

    title: str
    rating: Rating
    recommended: bool
    summary: str
