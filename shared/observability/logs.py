"""Logs and the request id: one structlog pipeline, one access line per request.

- structlog for our logs and the standard library's (uvicorn, SQLAlchemy) alike: JSON lines when
  LOG_FORMAT=json, console output otherwise; context variables (the request id) are merged into
  every line, and secrets are masked before rendering.
- `RequestContextMiddleware` (plain ASGI, so streamed responses pass through unbuffered): a
  request id on every response and log line, the access line and the request metrics with the
  status actually sent, and a JSON 500 (one log line, one traceback) for an exception nothing
  else handled.
"""

import logging
import os
import re
import sys
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import structlog
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from structlog.types import EventDict, Processor

from shared.http.asgi import raw_header
from shared.http.errors import INTERNAL, problem_response
from shared.observability.request_context import (
    current_trace_id,
    done_var,
    request_id_var,
    staff_id_var,
)
from shared.observability.telemetry import request_ended, request_started
from shared.settings import Settings

REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID_KEY = REQUEST_ID_HEADER.lower().encode("latin-1")  # ASGI header names: lower case
# Accept a caller's id only if it is short and harmless to echo and log.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_SECRET_KEYS = frozenset({"authorization", "token", "access_token", "password", "api_key"})

error_log = structlog.get_logger("error")


def _add_request_id(_: Any, __: str, event_dict: EventDict) -> EventDict:
    request_id = request_id_var.get()
    if request_id is not None:
        event_dict.setdefault("request_id", request_id)
    staff_id = staff_id_var.get()
    if staff_id is not None:
        event_dict.setdefault("staff_id", staff_id)
    trace_id = current_trace_id()  # the request's trace (sampled or not): find its spans
    if trace_id is not None:
        event_dict.setdefault("trace_id", trace_id)
    return event_dict


def _mask_secrets(_: Any, __: str, event_dict: EventDict) -> EventDict:
    for key in event_dict.keys() & _SECRET_KEYS:
        event_dict[key] = "***"
    return event_dict


def _add_pid(_: Any, __: str, event_dict: EventDict) -> EventDict:
    event_dict["pid"] = os.getpid()  # which worker wrote the line (WEB_CONCURRENCY > 1)
    return event_dict


def _render_console(_: Any, __: str, event_dict: EventDict) -> str:
    """`time level event [logger] key=value ...`: readable, and several times cheaper than
    structlog's ConsoleRenderer, which matters for a line per request."""
    timestamp = event_dict.pop("timestamp", "")
    level = event_dict.pop("level", "")
    event = event_dict.pop("event", "")
    logger = event_dict.pop("logger", None)
    exception = event_dict.pop("exception", None)
    line = " ".join(
        [
            f"{timestamp} {level:<7} {event}",
            *([f"[{logger}]"] if logger else []),
            *(f"{key}={value}" for key, value in event_dict.items()),
        ]
    )
    return f"{line}\n{exception}" if exception else line


_PROCESSORS: list[Processor] = []


class _StderrLogger:
    """Where our own structlog events go: one rendered line to the current `sys.stderr` (looked
    up per line, so a stream swapped later, by a test runner for one, is honoured). Our events
    skip the standard library's records, handlers and formatters, which cost more than the
    rest of the access line together; records from libraries still go through them."""

    def __init__(self, name: str | None = None) -> None:
        self.name = name or "app"

    def msg(self, message: str) -> None:
        sys.stderr.write(message + "\n")

    debug = info = warning = error = critical = msg


