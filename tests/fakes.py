"""Deterministic chat services, registered in a Semantic Kernel in place of the real one."""

import asyncio
import json
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import ConfigDict, Field
from semantic_kernel import Kernel
from semantic_kernel.connectors.ai.chat_completion_client_base import ChatCompletionClientBase
from semantic_kernel.connectors.ai.function_calling_utils import (
    update_settings_from_function_call_configuration,
)
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

from shared.ai_kernel import AIRuntime


class FakeChat(ChatCompletionClientBase):
    """Streams `chunks` (forever, if `endless`), or answers from `replies` in order.

    `fail_before_first` / `fail_after` make it fail like a model that is down or crashes;
    `gate` (an event) holds the stream after the first chunk until the test opens it;
    `closed` is set when the upstream generator is closed, however that happens."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    chunks: list[str] = Field(default_factory=list)
    replies: list[str] = Field(default_factory=list)
    endless: bool = False
    chunk_delay_s: float = 0.0
    fail_before_first: bool = False
    fail_after: int | None = None
    gate: asyncio.Event | None = None
    closed: asyncio.Event = Field(default_factory=asyncio.Event)
    yielded: int = 0
    requests: list[tuple[ChatHistory, PromptExecutionSettings]] = Field(default_factory=list)

    async def _inner_get_chat_message_contents(
        self, chat_history: ChatHistory, settings: PromptExecutionSettings
    ) -> list[ChatMessageContent]:
        self.requests.append((chat_history, settings))
        if self.fail_before_first:
            raise ConnectionError("fake model is down")
        reply = self.replies.pop(0)
        return [
            ChatMessageContent(
                role=AuthorRole.ASSISTANT, content=reply, finish_reason=FinishReason.STOP
            )
        ]

    async def _inner_get_streaming_chat_message_contents(
        self,
        chat_history: ChatHistory,
        settings: PromptExecutionSettings,
        function_invoke_attempt: int = 0,
    ) -> AsyncGenerator[list[StreamingChatMessageContent], Any]:
        self.requests.append((chat_history, settings))
        try:
            if self.fail_before_first:
                raise ConnectionError("fake model is down")
            index = 0
            while index < len(self.chunks) or self.endless:
                if self.fail_after is not None and index == self.fail_after:
                    raise RuntimeError("fake model crashed")
                if index == 1 and self.gate is not None:
                    await self.gate.wait()
                await asyncio.sleep(self.chunk_delay_s)
                self.yielded += 1
                yield [self._chunk(self.chunks[index % len(self.chunks)])]
                index += 1
            yield [self._chunk("", FinishReason.STOP)]
        finally:
            self.closed.set()

    def _chunk(self, text: str, finish: FinishReason | None = None) -> StreamingChatMessageContent:
        return StreamingChatMessageContent(
            role=AuthorRole.ASSISTANT, content=text, choice_index=0, finish_reason=finish
        )


def fake_runtime(chat: FakeChat, provider: str = "openai") -> AIRuntime:
    kernel = Kernel()
    kernel.add_service(chat)
    return AIRuntime(kernel=kernel, provider=provider, model="fake")  # type: ignore[arg-type]


@dataclass(frozen=True)
class CallTool:
    function: str  # "Plugin-function"
    arguments: dict[str, Any] = field(default_factory=dict)


# A tool-calling model's move: a tool call, or text (None: the model stalls until cancelled).
Move = CallTool | str | None
# Decides the next move from the conversation so far and the names of the tools offered.
Plan = Callable[[ChatHistory, frozenset[str]], Move]


class ToolCallingFake(ChatCompletionClientBase):
    """A model that calls tools: declares function calling, so Semantic Kernel offers it the
    agent's functions and runs the calls it streams. `plan` decides each move; every request's
    offered tool names are recorded in `offered`; `fail` makes it fail like a model that is
    down; a stalled move sets `stalled` and waits until cancelled, then sets `cancelled`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    SUPPORTS_FUNCTION_CALLING: ClassVar[bool] = True

    plan: Plan
    fail: bool = False
    offered: list[frozenset[str]] = Field(default_factory=list)
    stalled: asyncio.Event = Field(default_factory=asyncio.Event)
    cancelled: asyncio.Event = Field(default_factory=asyncio.Event)

    def get_prompt_execution_settings_class(self) -> type[PromptExecutionSettings]:
        return OpenAIChatPromptExecutionSettings

    def _update_function_choice_settings_callback(self) -> Any:
        return update_settings_from_function_call_configuration

    def _reset_function_choice_settings(self, settings: PromptExecutionSettings) -> None:
        if isinstance(settings, OpenAIChatPromptExecutionSettings):
            settings.tool_choice = None
            settings.tools = None

    async def _move(self, chat_history: ChatHistory, settings: PromptExecutionSettings) -> Move:
        tools = getattr(settings, "tools", None) or []
        offered = frozenset(tool["function"]["name"] for tool in tools)
        self.offered.append(offered)
        if self.fail:
            raise ConnectionError("fake model is down")
        move = self.plan(chat_history, offered)
        if move is None:
            self.stalled.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
        return move

    async def _inner_get_chat_message_contents(
        self, chat_history: ChatHistory, settings: PromptExecutionSettings
    ) -> list[ChatMessageContent]:
        raise NotImplementedError("agents stream")

    async def _inner_get_streaming_chat_message_contents(
        self,
        chat_history: ChatHistory,
        settings: PromptExecutionSettings,
        function_invoke_attempt: int = 0,
    ) -> AsyncGenerator[list[StreamingChatMessageContent], Any]:
        move = await self._move(chat_history, settings)
        if isinstance(move, CallTool):
            call = FunctionCallContent(
                id=f"call_{len(self.offered)}",
                index=0,
                name=move.function,
                arguments=json.dumps(move.arguments),
            )
            items: dict[str, Any] = {"items": [call], "finish_reason": FinishReason.TOOL_CALLS}
        else:
            items = {"content": move or "", "finish_reason": FinishReason.STOP}
        yield [
            StreamingChatMessageContent(
                role=AuthorRole.ASSISTANT,
                choice_index=0,
                function_invoke_attempt=function_invoke_attempt,
                **items,
            )
        ]


def last_tool_result(history: ChatHistory) -> dict[str, Any] | None:
    """The JSON result of the tool call that ends `history`, if it ends with one."""
    for item in history.messages[-1].items:
        if isinstance(item, FunctionResultContent):
            result: dict[str, Any] = json.loads(str(item.result))
            return result
    return None


def tool_runtime(chat: ToolCallingFake) -> AIRuntime:
    kernel = Kernel()
    kernel.add_service(chat)
    return AIRuntime(kernel=kernel, provider="openai", model="fake", tool_calling=True)
