"""The kernel factory: which connector each provider gets, and the exact request it sends.

The real Semantic Kernel connectors and openai SDK run; only the network is replaced, by the
SDK's own mock transport, which records each request."""

import json
from typing import Any

import httpx2
import pytest
from semantic_kernel.contents import ChatHistory

from features.ai_summary.dtos import SummaryDraft
from shared.ai.capacity import AISlots
from shared.ai.kernel import build_ai_runtime
from shared.settings import LLMProvider, resolve_llm_provider
from tests.support import make_settings

COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "{}"},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4},
}

PROVIDER_SETTINGS: dict[str, dict[str, Any]] = {
    "openai": {"llm_provider": "openai", "openai_api_key": "sk-test", "openai_model": "gpt-x"},
    "azure": {
        "llm_provider": "azure",
        "azure_openai_endpoint": "https://example-resource.openai.azure.com",
        "azure_openai_deployment": "summaries",
        "azure_openai_api_key": "azure-key",
        "azure_openai_api_version": "2024-10-21",
    },
    "openai-compatible": {
        "llm_provider": "openai-compatible",
        "llm_base_url": "http://127.0.0.1:11434/v1",
        "llm_model": "llama3.2",
    },
}


class _LocalServer:
    base_url = "http://127.0.0.1:9/v1"
    model_id = "SmolLM2-135M-Instruct.Q4_1"

    async def status(self) -> str:
        return "ok"


async def _send(provider: LLMProvider) -> httpx2.Request:
    seen: list[httpx2.Request] = []

    def respond(request: httpx2.Request) -> httpx2.Response:
        seen.append(request)
        return httpx2.Response(200, json=COMPLETION)

    settings = make_settings(**PROVIDER_SETTINGS.get(provider, {"llm_provider": "local"}))
    async with httpx2.AsyncClient(transport=httpx2.MockTransport(respond)) as http:
        ai = build_ai_runtime(
            settings,
            provider,
            AISlots(1),
            local=_LocalServer() if provider == "local" else None,
            http_client=http,
        )
        history = ChatHistory()
        history.add_user_message("Summarise film 1")
        await ai.chat.get_chat_message_contents(
            history, ai.execution_settings(json_model=SummaryDraft, max_tokens=50)
        )
    [request] = seen
    return request


def _strict_schema() -> dict[str, Any]:
    return {
        "type": "json_schema",
        "json_schema": {
            "name": "SummaryDraft",
            "strict": True,
            "schema": {
                "additionalProperties": False,
                "description": "What the model is asked to return: its JSON schema is sent as "
                "the response format.",
                "properties": {
                    "title": {"title": "Title", "type": "string"},
                    "rating": {
                        "enum": ["G", "PG", "PG-13", "R", "NC-17"],
                        "title": "Rating",
                        "type": "string",
                    },
                    "recommended": {"title": "Recommended", "type": "boolean"},
                    "summary": {"title": "Summary", "type": "string"},
                },
                "required": ["title", "rating", "recommended", "summary"],
                "title": "SummaryDraft",
                "type": "object",
            },
        },
    }


@pytest.mark.parametrize(
    ("provider", "url", "model"),
    [
        ("openai", "https://api.openai.com/v1/chat/completions", "gpt-x"),
        (
            "azure",
            "https://example-resource.openai.azure.com/openai/deployments/summaries/"
            "chat/completions?api-version=2024-10-21",
            "summaries",
        ),
        ("openai-compatible", "http://127.0.0.1:11434/v1/chat/completions", "llama3.2"),
    ],
)
async def test_hosted_providers_send_strict_json_schema(
    provider: LLMProvider, url: str, model: str
) -> None:
    request = await _send(provider)

    body = json.loads(request.content)
    assert str(request.url) == url
    assert body["model"] == model
    assert body["max_tokens"] == 50
    assert body["response_format"] == _strict_schema()


async def test_local_server_gets_json_object_with_schema() -> None:
    request = await _send("local")

    body = json.loads(request.content)
    assert str(request.url) == "http://127.0.0.1:9/v1/chat/completions"
    assert body["model"] == "SmolLM2-135M-Instruct.Q4_1"
    assert body["response_format"] == {
        "type": "json_object",
        "schema": SummaryDraft.model_json_schema(),
    }


async def test_keys_go_where_each_provider_expects_them() -> None:
    assert (await _send("openai")).headers["Authorization"] == "Bearer sk-test"
    assert (await _send("azure")).headers["api-key"] == "azure-key"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"llm_provider": "auto", "openai_api_key": None}, "local"),
        ({"llm_provider": "auto", "openai_api_key": "sk"}, "openai"),
        ({"llm_provider": "auto", "azure_openai_endpoint": "https://x"}, "azure"),
        ({"llm_provider": "auto", "llm_base_url": "http://h/v1", "openai_api_key": "sk"},
         "openai-compatible"),
        ({"llm_provider": "local", "openai_api_key": "sk"}, "local"),
    ],
)  # fmt: skip
def test_provider_resolution(overrides: dict[str, Any], expected: str) -> None:
    assert resolve_llm_provider(make_settings(**overrides)) == expected
