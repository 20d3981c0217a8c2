"""The store assistant: a SearchAgent with database tools that hands anything else to a
GeneralAgent, run by Semantic Kernel's HandoffOrchestration.

One execution path. With a model that can call tools, the model drives both agents
(`router: llm`); with the embedded local model, which cannot, the SearchAgent's chat service is
the deterministic rules router and the GeneralAgent stays on the local model (`router: rules`).
Each request gets its own runtime and agents, stopped however the run ends. A run can be
streamed: the agents' text arrives as it is written (the general agent's token by token).
"""

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import structlog
from semantic_kernel import Kernel
from semantic_kernel.agents import ChatCompletionAgent, HandoffOrchestration, OrchestrationHandoffs
from semantic_kernel.agents.orchestration.handoffs import HANDOFF_PLUGIN_NAME
from semantic_kernel.agents.runtime import InProcessRuntime
from semantic_kernel.connectors.ai.function_choice_behavior import FunctionChoiceBehavior
from semantic_kernel.contents import ChatMessageContent, StreamingChatMessageContent
from semantic_kernel.exceptions import KernelException
from semantic_kernel.functions import KernelArguments

from features.ai_handoff.dtos import HandoffAnswer
from features.ai_handoff.rules_router import RulesRouterChat
from features.ai_handoff.tools import (
    CUSTOMERS_PLUGIN,
    GENERAL_AGENT,
    SEARCH_AGENT,
    STORE_PLUGIN,
    CustomerTools,
    StoreTools,
    ToolRecord,
)
from features.catalogue.understanding import Understanding, read_conversation
from shared.ai.calls import LLMUnavailableError
from shared.ai.capacity import AIBusyError, ModelTooSlowError, model_call_tasks
from shared.ai.conversation import Turn, as_messages
from shared.ai.kernel import AIRuntime
from shared.database import Database, DatabaseUnavailableError
from shared.http.errors import AppError, BadGatewayError, GatewayTimeoutError
from shared.observability.telemetry import (
    ai_bad_output,
    ai_feature,
    assistant_answers,
    assistant_tool_calls,
)

log = structlog.get_logger(__name__)

_PROMPTS = Path(__file__).parent / "prompts"
SEARCH_INSTRUCTIONS = (_PROMPTS / "search_agent.txt").read_text()
GENERAL_INSTRUCTIONS = (_PROMPTS / "general_agent.txt").read_text()
GENERAL_MAX_TOKENS = 256
# A model that is down or refuses the request (connection errors, the connectors' service
# errors): 503. Anything else raised in a run is a bug and stays one (500).
_MODEL_FAILURES = (KernelException, ConnectionError, OSError)
# How long the runtime's cancelled handlers get to unwind.
_STOP_WAIT_S = 2.0


def _agents(
    ai: AIRuntime, db: Database, record: ToolRecord, *, staff: bool
) -> tuple[ChatCompletionAgent, ChatCompletionAgent]:
    search_kernel = Kernel()
    if ai.tool_calling:
        search_kernel.add_service(ai.chat)
    else:

        async def read_question(earlier: list[tuple[str, str]], question: str) -> Understanding:
            understood = await read_conversation(db, earlier, question, staff=staff)
            record.intent = understood.intent
            return understood

        search_kernel.add_service(
            RulesRouterChat(ai_model_id="rules-router", read_question=read_question)
        )
    search_kernel.add_plugin(StoreTools(db, record), plugin_name=STORE_PLUGIN)
    if staff:  # a guest's model is never offered customer data
        search_kernel.add_plugin(CustomerTools(db, record), plugin_name=CUSTOMERS_PLUGIN)
    search = ChatCompletionAgent(
        name=SEARCH_AGENT,
        description="Answers questions about the store's films (price, copies, story, cast, "
        "length, rating, features, language), its stores, staff and totals, and its rental "
        "terms; finds films by category, rating, actor, price, length or topic; and looks up "
        "rentals, from its database.",
        instructions=SEARCH_INSTRUCTIONS,
        kernel=search_kernel,
        # It answers or hands off; "complete_task" would end a run without an answer.
        function_choice_behavior=FunctionChoiceBehavior.Auto(
            filters={"excluded_functions": [f"{HANDOFF_PLUGIN_NAME}-complete_task"]}
        ),
    )
    general_kernel = Kernel()
    general_kernel.add_service(ai.chat)
    general = ChatCompletionAgent(
        name=GENERAL_AGENT,
        description="Answers general questions that are not about the store.",
        instructions=GENERAL_INSTRUCTIONS,
        kernel=general_kernel,
        arguments=KernelArguments(settings=ai.execution_settings(max_tokens=GENERAL_MAX_TOKENS)),
        # No tools (the local model cannot take them): it answers, and the run ends.
        function_choice_behavior=FunctionChoiceBehavior.Auto(
            filters={"excluded_plugins": [HANDOFF_PLUGIN_NAME]}
        ),
    )
    return search, general


