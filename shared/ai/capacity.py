"""How many model calls run at once, how long a request waits for one, and whether the model
answers at all.

The limit is on model calls, not on AI requests: the chat service every feature uses is wrapped
(`MeteredChat`), so a slot is held exactly while a call talks to the model, and an answer that
comes from the database alone (most of the store assistant's) never waits for one. A call waits
for a slot and then for the model's first text within AI_WAIT_TIMEOUT_S altogether; past it the
request gets 503 + Retry-After rather than hanging behind a model that is frozen or overloaded.
Every chunk the model sends is a sign of life that `/ready` reads (`ModelHealth`).
"""

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator
from contextlib import aclosing, asynccontextmanager, contextmanager
from contextvars import ContextVar
from typing import Any

from pydantic import ConfigDict
from semantic_kernel.connectors.ai.chat_completion_client_base import ChatCompletionClientBase
from semantic_kernel.connectors.ai.prompt_execution_settings import PromptExecutionSettings
from semantic_kernel.contents import ChatHistory, ChatMessageContent, StreamingChatMessageContent

from shared.ai.quota import TokenMeter, current_quota
from shared.http.errors import Problem, ServiceUnavailableError
from shared.observability.telemetry import ModelCall

# The tasks of one run (an assistant's orchestration) that are in a model call, so that ending
# the run can cancel them: Semantic Kernel's runtime does not interrupt a message being handled,
# and has no public handle on its handlers' tasks. Set by the run; its tasks inherit it.
model_call_tasks: ContextVar[set[asyncio.Task[Any]] | None] = ContextVar(
    "model_call_tasks", default=None
)


@contextmanager
def _in_model_call() -> Iterator[None]:
    tasks, task = model_call_tasks.get(), asyncio.current_task()
    if tasks is None or task is None:
        yield
        return
    tasks.add(task)
    try:
        yield
    finally:
        tasks.discard(task)


class AIBusyError(ServiceUnavailableError):
    """No model slot within AI_WAIT_TIMEOUT_S."""

    default_problem = Problem("model-busy", 503, "The model is busy")


class ModelTooSlowError(ServiceUnavailableError):
    """The model did not start answering within AI_WAIT_TIMEOUT_S (frozen or overloaded)."""

    default_problem = Problem("model-too-slow", 503, "The model did not start answering")


