"""OpenTelemetry (shared/observability/telemetry.py): one trace per request holding its
statements and its model call, trace ids in log lines, nothing private in what is exported, and
a dashboard that names only metrics the app exports. The real Prometheus scraping the app:
tests/test_prometheus.py.
"""

import json
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from semantic_kernel.connectors.ai.prompt_execution_settings import PromptExecutionSettings
from semantic_kernel.contents import ChatHistory, ChatMessageContent
from semantic_kernel.utils.telemetry.model_diagnostics.decorators import trace_chat_completion
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from devenv.database import connect
from features.ai_summary.handler import is_recommended
from main import create_app
from shared.ai.kernel import get_ai
from shared.observability import telemetry
from shared.settings import PROJECT_ROOT, Settings
from tests.fakes import FakeChat, fake_runtime
from tests.fixtures.logs import of
from tests.support import ADMIN, forget_ai_calls, forget_failures, make_dev_settings, served_client

DASHBOARD = PROJECT_ROOT / "deploy" / "observability" / "grafana" / "dashboards" / "pagila.json"
SECRET_QUESTION = "Is Zanzibar-Quokka my secret?"
SECRET_ANSWER = "Quokka-Answer-Text"
SECRET_PASSWORD = "Hunter2-Password-Value"


class TracedFakeChat(FakeChat):
    """FakeChat behind Semantic Kernel's own gen_ai tracing, as its OpenAI connector is."""

    @trace_chat_completion("fake")
    async def _inner_get_chat_message_contents(
        self, chat_history: ChatHistory, settings: PromptExecutionSettings
    ) -> list[ChatMessageContent]:
        return await super()._inner_get_chat_message_contents(chat_history, settings)


_EXPORTER = InMemorySpanExporter()


def sample(settings: Settings, ratio: float) -> None:
    """Record this share of the traces from now on, as an app's settings set it."""
    telemetry.configure_telemetry(settings.model_copy(update={"trace_sample_ratio": ratio}))


@pytest.fixture
def spans(settings: Settings) -> Iterator[InMemorySpanExporter]:
    """Every span from now on, as exported (after redaction): all requests sampled."""
    if not getattr(_EXPORTER, "_attached", False):
        telemetry.add_span_exporter(_EXPORTER, batch=False)
        _EXPORTER._attached = True  # type: ignore[attr-defined]
    sample(settings, 1.0)
    _EXPORTER.clear()
    yield _EXPORTER
    sample(settings, 0.0)
    _EXPORTER.clear()


@pytest.fixture
async def traced(
    spans: InMemorySpanExporter, settings: Settings, test_db_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, TracedFakeChat]]:
    """An app created with traces exported (a span per request needs an exporter), served on
    loopback, with a fake model behind Semantic Kernel's tracing. Its writes commit: no summary
    cache, and its quota use and failed sign-ins are forgotten afterwards."""
    app = create_app(
        settings.model_copy(update={"ai_summary_cache": False, "trace_sample_ratio": 1.0}),
        make_dev_settings(),
    )
    chat = TracedFakeChat(ai_model_id="fake")
    app.dependency_overrides[get_ai] = lambda: fake_runtime(chat, app.state.ai_slots)
    try:
        async with served_client(app) as http:
            yield http, chat
    finally:
        await forget_ai_calls(test_db_url, "address:127.0.0.1")
        await forget_failures(test_db_url, "127.0.0.1")


async def _summary_reply(url: str, film_id: int, summary: str) -> str:
    conn = await connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT title, rating::text, rental_rate FROM film WHERE film_id = $1", film_id
        )
    finally:
        await conn.close()
    assert row is not None
    return json.dumps(
        {
            "title": row["title"],
            "rating": row["rating"],
            "recommended": is_recommended(row["rating"], row["rental_rate"]),
            "summary": summary,
        }
    )


def _by_trace(finished: tuple[ReadableSpan, ...]) -> dict[int, list[ReadableSpan]]:
    traces: dict[int, list[ReadableSpan]] = {}
    for span in finished:
        assert span.context is not None
        traces.setdefault(span.context.trace_id, []).append(span)
    return traces


async def test_one_trace_holds_the_request_its_statements_and_its_model_call(
    traced: tuple[httpx.AsyncClient, TracedFakeChat],
    spans: InMemorySpanExporter,
    test_db_url: str,
    log_events: list[dict[str, Any]],
) -> None:
    http, chat = traced
    chat.replies = [await _summary_reply(test_db_url, 3, "A fine film.")]

    response = await http.post("/ai/summary", json={"film_id": 3})

    assert response.status_code == 200
    [trace] = [t for t in _by_trace(spans.get_finished_spans()).values() if len(t) > 1]
    [server] = [s for s in trace if s.kind == SpanKind.SERVER]
    assert server.name == "POST /ai/summary"  # named by route template
    assert server.attributes is not None
    assert server.attributes["http.route"] == "/ai/summary"
    statements = [s for s in trace if (s.attributes or {}).get("db.system.name") == "postgresql"]
    assert statements, [s.name for s in trace]
    texts = [str((s.attributes or {})["db.query.text"]).lower() for s in statements]
    assert any("from film" in text and "$1" in text for text in texts)  # text, not values
    [model] = [s for s in trace if (s.attributes or {}).get("gen_ai.operation.name") == "chat"]
    assert model.attributes is not None
    assert model.attributes["gen_ai.request.model"] == "fake"
    # ... and the request's log lines name that trace.
    trace_id = format(server.context.trace_id, "032x")
    [access] = of(log_events, "request")
    assert access["trace_id"] == trace_id


