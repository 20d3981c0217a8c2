"""OpenTelemetry for the app: one tracer provider, one meter provider, the instruments, and the
Prometheus endpoint. docs/observability.md is the operator's side of this module.

- **Providers**, one pair per process, set as OpenTelemetry's global ones when this module is
  imported (Semantic Kernel's gen_ai spans and FastAPI's request spans use the global
  providers; instruments are created against the real provider, not a proxy).
  `configure_telemetry` (create_app) attaches the exporters, once per process.
- **Traces** only when there is somewhere to send them (OTLP from the standard `OTEL_*`
  variables, or a test's exporter): then every request gets a span and a trace id (log lines,
  error bodies), and TRACE_SAMPLE_RATIO of them are recorded (a caller's sampled `traceparent`
  is honoured). Without one, no request spans and no trace ids: a span per request, recorded or
  not, costs about as much as all the metrics (docs/observability.md, Cost).
- **Metrics** always aggregate (METRICS_ENABLED=false: no readers, nothing recorded), exported
  to Prometheus on a port of their own (METRICS_PORT, see `_serve_metrics` for why) and by OTLP
  when `OTEL_EXPORTER_OTLP_(METRICS_)ENDPOINT` is set.
- **Privacy**: labels are bounded (route templates, features, kinds, never ids or user text);
  span attributes carry statement text but never parameter values; everything a span exporter
  gets passes `_Redacting` first (query string values, exception messages and status
  descriptions removed: those are where a question or a name could hide).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from fastapi.telemetry import TelemetryConfig
from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.view import ExplicitBucketHistogramAggregation, View
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ParentBased,
    Sampler,
    SamplingResult,
    TraceIdRatioBased,
)
from opentelemetry.trace import Link, SpanKind, Status
from opentelemetry.util.types import Attributes

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from shared.settings import Settings

log = logging.getLogger(__name__)

SERVICE_NAME = "pagila-api"

# --------------------------------------------------------------------------------------------
# Sampling: off until there is an exporter; then TRACE_SAMPLE_RATIO, parent-based.


class _Sampler(Sampler):
    """The sampler of the process's one tracer provider, switched by `configure_telemetry`."""

    def __init__(self) -> None:
        self.inner: Sampler = ALWAYS_OFF

    def should_sample(
        self,
        parent_context: Context | None,
        trace_id: int,
        name: str,
        kind: SpanKind | None = None,
        attributes: Attributes = None,
        links: Sequence[Link] | None = None,
        trace_state: Any = None,
    ) -> SamplingResult:
        return self.inner.should_sample(
            parent_context, trace_id, name, kind, attributes, links, trace_state
        )

    def get_description(self) -> str:
        return f"Pagila({self.inner.get_description()})"

    def record(self, ratio: float) -> None:
        self.inner = ParentBased(TraceIdRatioBased(min(max(ratio, 0.0), 1.0)))


# --------------------------------------------------------------------------------------------
# Redaction: what leaves the process.

# Attributes whose value may hold what a user typed.
_QUERY = "url.query"
_DROPPED_EVENT_KEYS = frozenset({"exception.message", "exception.stacktrace"})


def _keys_only(query: str) -> str:
    """`search=Alice&limit=5` -> `search&limit`: which parameters, not their values."""
    return "&".join(part.split("=", 1)[0] for part in query.split("&") if part)


def redacted(span: ReadableSpan) -> ReadableSpan:
    """The span as it may leave the process."""
    attributes = dict(span.attributes or {})
    if _QUERY in attributes:
        attributes[_QUERY] = _keys_only(str(attributes[_QUERY]))
    events = [
        Event(
            event.name,
            {k: v for k, v in (event.attributes or {}).items() if k not in _DROPPED_EVENT_KEYS},
            event.timestamp,
        )
        for event in span.events
    ]
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=attributes,
        events=events,
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code),  # no description: an exception's text
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class _Redacting(SpanExporter):
    def __init__(self, inner: SpanExporter) -> None:
        self.inner = inner

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return self.inner.export([redacted(span) for span in spans])

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


# --------------------------------------------------------------------------------------------
# The providers (module level: one per process).

