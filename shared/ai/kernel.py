"""The Semantic Kernel factory: one Kernel with one chat service, chosen by settings.

Provider quirks live here, not in features: features ask for "JSON matching this model" and get
the response format the provider understands (strict `json_schema` for OpenAI, Azure and
compatible servers; `json_object` + schema for the local llama.cpp server, which rejects
`json_schema` but enforces the schema by grammar).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx2
from fastapi import Request
from openai import AsyncAzureOpenAI, AsyncOpenAI
from pydantic import BaseModel
from semantic_kernel import Kernel
from semantic_kernel.connectors.ai.chat_completion_client_base import ChatCompletionClientBase
from semantic_kernel.connectors.ai.open_ai import AzureChatCompletion, OpenAIChatCompletion
from semantic_kernel.connectors.ai.prompt_execution_settings import PromptExecutionSettings

from shared.ai.capacity import AISlots, MeteredChat, ModelHealth
from shared.settings import LLMProvider, Settings


class ModelServer(Protocol):
    """A model server the app runs itself (devenv's local one)."""

    @property
    def base_url(self) -> str: ...
    @property
    def model_id(self) -> str: ...
    async def status(self) -> str: ...


@dataclass(frozen=True)
class AIRuntime:
    kernel: Kernel
    provider: LLMProvider
    model: str
    tool_calling: bool = False  # the model can be offered tools (function calling)
    # Whether the model answers (`ok`, `restarting`, `unresponsive`, ...), for /ready; None:
    # not checked (a hosted model: a probe would cost money).
    health: Callable[[], Awaitable[str]] | None = None

    @property
    def chat(self) -> ChatCompletionClientBase:
        service = self.kernel.get_service(type=ChatCompletionClientBase)
        assert isinstance(service, ChatCompletionClientBase)
        return service

    def execution_settings(
        self,
        *,
        base: PromptExecutionSettings | None = None,
        json_model: type[BaseModel] | None = None,
        **overrides: Any,
    ) -> PromptExecutionSettings:
        """Settings of the registered service's own class (so a swapped-in service gets its
        kind), from `base` (e.g. a prompt file's config) plus `overrides`, and, with
        `json_model`, the response format that makes this provider answer in its schema."""
        values: dict[str, Any] = dict(base.extension_data) if base else {}
        values.update(overrides)
        if json_model is not None:
            values["response_format"] = response_format_for(self.provider, json_model)
        settings_class = self.chat.get_prompt_execution_settings_class()
        return settings_class(**values)


# Length and pattern keywords: the local server's grammar enforces them; OpenAI's strict
# structured outputs refuse schemas that use them.
_GRAMMAR_ONLY_KEYWORDS = frozenset({"maxLength", "minLength", "pattern"})


def _without_grammar_keywords(schema: Any) -> Any:
    if isinstance(schema, dict):
        return {
            key: (
                {name: _without_grammar_keywords(sub) for name, sub in value.items()}
                if key in ("properties", "$defs") and isinstance(value, dict)
                else _without_grammar_keywords(value)
            )
            for key, value in schema.items()
            if key not in _GRAMMAR_ONLY_KEYWORDS
        }
    if isinstance(schema, list):
        return [_without_grammar_keywords(item) for item in schema]
    return schema


def response_format_for(provider: LLMProvider, model: type[BaseModel]) -> Any:
    schema = model.model_json_schema()
    if provider == "local":
        # llama.cpp's server: HTTP 500 on json_schema, but grammar-enforces this form.
        return {"type": "json_object", "schema": schema}
    # OpenAI's strict json_schema format, as Semantic Kernel builds it from a Pydantic model,
    # minus the keywords strict mode refuses.
    return {
        "type": "json_schema",
        "json_schema": {
            "name": model.__name__,
            "strict": True,
            "schema": _without_grammar_keywords(schema),
        },
    }


def build_chat_service(
    settings: Settings,
    provider: LLMProvider,
    *,
    local_base_url: str | None = None,
    local_model_id: str | None = None,
    http_client: httpx2.AsyncClient | None = None,
) -> tuple[ChatCompletionClientBase, str]:
    """The chat service for `provider` and the model it uses. `http_client`: the httpx2 client
    the openai SDK sends through (a proxy, mTLS; the tests record a connector's requests);
    none: the SDK's own."""
    timeout = settings.llm_timeout_s
    if provider == "openai":
        if settings.openai_api_key is None:
            raise ValueError("LLM_PROVIDER=openai needs OPENAI_API_KEY")
        client = AsyncOpenAI(
            api_key=settings.openai_api_key.get_secret_value(),
            timeout=timeout,
            max_retries=1,
            http_client=http_client,
        )
        return OpenAIChatCompletion(ai_model_id=settings.openai_model, async_client=client), (
            settings.openai_model
        )
    if provider == "azure":
        if not (settings.azure_openai_endpoint and settings.azure_openai_deployment):
            raise ValueError(
                "LLM_PROVIDER=azure needs AZURE_OPENAI_ENDPOINT and AZURE_OPENAI_DEPLOYMENT"
            )
        key = settings.azure_openai_api_key
        azure = AsyncAzureOpenAI(
            azure_endpoint=settings.azure_openai_endpoint,
            azure_deployment=settings.azure_openai_deployment,
            api_version=settings.azure_openai_api_version,
            api_key=key.get_secret_value() if key else None,
            timeout=timeout,
            max_retries=1,
            http_client=http_client,
        )
        service = AzureChatCompletion(
            deployment_name=settings.azure_openai_deployment, async_client=azure
        )
        return service, settings.azure_openai_deployment
    base_url = settings.llm_base_url if provider == "openai-compatible" else local_base_url
    model = settings.llm_model if provider == "openai-compatible" else local_model_id
    if not base_url or not model:
        raise ValueError(f"LLM provider {provider} needs a base URL and a model")
    compatible = AsyncOpenAI(
        base_url=base_url,
        api_key=settings.llm_api_key.get_secret_value(),
        timeout=timeout,
        max_retries=0,  # a local server that is down will not be up a moment later
        http_client=http_client,
    )
    return OpenAIChatCompletion(ai_model_id=model, async_client=compatible), model


def build_ai_runtime(
    settings: Settings,
    provider: LLMProvider,
    slots: AISlots,
    *,
    local: ModelServer | None = None,
    http_client: httpx2.AsyncClient | None = None,
) -> AIRuntime:
    """The app's AI runtime, its model calls metered by `slots`. Provider `local` needs the
    local model server (which devenv/ runs)."""
    service, model = build_chat_service(
        settings,
        provider,
        local_base_url=local.base_url if local else None,
        local_model_id=local.model_id if local else None,
        http_client=http_client,
    )
    tool_calling = provider in ("openai", "azure") or (
        provider == "openai-compatible" and settings.llm_tool_calling
    )
    # A model we (or the operator) run is probed; a hosted one is not (each probe costs).
    probed = provider in ("local", "openai-compatible")
    return metered_runtime(
        service,
        slots,
        settings.ai_wait_timeout_s,
        provider=provider,
        model=model,
        tool_calling=tool_calling,
        health=ModelHealth(service, slots, local.status if local else None) if probed else None,
    )


def metered_runtime(
    service: ChatCompletionClientBase,
    slots: AISlots,
    wait_s: float,
    *,
    provider: LLMProvider,
    model: str,
    tool_calling: bool = False,
    health: Callable[[], Awaitable[str]] | None = None,
) -> AIRuntime:
    """A runtime whose kernel holds `service` behind the slots (tests wrap their fakes so)."""
    kernel = Kernel()
    kernel.add_service(MeteredChat(ai_model_id=model, inner=service, slots=slots, wait_s=wait_s))
    return AIRuntime(
        kernel=kernel, provider=provider, model=model, tool_calling=tool_calling, health=health
    )


async def get_ai(request: Request) -> AIRuntime:
    runtime: AIRuntime = request.app.state.ai
    return runtime
