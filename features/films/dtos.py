from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, PlainSerializer

# Prices leave as JSON numbers (4.99), not Pydantic's default decimal strings ("4.99").
Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]


class FilmOut(BaseModel):
    film_id: int
    title: str
    description: str | None
    release_year: int | None
    rating: str | None
    rental_rate: Money
    length: int | None
    category: str | None
    streaming_available: bool