# Runtimes still stopping after their run has ended (held so that they are not collected).
_STOPPING: set[asyncio.Task[None]] = set()


async def _stop(runtime: InProcessRuntime, in_model_calls: set[asyncio.Task[Any]]) -> None:
    """Ends the run's runtime, in time, and never raises. A run that timed out or was
    abandoned is still inside a model call, which the runtime does not interrupt: those calls
    are cancelled first (each handler registers its task while in one: shared/ai/capacity.py's
    model_call_tasks), then the runtime finishes what is queued and stops (its public
    `stop_when_idle`, which keeps its queue's count right). One that is still busy past the
    deadline (a handler waiting on something else) finishes stopping on its own."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _STOP_WAIT_S
    calls = [task for task in in_model_calls if not task.done()]
    for task in calls:
        task.cancel()
    if calls:
        await asyncio.wait(calls, timeout=_STOP_WAIT_S)
    stopping = asyncio.ensure_future(runtime.stop_when_idle())
    await asyncio.wait({stopping}, timeout=max(0.0, deadline - loop.time()))
    if not stopping.done():  # never cancelled: that would leave its message loop running
        log.warning("handoff.runtime_stopping_late")
        _STOPPING.add(stopping)
        stopping.add_done_callback(_stopped_late)
    elif not stopping.cancelled() and (error := stopping.exception()) is not None:
        log.warning("handoff.runtime_stop_failed", error=type(error).__name__)


def _stopped_late(task: asyncio.Task[None]) -> None:
    _STOPPING.discard(task)
    if not task.cancelled() and task.exception() is not None:  # retrieved: not reported again
        log.warning("handoff.runtime_stop_failed", error=type(task.exception()).__name__)


def _outcome(exc: BaseException | None) -> str:
    """The run's outcome for the log line, from how it ended."""
    if exc is None:
        return "ok"
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        return "cancelled"  # the client went away
    if isinstance(exc, GatewayTimeoutError):
        return "timeout"
    if isinstance(exc, LLMUnavailableError):
        return "model_unavailable"
    if isinstance(exc, AIBusyError):
        return "busy"
    if isinstance(exc, ModelTooSlowError):
        return "model_too_slow"
    if isinstance(exc, DatabaseUnavailableError):
        return "database_unavailable"
    if isinstance(exc, BadGatewayError):
        return "empty"
    return "error"


