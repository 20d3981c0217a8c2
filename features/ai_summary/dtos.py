from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.database.models import MAX_ID, MPAA_RATINGS, Rating

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
    actors: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "FilmFacts":
        values = {name: row[name] for name in cls.__dataclass_fields__ if name != "actors"}
        # Pagila stores names in capitals; the prompt reads better, and the model copies
        # better, in the case people write them in.
        return cls(**values, actors=tuple(name.title() for name in row.get("actors") or ()))


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


TITLE_MAX_CHARS = 64  # Pagila's longest is 27


def _bounded_text(max_chars: int, *, one_sentence: bool = False) -> dict[str, Any]:
    """JSON-schema keywords for a string of 1..max_chars plain characters (no quote, backslash
    or control character), and with `one_sentence`, one sentence ending in a full stop.

    The local server turns the schema into a grammar, which then ends the string in time: with
    no escapes allowed, a character is at least one token's worth, so the whole object fits a
    token budget (`DRAFT_MAX_TOKENS`). One sentence, because a small model's second sentence is
    where it makes things up. Schema only: Semantic Kernel's strict `json_schema` for OpenAI and
    Azure, which reject such keywords, is built without them, and parsing does not check them
    (the summary is clipped instead)."""
    plain = '"\\\\\\x00-\\x1F'
    if one_sentence:
        pattern = f"^[^{plain}.!?]{{1,{max_chars - 1}}}[.]$"
    else:
        pattern = f"^[^{plain}]{{1,{max_chars}}}$"
    return {"maxLength": max_chars, "pattern": pattern}


class SummaryDraft(BaseModel):
    """What the model is asked to return: its JSON schema is sent as the response format."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(json_schema_extra=_bounded_text(TITLE_MAX_CHARS))
    rating: Rating
    recommended: bool
    summary: str = Field(json_schema_extra=_bounded_text(SUMMARY_MAX_CHARS, one_sentence=True))


# The longest object the grammar allows, at one token per character or more: both strings at
# their bounds, the longest rating, `false`, keys, quotes and punctuation, the one optional space
# llama.cpp's JSON grammar allows at each of fewer than 20 places, and the end-of-text token.
# The model cannot run out of tokens mid-object.
_JSON_FRAME = len('{"title":"","rating":"NC-17","recommended":false,"summary":""}')
DRAFT_MAX_TOKENS = TITLE_MAX_CHARS + SUMMARY_MAX_CHARS + _JSON_FRAME + 20 + 1
