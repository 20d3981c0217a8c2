from pydantic import BaseModel, ConfigDict, Field

from shared.database.models import Money, Rating


class FilmOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "film_id": 1,
                    "title": "ACADEMY DINOSAUR",
                    "description": "A Epic Drama of a Feminist And a Mad Scientist who must "
                    "Battle a Teacher in The Canadian Rockies",
                    "release_year": 2006,
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
    rental_rate: Money = Field(description="Price of one rental.")
    length: int | None = Field(description="Minutes.")
    category: str | None
    streaming_available: bool


class FilmPatch(BaseModel):
    """The film fields staff may change."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"streaming_available": True}]}
    )

    streaming_available: bool = Field(
        strict=True, description="Whether the film can be streamed (migration 0001)."
    )


class StoreAvailability(BaseModel):
    store_id: int
    manager_staff_id: int = Field(
        description="The store's manager: a staff_id that can hand its copies out."
    )
    address: str = Field(description="The store's street address and city.")
    copies: int = Field(description="Copies this store owns.")
    in_stock: int = Field(description="Copies on the shelf now (not rented out).")
    available_inventory_ids: list[int] = Field(
        description="The copies that can be rented now (POST /customers/{id}/rentals)."
    )


class FilmAvailability(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "film_id": 1,
                    "title": "ACADEMY DINOSAUR",
                    "copies": 8,
                    "in_stock": 7,
                    "stores": [
                        {
                            "store_id": 1,
                            "manager_staff_id": 1,
                            "address": "47 MySakila Drive, Lethbridge",
                            "copies": 4,
                            "in_stock": 4,
                            "available_inventory_ids": [1, 2, 3, 4],
                        },
                        {
                            "store_id": 2,
                            "manager_staff_id": 2,
                            "address": "28 MySQL Boulevard, Woodridge",
                            "copies": 4,
                            "in_stock": 3,
                            "available_inventory_ids": [5, 6, 8],
                        },
                    ],
                }
            ]
        }
    )

    film_id: int
    title: str
    copies: int = Field(description="Copies in all stores.")
    in_stock: int = Field(description="Copies on the shelf in all stores.")
    stores: list[StoreAvailability] = Field(description="Stores holding copies, by store_id.")
