from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.ai.conversation import QUESTION_MAX_CHARS, History, Question
from shared.database.models import Money

Agent = Literal["search", "general"]


class HandoffRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": "What is the rental rate for the film ACADEMY DINOSAUR?"},
                {"question": "What is the capital of France?"},
                {
                    "question": "how much is it?",
                    "history": [
                        {"role": "user", "content": "do you have AFRICAN EGG?"},
                        {"role": "assistant", "content": "AFRICAN EGG: 3 of our 3 copies are in."},
                    ],
                },
            ]
        },
    )

    question: Question = Field(
        description=f"A question for the store's assistant, 1..{QUESTION_MAX_CHARS} characters, "
        "no NUL."
    )
    history: History


class ToolCall(BaseModel):
    name: str = Field(examples=["film_details"])
    arguments: dict[str, Any] = Field(examples=[{"title": "ACADEMY DINOSAUR"}])
    ok: bool = Field(description="False when the tool failed (the model was told so).")


class FilmHit(BaseModel):
    """A film a store tool returned, for the page to show beside the answer."""

    film_id: int
    title: str
    rating: str | None
    rental_rate: Money = Field(description="Price of one rental, as in /films.")


class HandoffAnswer(BaseModel):
    agent: Agent = Field(
        description="Who answered: `search` (the store's agent, with database tools) or "
        "`general` (the model alone)."
    )
    answer: str
    tool_calls: list[ToolCall] = Field(description="The store tools called, in order.")
    films: list[FilmHit] = Field(description="Films the tools returned, first seen first.")
    router: Literal["llm", "rules"] = Field(
        description="`llm`: the model chose the tools (a provider that can call tools); "
        "`rules`: the offline rules router did (the embedded local model cannot)."
    )
