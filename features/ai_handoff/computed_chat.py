"""A chat service whose every move is computed, not generated: a tool call or a text.

Semantic Kernel offers a chat service that declares function calling the agent's functions (as
OpenAI tool definitions) and runs the calls it makes, so a deterministic router (offline) and a
test's scripted model drive the very same orchestration as a real tool-calling model.

The methods overridden below (`_inner_get_chat_message_contents`, its streaming twin and the
function-choice callbacks) are the hooks `ChatCompletionClientBase` declares for a chat
connector to implement, the ones each of Semantic Kernel's own connectors implements: its
subclassing contract, not another object's internals.
"""

import json
from collections.abc import AsyncGenerator, Callable
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
    StreamingChatMessageContent,
)
from semantic_kernel.contents.utils.finish_reason import FinishReason


@dataclass(frozen=True)
class Call:
    """A tool call: `function` is `Plugin-function`."""

    function: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class Reply:
    text: str


class ComputedToolCaller(ChatCompletionClientBase):
    """Subclasses decide `next_move` from the history and the functions offered."""

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
