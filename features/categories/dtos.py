from pydantic import BaseModel, ConfigDict, Field


class CategoryOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"category_id": 1, "name": "Action", "films": 64}]}
    )

    category_id: int
    name: str = Field(description="Use it as GET /films?category=.")
    films: int = Field(description="Films in the category.")
