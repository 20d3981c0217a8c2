"""The store agent's offline "model": a deterministic router written as a Semantic Kernel chat
service, for the embedded local model, which cannot call tools.

It makes the same moves a tool-calling model would, through the same orchestration: on a
question, it calls a store tool (when the question is about films, rentals, prices,
availability or streaming, or names a catalogue title) or `transfer_to_` the general agent; on a
tool's result, it writes the answer from the rows. Every fact it states comes from a tool.
"""

import json
import re
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar

from semantic_kernel.connectors.ai.chat_completion_client_base import ChatCompletionClientBase
from semantic_kernel.connectors.ai.function_call_choice_configuration import (
    FunctionCallChoiceConfiguration,
)
from semantic_kernel.connectors.ai.function_calling_utils import (
    update_settings_from_function_call_configuration,
)
from semantic_kernel.connectors.ai.function_choice_type import FunctionChoiceType
from semantic_kernel.connectors.ai.open_ai import OpenAIChatPromptExecutionSettings
from semantic_kernel.connectors.ai.prompt_execution_settings import PromptExecutionSettings
from semantic_kernel.contents import (
    AuthorRole,
    ChatHistory,
    ChatMessageContent,
    FunctionCallContent,
    FunctionResultContent,
    StreamingChatMessageContent,
)
from semantic_kernel.contents.utils.finish_reason import FinishReason

from features.ai_handoff.tools import CUSTOMERS_PLUGIN, STORE_PLUGIN

# What the question names in the catalogue: (title, category), from the database.
NamedInQuestion = Callable[[str], Awaitable[tuple[str | None, str | None]]]

_STORE_WORDS = re.compile(
    r"\b(films?|movies?|dvds?|titles?|rent(?:al|als|ed|ing)?|price[sd]?|pricing|costs?|"
    r"rates?|cheap|available|availability|in stock|copies|copy|stores?|streaming|stream|"
    r"catalog(?:ue)?|rated|rating|category|genre)\b",
    re.IGNORECASE,
)
_AVAILABILITY_WORDS = re.compile(
    r"\b(available|availability|in stock|copies|copy|stores?|in now|on the shelf)\b", re.IGNORECASE
)
_STREAMING_WORDS = re.compile(r"\bstream(?:ing|able|ed)?\b", re.IGNORECASE)
_CUSTOMER = re.compile(r"\bcustomer\s*(?:#|no\.?|number|id)?\s*(\d{1,12})\b", re.IGNORECASE)
# Straight and curly double quotes, curly single quotes (\u2018, \u2019); not the straight
# apostrophe, which is mostly in contractions ("what's", "that's").
_QUOTED = re.compile('["\u201c\u2018]([^"\u201d\u2019]{2,100})["\u201d\u2019]')
_CALLED = re.compile(r"\b(?:called|titled|named)\s+([\w' -]{2,100})", re.IGNORECASE)
_FILLER = frozenset(
    """a an the is are was were do does did you your have has any some of for to in on at by
    with about what which who how much many there me my i we our can could would like want
    show find tell give list please it its this that these those film films movie movies dvd
    dvds title titles rent rental rentals rented price prices cost costs rate rates cheap
    cheapest cheaper expensive best good new newest latest longest shortest
    available availability stock copies copy store stores catalog catalogue rated rating
    category genre or and""".split()  # noqa: SIM905 - a word list reads better as text
)


@dataclass(frozen=True)
class Call:
    """A tool call: `function` is `Plugin-function`."""

    function: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    text: str


HANDOFF_TO_GENERAL = "Handoff-transfer_to_GeneralAgent"


def search_text(question: str) -> str:
    """The part of a question that looks like (part of) a title: quoted text, the words after
    "called", else its longest word that is not filler, singular."""
    for pattern in (_QUOTED, _CALLED):
        match = pattern.search(question)
        if match:
            found: str = match.group(1)
            return found.strip(" ?.!")
    words: list[str] = [
        w
        for w in re.findall(r"[A-Za-z0-9']+", question)
        if w.lower() not in _FILLER and "'" not in w
    ]
    if not words:
        return ""
    word = max(words, key=len)
    return word[:-1] if len(word) > 4 and word.lower().endswith("s") else word


def route(
    question: str, title: str | None, category: str | None, offered: frozenset[str]
) -> Call | Reply:
    """The first move on a question. `title` and `category` are what the question names in
    the catalogue; `offered` are the functions the agent was given."""
    customer = _CUSTOMER.search(question)
    if customer:
        if f"{CUSTOMERS_PLUGIN}-customer_rentals" not in offered:
            return Reply("A customer's rentals are shown to signed-in staff only.")
        return Call(f"{CUSTOMERS_PLUGIN}-customer_rentals", {"customer_id": int(customer[1])})
    if _STREAMING_WORDS.search(question):
        return Call(f"{STORE_PLUGIN}-streaming_recommendations", {"category": category})
    if title is not None:
        if _AVAILABILITY_WORDS.search(question):
            return Call(f"{STORE_PLUGIN}-film_availability", {"title": title})
        return Call(f"{STORE_PLUGIN}-search_films", {"title": title})
    # A category word alone ("what's new", "music theory") does not make a store question.
    if _STORE_WORDS.search(question):
        text = search_text(question)
        if text:
            return Call(f"{STORE_PLUGIN}-search_films", {"title": text})
        return Reply("Which film? Give me part of its title, e.g. “dinosaur”.")
    return Call(HANDOFF_TO_GENERAL, {})


