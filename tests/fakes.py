"""A deterministic chat service, registered in a Semantic Kernel in place of the real one."""

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from pydantic import ConfigDict, Field
from semantic_kernel import Kernel
from semantic_kernel.connectors.ai.chat_completion_client_base import ChatCompletionClientBase
from semantic_kernel.connectors.ai.prompt_execution_settings import PromptExecutionSettings
from semantic_kernel.contents import (
    AuthorRole,
    ChatHistory,
    ChatMessageContent,
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
