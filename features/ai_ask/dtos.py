from pydantic import BaseModel, ConfigDict, Field

from shared.ai.conversation import QUESTION_MAX_CHARS, History, Question


class AskRequest(BaseModel):
    """POST /ai/ask: a question after the conversation's earlier turns."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"question": "Name three film genres"},
                {
                    "question": "and what is it about?",
                    "history": [
                        {"role": "user", "content": "tell me about ACADEMY DINOSAUR"},
                        {"role": "assistant", "content": "ACADEMY DINOSAUR is rated PG."},
                    ],
                },
            ]
        },
    )

    question: Question = Field(description=f"Your question, 1..{QUESTION_MAX_CHARS} chars.")
    history: History


class AskDone(BaseModel):
    """The data of the final SSE `done` event."""

    finish_reason: str | None
    usage: dict[str, int] | None
