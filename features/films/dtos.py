from pydantic import BaseModel, ConfigDict, Field

from shared.models import Rating


class FilmOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "film_id": 1,
                    "title": "ACADEMY DINOSAUR",
                    "description": "A Epic Drama of a Feminist And a Mad Scientist who must "
                    "Battle a Teacher in The Canadian Rockies",
                    "release_year": 2012,
                    "rating": "PG",
                    "rental_rate": 0.99,
                    "length": 86,
                    "category": "Documentary",
                    "streaming_available": False,
                }
            ]
        }
    )

    film_id: int
    title: str
    description: str | None
    release_year: int | None
    rating: Rating | None
    # numeric(4,2) leaves as a JSON number (0.99); a float holds every such value exactly enough
    # to print it back unchanged, and serialises natively (no Python callback per row).
    rental_rate: float = Field(description="Price of one rental.")
    length: int | None = Field(description="Minutes.")
    category: str | None
    streaming_available: bool