_RESOURCE = Resource.create({"service.name": SERVICE_NAME}).merge(
    # OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES win over our default name.
    Resource.create({})
    if os.getenv("OTEL_SERVICE_NAME") or os.getenv("OTEL_RESOURCE_ATTRIBUTES")
    else Resource.get_empty()
)
_SAMPLER = _Sampler()
tracer_provider = TracerProvider(sampler=_SAMPLER, resource=_RESOURCE, shutdown_on_exit=True)

# Seconds, for the model's waits and calls.
_SLOW_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)
_RATE_BUCKETS = (1, 2, 5, 10, 20, 35, 50, 75, 100, 150, 250, 500)
# OpenTelemetry's semantic conventions' buckets for HTTP request durations.
_HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)
_VIEWS = [
    View(
        instrument_name=name,
        aggregation=ExplicitBucketHistogramAggregation(boundaries=buckets),
    )
    for name, buckets in (
        ("http.server.request.duration", _HTTP_BUCKETS),
        ("pagila.ai.slot.wait.duration", _SLOW_BUCKETS),
        ("pagila.ai.time_to_first_token", _SLOW_BUCKETS),
        ("pagila.ai.call.duration", _SLOW_BUCKETS),
        ("pagila.ai.output.tokens_per_second", _RATE_BUCKETS),
    )
]
# No exemplars: checking each measurement's span for one costs more than the measurement (and
# Prometheus's text format does not carry them); a slow request's trace is found by its id.
meter_provider = MeterProvider(
    resource=_RESOURCE,
    views=_VIEWS,
    exemplar_filter=AlwaysOffExemplarFilter(),
    shutdown_on_exit=True,
)
trace.set_tracer_provider(tracer_provider)
metrics.set_meter_provider(meter_provider)

_tracer = tracer_provider.get_tracer("pagila")
_meter = meter_provider.get_meter("pagila")

# Every instrument of the app (name, kind, unit), for the test that checks the dashboard.
INSTRUMENTS: list[tuple[str, str, str]] = []


def _counter(name: str, unit: str, description: str = "") -> metrics.Counter:
    INSTRUMENTS.append((name, "counter", unit))
    return _meter.create_counter(name, unit=unit, description=description)


def _up_down_counter(name: str, unit: str, description: str = "") -> metrics.UpDownCounter:
    INSTRUMENTS.append((name, "up_down_counter", unit))
    return _meter.create_up_down_counter(name, unit=unit, description=description)


def _histogram(name: str, unit: str, description: str = "") -> metrics.Histogram:
    INSTRUMENTS.append((name, "histogram", unit))
    return _meter.create_histogram(name, unit=unit, description=description)


class _Tally:
    """A counter for the hottest paths: plain numbers by label set, reported when metrics are
    collected (an observable counter), so `add` is a dict update rather than a measurement
    through the SDK (about 10 us each inside a request). The same `add` as a Counter's."""

    def __init__(self, name: str, unit: str, description: str = "") -> None:
        self._counts: defaultdict[tuple[tuple[str, str], ...], float] = defaultdict(int)
        INSTRUMENTS.append((name, "counter", unit))
        _meter.create_observable_counter(
            name, callbacks=[self._observe], unit=unit, description=description
        )

    def add(self, amount: float, attributes: Mapping[str, str] | None = None) -> None:
        self._counts[tuple(attributes.items()) if attributes else ()] += amount

    def _observe(self, _: CallbackOptions) -> Iterable[Observation]:
        return [Observation(count, dict(key)) for key, count in list(self._counts.items())]


# --------------------------------------------------------------------------------------------
# The instruments. Every label below takes a handful of values: the list in docs/observability.md.