class HandoffRun:
    """One question, after the conversation's earlier turns, through the orchestration.
    `start()` runs it until its first text (or its end), so that a model that is down is a 503
    before any response byte; then `deltas()` streams the agents' text, and `answer()` is the
    final answer. `aclose()` ends the run however far it got, and logs it (once)."""

    def __init__(
        self,
        ai: AIRuntime,
        db: Database,
        question: str,
        *,
        history: list[Turn],
        staff: bool,
        timeout_s: float,
    ) -> None:
        # The earlier turns go to both agents as chat history (the orchestration's messages).
        self._messages = as_messages(history, question)
        self._timeout_s = timeout_s
        self._record = ToolRecord()
        self._replies: list[ChatMessageContent] = []  # each agent's full replies, in order
        self._deltas: asyncio.Queue[str] = asyncio.Queue()
        self._head: str | None = None  # the first text, taken by start()
        self._router = "llm" if ai.tool_calling else "rules"
        search, general = _agents(ai, db, self._record, staff=staff)
        self._orchestration: HandoffOrchestration[str, ChatMessageContent] = HandoffOrchestration(
            members=[search, general],
            handoffs=OrchestrationHandoffs().add(
                search, general, description="Transfer any question that is not about the store."
            ),
            agent_response_callback=self._on_reply,
            streaming_agent_response_callback=self._on_delta,
        )
        self._runtime = InProcessRuntime()
        self._in_model_calls: set[asyncio.Task[Any]] = set()
        self._runtime_started = False
        self._started = time.perf_counter()
        self._task: asyncio.Task[HandoffAnswer] | None = None
        self._closing: asyncio.Future[None] | None = None

    def _on_reply(self, message: ChatMessageContent | list[ChatMessageContent]) -> None:
        self._replies += message if isinstance(message, list) else [message]

    def _on_delta(self, message: StreamingChatMessageContent, is_final: bool) -> None:
        if message.content:
            self._deltas.put_nowait(message.content)

    async def _run(self) -> HandoffAnswer:
        model_call_tasks.set(self._in_model_calls)  # the runtime's tasks inherit it
        self._runtime.start()
        self._runtime_started = True
        result = await self._orchestration.invoke(task=self._messages, runtime=self._runtime)
        try:
            await result.get(timeout=self._timeout_s)
        except TimeoutError as exc:
            if result.event.is_set():  # raised inside the run: a model call that timed out
                raise LLMUnavailableError() from exc
            result.cancel()
            raise GatewayTimeoutError(
                f"The assistant did not answer within {self._timeout_s:g} s; please retry."
            ) from None
        except AppError:
            raise
        except _MODEL_FAILURES as exc:
            raise LLMUnavailableError() from exc
        texts = [m for m in self._replies if (m.content or "").strip()]
        if not texts:
            raise BadGatewayError("The assistant's model returned an empty answer; please retry.")
        last = texts[-1]
        return HandoffAnswer(
            agent="search" if last.name == SEARCH_AGENT else "general",
            answer=last.content.strip(),
            tool_calls=self._record.calls,
            films=list(self._record.films.values()),
            router=self._router,
        )

    async def start(self) -> None:
        ai_feature.set("assistant")  # the model calls' metrics label, inherited by the run
        self._task = asyncio.create_task(self._run())
        first = asyncio.create_task(self._deltas.get())
        try:
            await asyncio.wait({self._task, first}, return_when=asyncio.FIRST_COMPLETED)
        except BaseException as exc:
            await self.aclose(exc)
            raise
        finally:
            if first.done() and not first.cancelled():
                self._head = first.result()
            first.cancel()
        if self._task.done() and self._task.exception() is not None:
            error = self._task.exception()
            assert error is not None
            await self.aclose(error)
            raise error

    async def deltas(self) -> AsyncIterator[str]:
        """The agents' text as it is written, until the run ends."""
        assert self._task is not None
        if self._head is not None:
            yield self._head
        while True:
            if not self._deltas.empty():
                yield self._deltas.get_nowait()
                continue
            if self._task.done():
                return
            getter = asyncio.create_task(self._deltas.get())
            try:
                await asyncio.wait({self._task, getter}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                if not getter.done():
                    getter.cancel()
            if getter.done() and not getter.cancelled():
                yield getter.result()

    async def answer_once(self) -> None:
        """Start the run and wait for its end (not its first text): what a JSON answer needs
        before `answer()`."""
        await self.start()
        assert self._task is not None
        await asyncio.wait({self._task})

    async def answer(self) -> HandoffAnswer:
        """The final answer; raises what ended the run (503, 504, 502) instead."""
        assert self._task is not None
        try:
            answer = await self._task
        except BaseException as exc:
            await self.aclose(exc)
            raise
        await self.aclose()
        return answer

    async def aclose(self, exc: BaseException | None = None) -> None:
        """End the run and log it, once. The first call starts the clean-up as a task of its
        own, so that a caller cancelled meanwhile (a client gone during it) cannot cut it short;
        every call waits for it."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close(exc))
        await asyncio.shield(self._closing)

    async def _close(self, exc: BaseException | None) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            exc = exc or asyncio.CancelledError()
        if self._runtime_started:  # not when the run was cancelled before it began
            await _stop(self._runtime, self._in_model_calls)
        answered_by = self._replies[-1].name if self._replies else None
        outcome = _outcome(exc)
        assistant_answers.add(
            1,
            {
                "router": self._router,
                "intent": self._record.intent or "none",  # one of the intents' names
                "agent": answered_by or "none",
                "outcome": outcome,
            },
        )
        for call in self._record.calls:
            assistant_tool_calls.add(
                1, {"tool": call.name, "outcome": "ok" if call.ok else "failed"}
            )
        if outcome == "empty":
            ai_bad_output("assistant")
        log.info(
            "handoff.run",
            router=self._router,
            agent=answered_by,
            tools=[call.name for call in self._record.calls] or None,
            failed_tools=[call.name for call in self._record.calls if not call.ok] or None,
            outcome=_outcome(exc),
            duration_ms=round((time.perf_counter() - self._started) * 1000, 1),
        )