class AISlots:
    """At most `limit` model calls at once; the next ones wait in arrival order (asyncio's
    semaphore queues its waiters first come, first served), each for a bounded time: a model
    answers one request at a time, so a long queue only grows into timeouts."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_use = 0
        self._slots = asyncio.Semaphore(limit)
        self.last_sign_of_life: float | None = None  # monotonic time of the model's last chunk

    @asynccontextmanager
    async def hold(self, deadline: float) -> AsyncIterator[None]:
        """A slot until the block ends; AIBusyError when none is free by `deadline` (the loop's
        clock)."""
        try:
            async with asyncio.timeout_at(deadline):
                await self._slots.acquire()
        except TimeoutError:
            raise AIBusyError(
                f"The assistant is busy ({self.limit} answers in progress); please retry shortly."
            ) from None
        self.in_use += 1
        try:
            yield
        finally:
            self.in_use -= 1
            self._slots.release()


class MeteredChat(ChatCompletionClientBase):
    """The app's chat service wrapped in its slots: each call holds a slot while it talks to
    the model, and gets its first text within `wait_s` of asking (slot wait included)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: ChatCompletionClientBase
    slots: AISlots
    wait_s: float

    def get_prompt_execution_settings_class(self) -> type[PromptExecutionSettings]:
        return self.inner.get_prompt_execution_settings_class()

    def _deadline(self) -> float:
        return asyncio.get_running_loop().time() + self.wait_s

    def _too_slow(self) -> ModelTooSlowError:
        return ModelTooSlowError(
            f"The language model did not start answering within {self.wait_s:g} s; please "
            "retry shortly."
        )

    async def get_chat_message_contents(
        self, chat_history: ChatHistory, settings: PromptExecutionSettings, **kwargs: Any
    ) -> list[ChatMessageContent]:
        # Not streamed: the whole answer is its first text, so it must be complete in time.
        with _in_model_call():
            return await self._contents(chat_history, settings, **kwargs)

    async def _contents(
        self, chat_history: ChatHistory, settings: PromptExecutionSettings, **kwargs: Any
    ) -> list[ChatMessageContent]:
        async with _client_quota() as meter:
            deadline = self._deadline()
            call = ModelCall()  # metrics: slot wait, time to first token, tokens, errors
            async with self._slot(deadline, call):
                try:
                    async with asyncio.timeout_at(deadline):
                        messages = await self.inner.get_chat_message_contents(
                            chat_history, settings, **kwargs
                        )
                except TimeoutError:
                    call.failed("timeout")
                    raise self._too_slow() from None
                except Exception:
                    call.failed("unavailable")
                    raise
            self.slots.last_sign_of_life = time.monotonic()
            meter.count(messages)
            call.saw(messages)
            call.ended()
        return messages

    @asynccontextmanager
    async def _slot(self, deadline: float, call: ModelCall) -> AsyncIterator[None]:
        try:
            async with self.slots.hold(deadline):
                call.slot_taken()
                yield
        except AIBusyError:
            if not call.slotted:
                call.no_slot()
            raise

    async def get_streaming_chat_message_contents(
        self, chat_history: ChatHistory, settings: PromptExecutionSettings, **kwargs: Any
    ) -> AsyncGenerator[list[StreamingChatMessageContent], Any]:
        # Closed with this generator (a consumer that stops early), not left to the collector:
        # it holds a model slot until it ends.
        with _in_model_call():
            async with aclosing(self._streamed(chat_history, settings, **kwargs)) as streamed:
                async for messages in streamed:
                    yield messages

    async def _streamed(
        self, chat_history: ChatHistory, settings: PromptExecutionSettings, **kwargs: Any
    ) -> AsyncGenerator[list[StreamingChatMessageContent], Any]:
        async with _client_quota() as meter:
            deadline = self._deadline()
            call = ModelCall()  # metrics: slot wait, time to first token, tokens, errors
            async with self._slot(deadline, call):
                stream = self.inner.get_streaming_chat_message_contents(
                    chat_history, settings, **kwargs
                )
                outcome = "cancelled"  # until it ends otherwise (a client gone: GeneratorExit)
                try:
                    try:
                        async with asyncio.timeout_at(deadline):
                            first = await anext(stream)
                    except TimeoutError:
                        outcome = "timeout"
                        call.failed(outcome)
                        raise self._too_slow() from None
                    except StopAsyncIteration:
                        outcome = "ok"
                        return
                    self.slots.last_sign_of_life = time.monotonic()
                    meter.count(first)
                    call.saw(first)
                    yield first
                    async for messages in stream:
                        self.slots.last_sign_of_life = time.monotonic()
                        meter.count(messages)
                        call.saw(messages)
                        yield messages
                    outcome = "ok"
                except Exception:
                    if outcome == "cancelled":
                        outcome = "unavailable"
                        call.failed(outcome)
                    raise
                finally:
                    await stream.aclose()
                    if outcome in ("ok", "cancelled"):
                        call.ended(outcome)


@asynccontextmanager
async def _client_quota() -> AsyncIterator[TokenMeter]:
    """The requesting client's quota for one model call (quota.py); outside a request (the
    health probe), none."""
    quota = current_quota.get()
    if quota is None:
        yield TokenMeter()
        return
    async with quota.model_call() as meter:
        yield meter


# /ready's model check: a token within this long, its result kept this long.
PROBE_TIMEOUT_S = 5.0
PROBE_CACHE_S = 5.0


class ModelHealth:
    """Whether the model answers now, for /ready: `ok` when it sent text within the last
    PROBE_CACHE_S (real answers are the cheapest probe), else one probe of a single token
    within PROBE_TIMEOUT_S, outside the slots, its result cached. A frozen or overloaded model
    is `unresponsive`; one that refuses is `unavailable`; the local server's own state
    (`restarting`) comes first."""

    def __init__(
        self,
        service: ChatCompletionClientBase,
        slots: AISlots,
        server_status: Callable[[], Awaitable[str]] | None = None,
    ) -> None:
        self._service = service
        self._slots = slots
        self._server_status = server_status
        self._last: tuple[float, str] | None = None
        self._probing: asyncio.Task[str] | None = None

    async def __call__(self) -> str:
        if self._server_status is not None and (state := await self._server_status()) != "ok":
            return state
        now = time.monotonic()
        alive = self._slots.last_sign_of_life
        if alive is not None and now - alive < PROBE_CACHE_S:
            return "ok"
        if self._last is not None and now - self._last[0] < PROBE_CACHE_S:
            return self._last[1]
        if self._probing is None or self._probing.done():  # concurrent calls share one probe
            self._probing = asyncio.ensure_future(self._probe())
        return await asyncio.shield(self._probing)

    async def _probe(self) -> str:
        history = ChatHistory()
        history.add_user_message("Say OK.")
        settings = self._service.get_prompt_execution_settings_class()(max_tokens=1)
        try:
            async with asyncio.timeout(PROBE_TIMEOUT_S):
                await self._service.get_chat_message_contents(history, settings)
            state = "ok"
        except TimeoutError:
            state = "unresponsive"
        except Exception:
            state = "unavailable"
        self._last = (time.monotonic(), state)
        return state
