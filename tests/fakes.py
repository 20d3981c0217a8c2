"""Deterministic chat services, registered in a Semantic Kernel in place of the real one."""

import asyncio
import json
from collections.abc import AsyncGenerator, Callable
from typing import Any

from pydantic import ConfigDict, Field
from semantic_kernel.connectors.ai.chat_completion_client_base import ChatCompletionClientBase
from semantic_kernel.connectors.ai.completion_usage import CompletionUsage
from semantic_kernel.connectors.ai.prompt_execution_settings import PromptExecutionSettings
from semantic_kernel.contents import (
    AuthorRole,
    ChatHistory,
    ChatMessageContent,
    FunctionResultContent,
    StreamingChatMessageContent,
)
from semantic_kernel.contents.utils.finish_reason import FinishReason

from features.ai_handoff.computed_chat import Call, ComputedToolCaller, Reply
from shared.ai.capacity import AISlots
from shared.ai.kernel import AIRuntime, metered_runtime


class FakeChat(ChatCompletionClientBase):
    """Streams `chunks` (forever, if `endless`), or answers from `replies` in order.

    `fail_before_first` / `fail_after` make it fail like a model that is down or crashes;
    `gate` (an event) holds the stream after `gate_at` chunks (default 1) until the test opens it;
    `closed` is set when the upstream generator is closed, however that happens."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    chunks: list[str] = Field(default_factory=list)
    replies: list[str] = Field(default_factory=list)
    reply_always: str | None = None  # answers every (non-streamed) request once `replies` is empty
    endless: bool = False
    chunk_delay_s: float = 0.0
    fail_before_first: bool = False
    fail_after: int | None = None
    gate: asyncio.Event | None = None
    gate_at: int = 1
    closed: asyncio.Event = Field(default_factory=asyncio.Event)
    yielded: int = 0
    requests: list[tuple[ChatHistory, PromptExecutionSettings]] = Field(default_factory=list)
    # The tokens each answer reports having used, as a provider does (on a stream's last chunk).
    usage: CompletionUsage | None = None

    async def _inner_get_chat_message_contents(
        self, chat_history: ChatHistory, settings: PromptExecutionSettings
    ) -> list[ChatMessageContent]:
        self.requests.append((chat_history, settings))
        if self.fail_before_first:
            raise ConnectionError("fake model is down")
        reply = (
            self.replies.pop(0) if self.replies or self.reply_always is None else self.reply_always
        )
        return [
            ChatMessageContent(
                role=AuthorRole.ASSISTANT,
                content=reply,
                finish_reason=FinishReason.STOP,
                metadata=self._usage(),
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
                if index == self.gate_at and self.gate is not None:
                    await self.gate.wait()
                await asyncio.sleep(self.chunk_delay_s)
                self.yielded += 1
                yield [self._chunk(self.chunks[index % len(self.chunks)])]
                index += 1
            yield [self._chunk("", FinishReason.STOP, self._usage())]
        finally:
            self.closed.set()

    def _usage(self) -> dict[str, Any]:
        return {"usage": self.usage} if self.usage is not None else {}

    def _chunk(
        self, text: str, finish: FinishReason | None = None, metadata: dict[str, Any] | None = None
    ) -> StreamingChatMessageContent:
        return StreamingChatMessageContent(
            role=AuthorRole.ASSISTANT,
            content=text,
            choice_index=0,
            finish_reason=finish,
            metadata=metadata or {},
        )


def fake_runtime(
    chat: ChatCompletionClientBase,
    slots: AISlots,
    provider: str = "openai",
    wait_s: float = 30.0,
    tool_calling: bool = False,
) -> AIRuntime:
    """The app's runtime around a fake, built as the app builds its own: behind its slots."""
    return metered_runtime(
        chat,
        slots,
        wait_s,
        provider=provider,  # type: ignore[arg-type]
        model="fake",
        tool_calling=tool_calling,
    )


# A tool-calling model's move: a tool call, a text, or None: it stalls until cancelled.
Move = Call | str | None
# Decides the next move from the conversation so far and the names of the tools offered.
Plan = Callable[[ChatHistory, frozenset[str]], Move]


class ToolCallingFake(ComputedToolCaller):
    """A model that calls tools (the same plumbing as the offline router): `plan` decides each
    move; every request's offered tool names are recorded in `offered`; `fail` makes it fail
    like a model that is down; a stalled move sets `stalled` and waits until cancelled, then
    sets `cancelled`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    plan: Plan
    fail: bool = False
    offered: list[frozenset[str]] = Field(default_factory=list)
    stalled: asyncio.Event = Field(default_factory=asyncio.Event)
    cancelled: asyncio.Event = Field(default_factory=asyncio.Event)

    async def next_move(self, history: ChatHistory, offered: frozenset[str]) -> Call | Reply:
        self.offered.append(offered)
        if self.fail:
            raise ConnectionError("fake model is down")
        move = self.plan(history, offered)
        if move is None:
            self.stalled.set()
            try:
                await asyncio.Event().wait()  # never set: only cancellation ends it
            except asyncio.CancelledError:
                self.cancelled.set()
                raise
            raise AssertionError("unreachable")
        return Reply(move) if isinstance(move, str) else move


def last_tool_result(history: ChatHistory) -> dict[str, Any] | None:
    """The JSON result of the tool call that ends `history`, if it ends with one."""
    for item in history.messages[-1].items:
        if isinstance(item, FunctionResultContent):
            result: dict[str, Any] = json.loads(str(item.result))
            return result
    return None


def tool_runtime(chat: ToolCallingFake, slots: AISlots) -> AIRuntime:
    return fake_runtime(chat, slots, tool_calling=True)