# HTTP, by OpenTelemetry's semantic conventions (the names FastAPI's native metrics use),
# recorded by the request-context middleware (`request_started`, `request_ended`), not by
# FastAPI: its native metrics cost about 60 us per request (a film by id ran at 0.79 of the
# same app without them, `just bench --telemetry`), mostly in its per-request wrapper (an
# OpenTelemetry context attached and detached, its telemetry data filled in by the router, a
# layer around every send) rather than in its three measurements. Here: one measurement per
# request, and the requests in progress counted in a dict, read when scraped.
http_request_duration = _histogram(
    "http.server.request.duration", "s", "Duration of HTTP server requests."
)
_HTTP_METHODS = frozenset(
    {"CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "QUERY", "TRACE"}
)
_active_requests: Counter[str] = Counter()  # by method


def request_started(method: str) -> str:
    """The method as a label (`_OTHER` for one HTTP does not define), now counted in progress."""
    label = method if method in _HTTP_METHODS else "_OTHER"
    _active_requests[label] += 1
    return label


def request_ended(
    method: str, scope: Mapping[str, Any], status: int, seconds: float, error: str | None
) -> None:
    """The request's duration, by its route's template (set by the router; none when no route
    matched) and status (0: no response began); `error`: an exception's type, if one ended
    it."""
    _active_requests[method] -= 1
    attributes: dict[str, str | int] = {
        "http.request.method": method,
        "url.scheme": scope.get("scheme", "http"),
    }
    route = getattr(scope.get("route"), "path_format", None)
    if route is not None:
        attributes["http.route"] = route
    if status:
        attributes["http.response.status_code"] = status
    if error is not None or not status or status >= 500:
        attributes["error.type"] = error or (str(status) if status else "incomplete_response")
    http_request_duration.record(seconds, attributes)


def _active(_: CallbackOptions) -> Iterable[Observation]:
    return [
        Observation(count, {"http.request.method": method})
        for method, count in list(_active_requests.items())
    ]


INSTRUMENTS.append(("http.server.active_requests", "up_down_counter", "{request}"))
_meter.create_observable_up_down_counter(
    "http.server.active_requests",
    callbacks=[_active],
    unit="{request}",
    description="Number of active HTTP server requests.",
)

# Database (pool: read | write).
# A wait's count and time rather than a histogram of waits: with every connection taken, every
# request waits, and a histogram measurement through the SDK cost 4 % of a film by id's
# instructions (callgrind, docs/benchmarks.md). The mean wait is time / waits; the tail shows in
# the requests' own durations.
db_pool_waits = _Tally(
    "pagila.db.pool.waits", "{wait}", "Requests that found every connection taken."
)
db_pool_wait_time = _Tally("pagila.db.pool.wait.time", "s", "Time waited for a pooled connection.")
db_unavailable = _counter(
    "pagila.db.unavailable",
    "{response}",
    "503s for the database, by cause (pool_timeout, connection, server).",
)

# AI (feature: ask | summary | assistant | other).
ai_calls = _counter("pagila.ai.calls", "{call}", "Model calls, by feature and outcome.")
ai_queued = _up_down_counter("pagila.ai.calls.queued", "{call}", "Model calls waiting for a slot.")
ai_slot_wait = _histogram(
    "pagila.ai.slot.wait.duration", "s", "Time a model call waited for a slot."
)
ai_ttft = _histogram(
    "pagila.ai.time_to_first_token",
    "s",
    "From the slot taken to the model's first text.",
)
ai_call_duration = _histogram(
    "pagila.ai.call.duration", "s", "From the slot taken to the model's end."
)
ai_output_tokens = _counter(
    "pagila.ai.output.tokens",
    "{token}",
    "Tokens the model wrote (its usage report, else its text chunks).",
)
ai_tokens_per_second = _histogram(
    "pagila.ai.output.tokens_per_second",
    "{token}/s",
    "Output tokens per second of a streamed answer, after its first token.",
)
ai_errors = _counter(
    "pagila.ai.errors",
    "{error}",
    "Failed model calls by kind: timeout, busy, unavailable, bad_output.",
)

# The store assistant.
assistant_answers = _counter(
    "pagila.assistant.answers",
    "{answer}",
    "Store assistant runs, by router (rules, llm), agent and outcome.",
)
assistant_tool_calls = _counter(
    "pagila.assistant.tool.calls", "{call}", "Tool calls by tool and outcome."
)


# Business.
rentals_created = _Tally("pagila.rentals.created", "{rental}")
rentals_returned = _Tally("pagila.rentals.returned", "{rental}")
conflicts = _Tally("pagila.conflicts", "{response}", "409 answers, by reason (the problem type).")
sign_in_failures = _counter("pagila.auth.sign_in.failures", "{attempt}", "Refused sign-ins.")
sign_in_lockouts = _counter(
    "pagila.auth.lockouts", "{attempt}", "Sign-ins refused as locked out (429)."
)

# The development environment's own servers (component: postgres | local_model).
restarts = _counter("pagila.devenv.restarts", "{restart}", "Restarts of embedded servers.")

# Gauges, read at collection time (nothing on the request path): the pools of every open
# Database in this process (tests open several; a server one).
_gauge_sources: dict[int, Callable[[], Iterable[tuple[str, int, int]]]] = {}


def watch_pools(owner: object, source: Callable[[], Iterable[tuple[str, int, int]]]) -> None:
    """`source()` -> (pool, in use, size) for each pool of `owner`, until `unwatch_pools`."""
    _gauge_sources[id(owner)] = source


def unwatch_pools(owner: object) -> None:
    _gauge_sources.pop(id(owner), None)


def _pool_observations(index: int) -> Callable[[CallbackOptions], Iterable[Observation]]:
    def observe(_: CallbackOptions) -> Iterable[Observation]:
        totals: dict[str, int] = {}
        for source in list(_gauge_sources.values()):
            for pool, in_use, size in source():
                totals[pool] = totals.get(pool, 0) + (in_use, size)[index]
        return [Observation(value, {"pool": pool}) for pool, value in totals.items()]

    return observe


INSTRUMENTS += [
    ("pagila.db.pool.connections.in_use", "up_down_counter", "{connection}"),
    ("pagila.db.pool.connections.max", "up_down_counter", "{connection}"),
]
_meter.create_observable_up_down_counter(
    "pagila.db.pool.connections.in_use",
    callbacks=[_pool_observations(0)],
    unit="{connection}",
    description="Pooled connections in use.",
)
_meter.create_observable_up_down_counter(
    "pagila.db.pool.connections.max",
    callbacks=[_pool_observations(1)],
    unit="{connection}",
    description="The pool's size.",
)


# --------------------------------------------------------------------------------------------
# Model calls.

# The AI feature a model call serves (ask, summary, assistant), set where each feature calls the
# model (shared/ai/calls.py, the assistant's run); `other` for anything else.
ai_feature: ContextVar[str] = ContextVar("ai_feature", default="other")


class ModelCall:
    """The numbers of one model call (capacity.MeteredChat), recorded as it goes."""

    __slots__ = ("asked", "chunks", "first", "labels", "reported", "slotted", "started", "tokens")

    def __init__(self) -> None:
        self.labels = {"feature": ai_feature.get()}
        self.asked = time.perf_counter()
        self.started = self.asked
        self.first: float | None = None
        self.tokens = 0  # completion tokens the provider reported
        self.chunks = 0  # text chunks seen (a stream's chunk is about one token)
        self.reported = False
        self.slotted = False
        ai_queued.add(1, self.labels)

    def slot_taken(self) -> None:
        self.slotted = True
        ai_queued.add(-1, self.labels)
        self.started = time.perf_counter()
        ai_slot_wait.record(self.started - self.asked, self.labels)

    def no_slot(self) -> None:
        ai_queued.add(-1, self.labels)
        self.failed("busy")

    def saw(self, messages: Sequence[Any]) -> None:
        now = time.perf_counter()
        for message in messages[:1]:  # a stream's usage is repeated on every choice
            if getattr(message, "content", None):
                self.chunks += 1
                if self.first is None:
                    self.first = now
                    ai_ttft.record(now - self.started, self.labels)
            usage = getattr(message, "metadata", {}).get("usage")
            completion = getattr(usage, "completion_tokens", None)
            if isinstance(completion, int):
                self.tokens, self.reported = completion, True

    def failed(self, kind: str) -> None:
        ai_errors.add(1, {**self.labels, "kind": kind})
        ai_calls.add(1, {**self.labels, "outcome": kind})

    def ended(self, outcome: str = "ok") -> None:
        now = time.perf_counter()
        tokens = self.tokens if self.reported else self.chunks
        ai_calls.add(1, {**self.labels, "outcome": outcome})
        ai_call_duration.record(now - self.started, self.labels)
        if tokens:
            ai_output_tokens.add(tokens, self.labels)
        if self.first is not None and tokens > 1 and now - self.first > 0.001:
            ai_tokens_per_second.record((tokens - 1) / (now - self.first), self.labels)


def ai_bad_output(feature: str) -> None:
    """A model answer the feature could not use (empty, not the schema)."""
    ai_errors.add(1, {"feature": feature, "kind": "bad_output"})


# --------------------------------------------------------------------------------------------
# Spans and ids.


_NO_SPAN: AbstractContextManager[Any] = nullcontext()


def statement_span(sql: str, pool: str) -> AbstractContextManager[Any]:
    """A client span for one statement (its text, never its parameters), or nothing when the
    request is not being recorded: one context look-up on the hot path."""
    if not trace.get_current_span().is_recording():
        return _NO_SPAN
    return _tracer.start_as_current_span(
        _operation(sql),
        kind=SpanKind.CLIENT,
        attributes={
            "db.system.name": "postgresql",
            "db.operation.name": _operation(sql),
            "db.query.text": sql,
            "pagila.db.pool": pool,
        },
    )


def _operation(sql: str) -> str:
    word = sql.lstrip().split(None, 1)[:1]
    return word[0].upper() if word else "SQL"


def instrument_engine(engine: AsyncEngine) -> None:
    """Statement spans for the write sessions: SQLAlchemy's cursor events, on the engine (once:
    each `Database` opens an engine of its own)."""
    from sqlalchemy import event

    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        if trace.get_current_span().is_recording():
            span = _tracer.start_span(
                _operation(statement),
                kind=SpanKind.CLIENT,
                attributes={
                    "db.system.name": "postgresql",
                    "db.operation.name": _operation(statement),
                    "db.query.text": statement,
                    "pagila.db.pool": "write",
                },
            )
            conn.info.setdefault("pagila.spans", []).append(span)

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _after(conn: Any, *_: Any) -> None:
        spans = conn.info.get("pagila.spans")
        if spans:
            spans.pop().end()

    @event.listens_for(sync_engine, "handle_error")
    def _error(context: Any) -> None:
        spans = context.connection.info.get("pagila.spans") if context.connection else None
        if spans:
            span = spans.pop()
            span.set_status(trace.StatusCode.ERROR)
            span.set_attribute("error.type", type(context.original_exception).__name__)
            span.end()


@contextmanager
def timed(histogram: Any, attributes: dict[str, str]) -> Iterator[None]:
    started = time.perf_counter()
    try:
        yield
    finally:
        histogram.record(time.perf_counter() - started, attributes)


# --------------------------------------------------------------------------------------------
# Configuration (create_app), once per process.

_lock = threading.Lock()
_configured: dict[str, Any] = {}


def add_span_exporter(exporter: SpanExporter, *, batch: bool = True) -> None:
    """Send spans to `exporter` (after redaction), and start recording them."""
    inner = _Redacting(exporter)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(inner) if batch else SimpleSpanProcessor(inner)
    )
    _configured["traces"] = True
    _SAMPLER.record(_configured.get("ratio", 1.0))


