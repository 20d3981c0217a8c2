"""The store assistant: a SearchAgent with database tools that hands anything else to a
GeneralAgent, run by Semantic Kernel's HandoffOrchestration.

One execution path. With a model that can call tools, the model drives both agents
(`router: llm`); with the embedded local model, which cannot, the SearchAgent's chat service is
the deterministic rules router and the GeneralAgent stays on the local model (`router: rules`).
Each request gets its own runtime and agents, stopped however the run ends.
"""

import asyncio
import time
from functools import partial
from pathlib import Path

import structlog
from semantic_kernel import Kernel
from semantic_kernel.agents import (
    ChatCompletionAgent,
    HandoffOrchestration,
    OrchestrationHandoffs,
)
from semantic_kernel.agents.orchestration.handoffs import HANDOFF_PLUGIN_NAME
from semantic_kernel.agents.runtime import InProcessRuntime
from semantic_kernel.connectors.ai.function_choice_behavior import FunctionChoiceBehavior
from semantic_kernel.contents import ChatMessageContent
from semantic_kernel.exceptions import KernelException
from semantic_kernel.functions import KernelArguments

from features.ai_handoff import query
from features.ai_handoff.dtos import HandoffAnswer
from features.ai_handoff.rules_router import RulesRouterChat
from features.ai_handoff.tools import (
    CUSTOMERS_PLUGIN,
    STORE_PLUGIN,
    CustomerTools,
    StoreTools,
    ToolRecord,
)
from shared.ai_calls import LLMUnavailableError
from shared.ai_kernel import AIRuntime
from shared.database import Database
from shared.errors import AppError, BadGatewayError, GatewayTimeoutError

log = structlog.get_logger(__name__)

SEARCH_AGENT = "SearchAgent"
GENERAL_AGENT = "GeneralAgent"
_PROMPTS = Path(__file__).parent / "prompts"
SEARCH_INSTRUCTIONS = (_PROMPTS / "search_agent.txt").read_text()
GENERAL_INSTRUCTIONS = (_PROMPTS / "general_agent.txt").read_text()
GENERAL_MAX_TOKENS = 256
# A model that is down or refuses the request (connection errors, the connectors' service
# errors): 503. Anything else raised in a run is a bug and stays one (500).
_MODEL_FAILURES = (KernelException, ConnectionError, OSError)


def _agents(
    ai: AIRuntime, db: Database, record: ToolRecord, *, staff: bool
) -> tuple[ChatCompletionAgent, ChatCompletionAgent]:
    search_kernel = Kernel()
    if ai.tool_calling:
        search_kernel.add_service(ai.chat)
    else:
        rules = RulesRouterChat(
            ai_model_id="rules-router", named_in_question=partial(query.named_in_question, db)
        )
        search_kernel.add_service(rules)
    search_kernel.add_plugin(StoreTools(db, record), plugin_name=STORE_PLUGIN)
    if staff:  # a guest's model is never offered customer data
        search_kernel.add_plugin(CustomerTools(db, record), plugin_name=CUSTOMERS_PLUGIN)
    search = ChatCompletionAgent(
        name=SEARCH_AGENT,
        description="Answers questions about the store's films, prices, availability, "
        "streaming and rentals from its database.",
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


async def _stop(runtime: InProcessRuntime) -> None:
    # A run that timed out or was abandoned is still inside a model call: the runtime's stop()
    # does not interrupt the message being handled. Stop the message loop first (no new
    # handler starts), then cancel the handlers' tasks until none is left (InProcessRuntime
    # keeps them in `_background_tasks`, with no public accessor).
    await runtime.stop()
    while tasks := list(runtime._background_tasks):
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def ask(
    ai: AIRuntime, db: Database, question: str, *, staff: bool, timeout_s: float
) -> HandoffAnswer:
    started = time.perf_counter()
    record = ToolRecord()
    replies: list[ChatMessageContent] = []  # each agent's full replies, in order

    def on_reply(message: object) -> None:
        if isinstance(message, ChatMessageContent):
            replies.append(message)

    search, general = _agents(ai, db, record, staff=staff)
    orchestration: HandoffOrchestration[str, ChatMessageContent] = HandoffOrchestration(
        members=[search, general],
        handoffs=OrchestrationHandoffs().add(
            search, general, description="Transfer any question that is not about the store."
        ),
        agent_response_callback=on_reply,
    )
    router = "llm" if ai.tool_calling else "rules"
    outcome = "error"
    runtime = InProcessRuntime()
    runtime.start()
    try:
        result = await orchestration.invoke(task=question, runtime=runtime)
        try:
            await result.get(timeout=timeout_s)
        except TimeoutError:
            if result.event.is_set():  # a TimeoutError raised inside the run: not ours
                raise
            result.cancel()
            outcome = "timeout"
            raise GatewayTimeoutError(
                f"The assistant did not answer within {timeout_s:g} s; please retry."
            ) from None
        except AppError:
            raise
        except _MODEL_FAILURES as exc:
            outcome = "model_unavailable"
            raise LLMUnavailableError() from exc
        texts = [m for m in replies if (m.content or "").strip()]
        if not texts:
            outcome = "empty"
            raise BadGatewayError("The assistant's model returned an empty answer; please retry.")
        last = texts[-1]
        outcome = "ok"
        return HandoffAnswer(
            agent="search" if last.name == SEARCH_AGENT else "general",
            answer=last.content.strip(),
            tool_calls=record.calls,
            films=list(record.films.values()),
            router=router,
        )
    except asyncio.CancelledError:
        outcome = "cancelled"  # the client went away
        raise
    finally:
        await _stop(runtime)
        answered_by = replies[-1].name if replies else None
        log.info(
            "handoff.run",
            router=router,
            agent=answered_by,
            tools=[call.name for call in record.calls] or None,
            failed_tools=[call.name for call in record.calls if not call.ok] or None,
            outcome=outcome,
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
