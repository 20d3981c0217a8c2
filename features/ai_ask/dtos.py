from pydantic import BaseModel


class AskDelta(BaseModel):
    """The data of one SSE `message` event: the next piece of the answer."""

    delta: str


class AskDone(BaseModel):
    """The data of the final SSE `done` event."""

    finish_reason: str | None
    usage: dict[str, int] | None


class AskError(BaseModel):
    """The data of an SSE `error` event: the model failed mid-stream."""

    message: str