def _otlp_endpoint(signal: str) -> bool:
    """Whether the standard variables ask for OTLP export of `signal` (TRACES, METRICS)."""
    if os.getenv("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if (os.getenv(f"OTEL_{signal}_EXPORTER") or "otlp").strip().lower() != "otlp":
        return False
    return bool(
        os.getenv(f"OTEL_EXPORTER_OTLP_{signal}_ENDPOINT")
        or os.getenv("OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def _enable_model_diagnostics() -> None:
    """Semantic Kernel's gen_ai spans (model, tokens; never prompts or completions): its own
    settings, ModelDiagnosticSettings, read from its environment variable when its modules are
    imported; those already imported are told through the same settings objects."""
    os.environ["SEMANTICKERNEL_EXPERIMENTAL_GENAI_ENABLE_OTEL_DIAGNOSTICS"] = "true"
    os.environ["SEMANTICKERNEL_EXPERIMENTAL_GENAI_ENABLE_OTEL_DIAGNOSTICS_SENSITIVE"] = "false"
    from semantic_kernel.utils.telemetry.agent_diagnostics import decorators as agents
    from semantic_kernel.utils.telemetry.model_diagnostics import decorators as models
    from semantic_kernel.utils.telemetry.model_diagnostics import function_tracer

    for module in (models, agents, function_tracer):
        module.MODEL_DIAGNOSTICS_SETTINGS.enable_otel_diagnostics = True
        module.MODEL_DIAGNOSTICS_SETTINGS.enable_otel_diagnostics_sensitive = False


def _serve_metrics(port: int, host: str) -> int | None:
    """The Prometheus endpoint on a port of its own, in a thread: not on the API's port, so it
    is never public with the API (no auth to add), never routed, logged or counted as a
    request, and answered while the event loop is busy. With WEB_CONCURRENCY=N workers each
    worker takes the first free port of METRICS_PORT .. METRICS_PORT+N-1: one target per worker
    whose counters are its own (one shared port would answer for a random worker at each
    scrape, and the series would jump). Prometheus sums them."""
    from prometheus_client import start_http_server

    workers = max(1, int(os.getenv("WEB_CONCURRENCY") or 1))
    for candidate in range(port, port + workers):
        try:
            start_http_server(candidate, addr=host)
        except OSError:
            continue
        return candidate
    log.warning("metrics: ports %s..%s are taken; no endpoint", port, port + workers - 1)
    return None


def configure_telemetry(settings: Settings) -> TelemetryConfig:
    """Exporters from the settings and the standard OTEL_* variables (once per process), and
    the configuration for `FastAPI(telemetry=...)`. OTEL_SDK_DISABLED=true: none at all (no
    spans, no trace ids, no metrics; what `just bench --telemetry` compares with)."""
    if os.getenv("OTEL_SDK_DISABLED", "").lower() == "true":
        return {"tracing": False, "metrics": False, "logs": False}
    with _lock:
        _configured["ratio"] = settings.trace_sample_ratio
        if _configured.get("traces"):
            _SAMPLER.record(settings.trace_sample_ratio)
        if "setup" not in _configured:
            _configured["setup"] = True
            _enable_model_diagnostics()
            if _otlp_endpoint("TRACES"):
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )

                add_span_exporter(OTLPSpanExporter())  # endpoint, headers: OTEL_* variables
            if settings.metrics_enabled:
                from opentelemetry.exporter.prometheus import PrometheusMetricReader

                meter_provider.add_metric_reader(PrometheusMetricReader())
                if _otlp_endpoint("METRICS"):
                    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                        OTLPMetricExporter,
                    )
                    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

                    meter_provider.add_metric_reader(
                        PeriodicExportingMetricReader(OTLPMetricExporter())
                    )
        if settings.metrics_enabled and settings.metrics_port and "port" not in _configured:
            _configured["port"] = _serve_metrics(settings.metrics_port, settings.metrics_host)
    # Request spans only when traces go somewhere (OTLP, a test's exporter): FastAPI's span per
    # request costs about as much as its metrics even unsampled (`just bench --telemetry`), and
    # a trace id with no trace behind it finds nothing (the request id already ties log lines).
    traced = bool(_configured.get("traces"))
    return {
        "tracer_provider": tracer_provider,
        "meter_provider": meter_provider,
        "tracing": traced,  # spans named by route template; trace ids in logs and error bodies
        "metrics": False,  # ours: `request_ended` says why
        # FastAPI's log records carry exception messages (user text can hide there): our
        # structlog lines, with the trace id, are the logs.
        "logs": False,
        # Spans for dependencies, endpoint and serialization, in each recorded trace.
        "operation_spans": traced,
        "auto_configure": False,  # configured here, from the same variables
    }


def metrics_port() -> int | None:
    """The port this process serves /metrics on (None: none)."""
    port: int | None = _configured.get("port")
    return port
