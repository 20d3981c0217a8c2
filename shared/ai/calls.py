"""Instrumented LLM calls: every call logs provider, model, duration, time to first token, chunk
count, token usage (when the server reports it) and outcome. Prompts and answers are never
logged at info level.
"""

import asyncio
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

import structlog
from semantic_kernel.contents import ChatHistory
from semantic_kernel.functions import KernelArguments, KernelFunction

from shared.ai.kernel import AIRuntime
from shared.http.errors import AppError, Problem, ServiceUnavailableError
from shared.observability.telemetry import ai_feature

log = structlog.get_logger("llm")


MODEL_UNAVAILABLE = "The language model is unavailable; please retry later."


class LLMUnavailableError(ServiceUnavailableError):
    """The model could not be reached or failed. Clients get a fixed message (the upstream
    error, which may name hosts or internals, goes to the log as the cause)."""

    default_problem = Problem("model-unavailable", 503, "The language model is unavailable")

    def __init__(self, detail: str = MODEL_UNAVAILABLE) -> None:
        super().__init__(detail)


def _usage(metadata: dict[str, Any]) -> dict[str, int] | None:
    usage = metadata.get("usage")
    if usage is None:
        return None
    values = {
        "prompt_tokens": getattr(usage, "prompt_tokens", None),
        "completion_tokens": getattr(usage, "completion_tokens", None),
    }
    return {k: v for k, v in values.items() if isinstance(v, int)} or None


def _ours(exc: BaseException | None) -> AppError | None:
    """Our own error under the kernel's wrappers (KernelInvokeException ... AIBusyError, a
    quota's 429), to be said as it is."""
    while exc is not None:
        if isinstance(exc, AppError):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _root_cause(exc: BaseException) -> str:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return f"{type(exc).__name__}: {str(exc)[:200]}"


@dataclass
class _CallLog:
    ai: AIRuntime
    operation: str
    started: float = field(default_factory=time.perf_counter)
    first_token_at: float | None = None
    chunks: int = 0
    usage: dict[str, int] | None = None
    finish_reason: str | None = None

    def token(self) -> None:
        self.chunks += 1
        if self.first_token_at is None:
            self.first_token_at = time.perf_counter()

    def emit(self, outcome: str, error: str | None = None) -> None:
        now = time.perf_counter()
        log.info(
            "llm.call",
            operation=self.operation,
            provider=self.ai.provider,
            model=self.ai.model,
            outcome=outcome,
            duration_ms=round((now - self.started) * 1000, 1),
            ttft_ms=(
                round((self.first_token_at - self.started) * 1000, 1)
                if self.first_token_at is not None
                else None
            ),
            chunks=self.chunks,
            finish_reason=self.finish_reason,
            **(self.usage or {}),
            **({"error": error} if error else {}),
        )


# The end of a stream, as the pump hands it over (a failure is handed over as its exception).
_DONE = object()
# Deltas the model may run ahead of a slow client by (a few hundred bytes).
_AHEAD = 64


class ChatStream:
    """One streamed chat completion.

    `start()` waits for the first text chunk, so that a model that is down or fails at once is
    reported (503) before any response byte is sent. Then iterate for the text deltas;
    `finish_reason` and `usage` are filled in as the stream ends. `aclose()` cancels the
    upstream request (closing the connector's stream closes its HTTP response).

    One task of its own drives the model's stream from its first chunk to its end: the
    response is written by another task than the one that waited for the first chunk, and
    Semantic Kernel's diagnostics enter the call's span in a context variable that must be
    left in the task that entered it (else OpenTelemetry logs "Failed to detach context").
    """

    def __init__(self, ai: AIRuntime, history: ChatHistory, **settings: Any) -> None:
        self._ai = ai
        self._history = history
        self._settings = ai.execution_settings(**settings)
        self._call = _CallLog(ai, "chat.stream")
        self._queue: asyncio.Queue[object] = asyncio.Queue(_AHEAD)
        self._pump: asyncio.Task[None] | None = None
        self._first: str | None = None

    @property
    def finish_reason(self) -> str | None:
        return self._call.finish_reason

    @property
    def usage(self) -> dict[str, int] | None:
        return self._call.usage

    async def start(self) -> None:
        self._pump = asyncio.create_task(self._run())
        try:
            self._first = await self._next()
        except BaseException:  # the model failed, or we were cancelled (the client left)
            await self.aclose()
            raise

    async def __aiter__(self) -> AsyncIterator[str]:
        if self._first is None:
            return
        yield self._first
        while (delta := await self._next()) is not None:
            yield delta

    async def aclose(self) -> None:
        pump = self._pump
        if pump is not None and not pump.done():
            pump.cancel()
            await asyncio.gather(pump, return_exceptions=True)

    async def _run(self) -> None:
        try:
            async with aclosing(self._generate()) as deltas:
                async for delta in deltas:
                    await self._queue.put(delta)
        except Exception as exc:  # handed to the reader, who raises it
            await self._queue.put(exc)
        else:
            await self._queue.put(_DONE)

    async def _next(self) -> str | None:
        """The next delta; None at the end; the stream's error, raised."""
        item = await self._queue.get()
        if isinstance(item, Exception):
            raise item
        return None if item is _DONE else str(item)

    async def _generate(self) -> AsyncGenerator[str]:
        # The metrics' feature label (the chat service reads it): /ai/ask streams its answers
        # here, the only caller today.
        ai_feature.set("ask")
        upstream = self._ai.chat.get_streaming_chat_message_contents(
            self._history, self._settings, kernel=self._ai.kernel
        )
        outcome, error = "ok", None
        try:
            async for messages in upstream:
                for message in messages:
                    if message.finish_reason is not None:
                        self._call.finish_reason = str(message.finish_reason.value)
                    self._call.usage = _usage(message.metadata) or self._call.usage
                    text = message.content
                    if text:
                        self._call.token()
                        yield text
        except (GeneratorExit, asyncio.CancelledError):
            outcome = "cancelled"  # the client went away
            raise
        except AppError as exc:  # no slot or quota, or no first text, in time
            outcome, error = "unavailable", type(exc).__name__
            raise
        except Exception as exc:
            outcome, error = "error", _root_cause(exc)
            raise LLMUnavailableError() from exc
        finally:
            await upstream.aclose()
            self._call.emit(outcome, error)


async def invoke_function(
    ai: AIRuntime, function: KernelFunction, arguments: KernelArguments
) -> str:
    """Run a prompt function once (non-streaming) and return the model's text."""
    call = _CallLog(ai, f"function.{function.name}")
    # The metrics' feature label (the chat service reads it): film summaries are the prompt
    # functions run here today.
    feature = ai_feature.set("summary")
    try:
        result = await ai.kernel.invoke(function, arguments)
    except Exception as exc:
        call.emit("error", _root_cause(exc))
        if (ours := _ours(exc)) is not None:
            raise ours from None  # no slot or quota, or no answer in time: said as it is
        raise LLMUnavailableError() from exc
    finally:
        ai_feature.reset(feature)
    call.token()
    message = result.value[0] if result and isinstance(result.value, list) else None
    if message is not None:
        call.usage = _usage(getattr(message, "metadata", {}))
        reason = getattr(message, "finish_reason", None)
        call.finish_reason = str(reason.value) if reason is not None else None
    call.emit("ok")
    return str(result) if result is not None else ""