def configure_logging(settings: Settings) -> None:
    shared: list[Processor] = [
        _add_request_id,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _mask_secrets,
    ]
    renderer: Processor
    if settings.log_format == "json" or settings.app_env == "production":
        renderer = structlog.processors.JSONRenderer()
        shared.append(_add_pid)
    else:
        renderer = _render_console
    shared.append(structlog.processors.format_exc_info)

    level = logging.getLevelNamesMapping()[settings.log_level.upper()]
    # One list, updated in place: loggers bound earlier (an app's access logger) follow.
    _PROCESSORS[:] = [*shared, renderer]
    structlog.configure(
        processors=_PROCESSORS,
        logger_factory=_StderrLogger,
        # Events below the level cost a no-op call, not a trip through the processors.
        wrapper_class=structlog.make_filtering_bound_logger(level),
        # Module-level loggers follow a later configure_logging (tests create several apps);
        # the per-request access logger is built once per app instead (see the middleware).
        cache_logger_on_first_use=False,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)

    # uvicorn installs its own handlers before it loads the app: route them through ours.
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers = []
        uvicorn_logger.propagate = True
    # Our middleware writes the access line (with request id and duration).
    logging.getLogger("uvicorn.access").disabled = True
    # Libraries that log each HTTP call at INFO; shared/ai/calls.py logs LLM calls.
    for name in ("httpx", "httpx2", "openai"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
    # Semantic Kernel logs the user's question and the answers: its agent runtime every message
    # it routes (`in_process_runtime*`, `agent_runtime*`), its agent actors every exception
    # with its text (a cancelled run included) as an ERROR, the kernel a failed tool call with
    # the argument's value in the traceback. Only CRITICAL passes; what a run did and how it
    # ended is ours to log, without the text (handoff.run, handoff.tool_failed, llm.call).
    for name in ("semantic_kernel", "in_process_runtime", "agent_runtime"):
        logging.getLogger(name).setLevel(max(logging.CRITICAL, root.level))


def _same_site(location: str) -> str:
    """A redirect's target without scheme and host: Starlette builds absolute ones from the
    request's Host header (`/films/` -> `http://<Host>/films`), which anyone can set; a path is
    resolved by the client against the site it asked."""
    parts = urlsplit(location)
    return urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))


class RequestContextMiddleware:
    """The request's id (X-Request-ID, kept from the client when well formed), its one access
    line, its duration metric, and a bug's 500 as problem details: one middleware layer for
    the four, on every request. (asgi-correlation-id would be a layer of its own for the id
    alone: each pure ASGI layer wraps every `send`, about 6k instructions a request, 0.5 % of a
    film by id; callgrind, docs/benchmarks.md.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # A concrete logger of the logging configured by now (create_app configures it before
        # the middleware stack is built): no configuration look-up per request.
        self.access_log = structlog.get_logger("access").bind()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = (raw_header(scope, _REQUEST_ID_KEY) or b"").decode("latin-1")
        # 128 random bits, as in a UUID4, without building a UUID object.
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else os.urandom(16).hex()
        request_id_header = (_REQUEST_ID_KEY, request_id.encode("latin-1"))
        # Each request runs in a task of its own, with its own copy of the context: nothing to
        # clear afterwards, and nothing leaks between requests.
        token = request_id_var.set(request_id)
        who = staff_id_var.set(None)  # until the bearer guard says
        done: dict[str, object] = {}
        said = done_var.set(done)
        method = request_started(scope["method"])
        started = time.perf_counter()
        status = 0  # nothing sent yet
        error: str | None = None

        async def send_with_request_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Appended to a copy, not set through MutableHeaders (which scans and rewrites
                # the list, several times the cost): nothing inside sets this header.
                message["headers"] = [*message.get("headers", ()), request_id_header]
                if 300 <= status < 400:
                    headers = MutableHeaders(scope=message)
                    if "location" in headers:
                        headers["location"] = _same_site(headers["location"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_request_id)
        except Exception as exc:
            # A bug, not a client or dependency error (those are AppErrors, answered inside).
            # One line with one traceback; the server sees a handled request, not a crash.
            error = type(exc).__qualname__
            error_log.exception("request.failed", method=scope["method"], path=scope["path"])
            if status == 0:
                response = problem_response(scope, INTERNAL, "Internal server error.")
                await response(scope, receive, send_with_request_id)
            # else: the response was under way; the server closes the connection.
        finally:
            seconds = time.perf_counter() - started
            request_ended(method, scope, status, seconds, error)
            self.access_log.info(
                "request",
                method=scope["method"],
                path=scope["path"],
                status=status or 500,
                duration_ms=round(seconds * 1000, 1),
                **done,
            )
            request_id_var.reset(token)
            staff_id_var.reset(who)
            done_var.reset(said)
