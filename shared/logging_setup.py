"""structlog for our logs and the standard library's (uvicorn, SQLAlchemy) in one pipeline.

JSON lines when LOG_FORMAT=json, coloured console output otherwise. Context variables (the
request id) are merged into every line, and secrets are masked before rendering.
"""

import logging
import sys
from typing import Any

import structlog
from structlog.types import EventDict, Processor

from shared.settings import Settings

_SECRET_KEYS = frozenset({"authorization", "token", "access_token", "password", "api_key"})


def _mask_secrets(_: Any, __: str, event_dict: EventDict) -> EventDict:
    for key in event_dict.keys() & _SECRET_KEYS:
        event_dict[key] = "***"
    return event_dict


def configure_logging(settings: Settings) -> None:
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _mask_secrets,
    ]
    renderer: Processor
    if settings.log_format == "json":
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(settings.log_level.upper())

    # uvicorn installs its own handlers before it loads the app: route them through ours.
    for name in ("uvicorn", "uvicorn.error"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers = []
        uvicorn_logger.propagate = True
    # Our middleware writes the access line (with request id and duration).
    logging.getLogger("uvicorn.access").disabled = True
    # Libraries that log each HTTP call or prompt at INFO; shared/ai_calls.py logs LLM calls.
    for name in ("httpx", "openai", "semantic_kernel"):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
