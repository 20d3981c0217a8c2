from pydantic import BaseModel


class AskDone(BaseModel):
    """The data of the final SSE `done` event."""

    finish_reason: str | None
    usage: dict[str, int] | None