async def test_unsampled_requests_still_have_a_trace_id_but_no_spans(
    traced: tuple[httpx.AsyncClient, TracedFakeChat],
    spans: InMemorySpanExporter,
    log_events: list[dict[str, Any]],
    settings: Settings,
) -> None:
    http, _ = traced
    sample(settings, 0.0)

    await http.get("/films", params={"limit": 1})

    assert spans.get_finished_spans() == ()
    [access] = of(log_events, "request")
    assert len(access["trace_id"]) == 32


def _exported_text(finished: tuple[ReadableSpan, ...]) -> str:
    return json.dumps(
        [
            {
                "name": s.name,
                "attributes": dict(s.attributes or {}),
                "events": [(e.name, dict(e.attributes or {})) for e in s.events],
                "status": s.status.description,
            }
            for s in finished
        ],
        default=str,
    )


def _metric_labels() -> str:
    return " ".join(
        f"{sample.name}{sample.labels}"
        for family in REGISTRY.collect()
        for sample in family.samples
    )


async def test_nothing_private_is_exported(
    traced: tuple[httpx.AsyncClient, TracedFakeChat],
    spans: InMemorySpanExporter,
    db: AsyncConnection,
    test_db_url: str,
) -> None:
    """A recorded run of the AI features, sign-ins and customer data: its spans (as exported)
    and every metric label hold no question, answer, password, token or customer name."""
    customer = (
        await db.execute(text("SELECT first_name, last_name FROM customer WHERE customer_id = 1"))
    ).one()
    http, chat = traced
    chat.chunks = [SECRET_ANSWER, " more"]
    chat.replies = [await _summary_reply(test_db_url, 4, SECRET_ANSWER)]
    token = ADMIN["Authorization"].removeprefix("Bearer ")

    asked = await http.get("/ai/ask", params={"question": SECRET_QUESTION})
    summary = await http.post("/ai/summary", json={"film_id": 4})
    refused = await http.post("/token", data={"username": "Mike", "password": SECRET_PASSWORD})
    rentals = await http.get("/customers/1/rentals", headers=ADMIN)
    chat.fail_before_first = True  # a model failure's exception text must not leak
    failed = await http.post("/ai/summary", json={"film_id": 5})

    assert SECRET_ANSWER in asked.text
    statuses = [r.status_code for r in (summary, refused, rentals, failed)]
    assert statuses == [200, 401, 200, 503]
    exported = _exported_text(spans.get_finished_spans()) + _metric_labels()
    assert "gen_ai.operation.name" in exported  # the model's spans are in it
    assert '"url.query": "question"' in exported  # its parameter's name only
    for secret in (
        SECRET_QUESTION,
        "Zanzibar",
        SECRET_ANSWER,
        SECRET_PASSWORD,
        token,
        f"{customer.first_name} {customer.last_name}",
        customer.last_name,  # ("MARY" alone is in "summary")
        "fake model is down",  # an exception's text
    ):
        assert secret.lower() not in exported.lower(), secret


def _exported_names() -> set[str]:
    """The Prometheus names of every instrument of the app, as the exporter writes them."""
    registry = CollectorRegistry()
    provider = MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)])
    meter = provider.get_meter("names")
    for name, kind, unit in telemetry.INSTRUMENTS:
        if kind == "counter":
            meter.create_counter(name, unit=unit).add(1, {"x": "y"})
        elif kind == "up_down_counter":
            meter.create_up_down_counter(name, unit=unit).add(1, {"x": "y"})
        else:
            meter.create_histogram(name, unit=unit).record(1, {"x": "y"})
    exposition = generate_latest(registry).decode()
    provider.shutdown()
    return {
        line.split("{", 1)[0].split(" ", 1)[0]
        for line in exposition.splitlines()
        if line and not line.startswith("#")
    }


def test_the_dashboard_names_only_metrics_the_app_exports() -> None:
    exported = _exported_names()
    queries = [
        target["expr"]
        for panel in json.loads(DASHBOARD.read_text())["panels"]
        for target in panel.get("targets", [])
    ]
    named = {
        name
        for query in queries
        for name in re.findall(r"\b((?:pagila|http_server)_[a-z0-9_]+)", query)
    }

    assert len(queries) >= 8  # requests, pools, the model, rentals
    assert named <= exported, named - exported


def _answers(intent: str) -> float:
    labels = {"router": "rules", "intent": intent, "agent": "SearchAgent", "outcome": "ok"}
    return sum(
        sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == "pagila_assistant_answers_total"
        and labels.items() <= sample.labels.items()
    )


async def test_the_assistants_answers_are_counted_by_intent(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    """Offline (the rules router reads each question as one of the intents)."""
    offline = fake_runtime(FakeChat(ai_model_id="fake"), app.state.ai_slots, provider="local")
    app.dependency_overrides[get_ai] = lambda: offline
    before = _answers("price"), _answers("totals")
    try:
        await client.post("/ai/handoff", json={"question": "how much is academy dinosaur"})
        await client.post("/ai/handoff", json={"question": "how many films do you have"})
    finally:
        app.dependency_overrides.pop(get_ai, None)

    assert (_answers("price") - before[0], _answers("totals") - before[1]) == (1, 1)