def _films(films: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{f['title']} ({f['rating'] or 'not rated'}, {f['category'] or 'no category'}), "
        f"${f['rental_rate']} to rent"
        for f in films
    )


def answer(function_name: str, result: str) -> str:
    """The answer from a tool's JSON result: facts from the rows, words from here."""
    try:
        data: dict[str, Any] = json.loads(result)
    except ValueError:
        data = {"error": "The store database gave an answer I could not read."}
    if "error" in data:
        return f"Sorry, I could not look that up: {data['error']} Please try again."
    if function_name == "search_films":
        if not data["films"]:
            return f"No film in our catalogue has “{data['query']}” in its title."
        return f"Films matching “{data['query']}”: {_films(data['films'])}."
    if function_name == "film_availability":
        if not data["found"]:
            return f"We have no film titled “{data['title']}”."
        stores = ", ".join(
            f"store {s['store_id']}: {s['in_store']} of {s['copies']} in" for s in data["stores"]
        )
        return (
            f"{data['title']} ({data['rating'] or 'not rated'}) rents for "
            f"${data['rental_rate']}. "
            + (f"Copies — {stores}." if stores else "We hold no copies of it.")
        )
    if function_name == "streaming_recommendations":
        where = f" in {data['category']}" if data["category"] else ""
        if not data["films"]:
            return f"No film{where} is available for streaming right now."
        return f"Streaming now{where}: {_films(data['films'])}."
    if function_name == "customer_rentals":
        if not data["found"]:
            return f"There is no customer {data['customer_id']}."
        if not data["rentals"]:
            return f"{data['name']} (customer {data['customer_id']}) has no rentals."
        rentals = "; ".join(
            f"{r['title']}, rented {r['rented']}, "
            + (f"returned {r['returned']}" if r["returned"] else "not returned yet")
            for r in data["rentals"]
        )
        return f"Recent rentals of {data['name']} (customer {data['customer_id']}): {rentals}."
    return "Done."


class ComputedToolCaller(ChatCompletionClientBase):
    """A chat service whose every move is computed, not generated: a tool call or a text.
    Declares function calling, so Semantic Kernel offers it the agent's functions (as OpenAI
    tool definitions) and runs the calls it makes. Subclasses decide `next_move`."""

    SUPPORTS_FUNCTION_CALLING: ClassVar[bool] = True

    async def next_move(self, history: ChatHistory, offered: frozenset[str]) -> Call | Reply:
        raise NotImplementedError

    def get_prompt_execution_settings_class(self) -> type[PromptExecutionSettings]:
        return OpenAIChatPromptExecutionSettings

    def _update_function_choice_settings_callback(
        self,
    ) -> Callable[
        [FunctionCallChoiceConfiguration, PromptExecutionSettings, FunctionChoiceType], None
    ]:
        return update_settings_from_function_call_configuration

    def _reset_function_choice_settings(self, settings: PromptExecutionSettings) -> None:
        if isinstance(settings, OpenAIChatPromptExecutionSettings):
            settings.tool_choice = None
            settings.tools = None

    async def _message(self, history: ChatHistory, settings: PromptExecutionSettings) -> Any:
        tools = getattr(settings, "tools", None) or []
        move = await self.next_move(history, frozenset(t["function"]["name"] for t in tools))
        if isinstance(move, Reply):
            return {"content": move.text, "finish_reason": FinishReason.STOP}
        call = FunctionCallContent(
            id="call_0", index=0, name=move.function, arguments=json.dumps(move.arguments)
        )
        return {"items": [call], "finish_reason": FinishReason.TOOL_CALLS}

    async def _inner_get_chat_message_contents(
        self, chat_history: ChatHistory, settings: PromptExecutionSettings
    ) -> list[ChatMessageContent]:
        message = await self._message(chat_history, settings)
        return [ChatMessageContent(role=AuthorRole.ASSISTANT, **message)]

    async def _inner_get_streaming_chat_message_contents(
        self,
        chat_history: ChatHistory,
        settings: PromptExecutionSettings,
        function_invoke_attempt: int = 0,
    ) -> AsyncGenerator[list[StreamingChatMessageContent], Any]:
        message = await self._message(chat_history, settings)
        yield [
            StreamingChatMessageContent(
                role=AuthorRole.ASSISTANT,
                choice_index=0,
                function_invoke_attempt=function_invoke_attempt,
                **message,
            )
        ]


class RulesRouterChat(ComputedToolCaller):
    """The store agent's offline "model": the rules above, as tool calls and answers."""

    named_in_question: NamedInQuestion

    async def next_move(self, history: ChatHistory, offered: frozenset[str]) -> Call | Reply:
        last = history.messages[-1]
        results = [item for item in last.items if isinstance(item, FunctionResultContent)]
        if results:
            return Reply(answer(results[-1].function_name, str(results[-1].result)))
        question = next(
            (m.content for m in reversed(history.messages) if m.role == AuthorRole.USER), ""
        )
        title, category = await self.named_in_question(question)
        move = route(question, title, category, offered)
        if isinstance(move, Call) and move.function not in offered:
            return Reply("I cannot look that up right now.")
        return move
