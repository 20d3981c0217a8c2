"""A conversation's earlier turns, as clients send them back (OpenAI-style messages).

The service keeps no conversation: each request carries the turns before it, so that any
worker or host can answer the next one. They are bounded (a model's context, and our time) and
validated like any input; they are never logged.
"""

from collections.abc import Iterable
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from semantic_kernel.contents import AuthorRole, ChatMessageContent

QUESTION_MAX_CHARS = 2000
# A question, as every AI endpoint takes it: trimmed, 1..2000 characters, no NUL.
Question = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=QUESTION_MAX_CHARS, pattern=r"^[^\x00]*$"
    ),
]
HISTORY_MAX_MESSAGES = 20
HISTORY_MAX_CHARS = 4000  # a message's
HISTORY_MAX_TOTAL_CHARS = 24000


class Turn(BaseModel):
    """One earlier message: the user's question or the assistant's answer."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=HISTORY_MAX_CHARS, pattern=r"^[^\x00]*$"
        ),
    ]


def _bounded(turns: list[Turn]) -> list[Turn]:
    if sum(len(t.content) for t in turns) > HISTORY_MAX_TOTAL_CHARS:
        raise ValueError(f"history holds more than {HISTORY_MAX_TOTAL_CHARS} characters in all")
    return turns


History = Annotated[
    list[Turn],
    AfterValidator(_bounded),
    Field(
        default_factory=list,
        max_length=HISTORY_MAX_MESSAGES,
        description=f"The conversation's earlier messages, oldest first: at most "
        f"{HISTORY_MAX_MESSAGES}, each 1..{HISTORY_MAX_CHARS} characters, "
        f"{HISTORY_MAX_TOTAL_CHARS} in all. The service keeps none: send them back each turn.",
        examples=[
            [
                {"role": "user", "content": "do you have AFRICAN EGG?"},
                {"role": "assistant", "content": "AFRICAN EGG: 3 of our 3 copies are in."},
            ]
        ],
    ),
]


def as_messages(turns: list[Turn], question: str) -> list[ChatMessageContent]:
    """The earlier turns and the question, as Semantic Kernel's chat messages."""
    roles = {"user": AuthorRole.USER, "assistant": AuthorRole.ASSISTANT}
    messages = [ChatMessageContent(role=roles[t.role], content=t.content) for t in turns]
    return [*messages, ChatMessageContent(role=AuthorRole.USER, content=question)]


def exchanges(messages: Iterable[tuple[str, str]]) -> tuple[list[tuple[str, str]], str]:
    """(role, content) messages as the earlier exchanges (question, answer), oldest first, and
    the question asked last; an answer with no question before it is dropped."""
    pairs: list[tuple[str, str]] = []
    question: str | None = None
    for role, content in messages:
        if role == "user":
            question = content
        elif role == "assistant" and question is not None and content:
            pairs.append((question, content))
            question = None
    return pairs, question or ""
