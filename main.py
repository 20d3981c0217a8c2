"""The app factory: the one module that knows every feature (and the only one that knows devenv).

uvicorn main:create_app --factory
"""

import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from devenv.database import provisioned_database
from devenv.local_llm import local_model_server
from devenv.settings import DevSettings
from features.ai_ask.route import router as ai_ask_router
from features.ai_handoff.route import router as ai_handoff_router
from features.ai_summary.route import router as ai_summary_router
from features.auth.route import router as auth_router
from features.categories.route import router as categories_router
from features.films.route import router as films_router
from features.health.route import router as health_router
from features.rentals.route import router as rentals_router
from features.subscriptions.route import router as subscriptions_router
from features.web.route import router as web_router
from shared.ai.capacity import AISlots
from shared.ai.kernel import build_ai_runtime
from shared.database import open_database
from shared.http.body_limit import BodyLimitMiddleware
from shared.http.docs_security import DocsSecurityMiddleware
from shared.http.errors import APP_RESPONSES, install_error_handlers
from shared.observability import RequestContextMiddleware, configure_logging
from shared.security.tokens import TokenKeys
from shared.settings import (
    Settings,
    cors_origins,
    get_settings,
    production_problems,
    resolve_llm_provider,
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    dev: DevSettings = app.state.dev_settings
    async with AsyncExitStack() as stack:
        # DATABASE_URL, or the embedded server (started once, here); prepared if configured.
        url = await stack.enter_async_context(provisioned_database(settings, dev))
        provider = resolve_llm_provider(settings)
        local = await stack.enter_async_context(
            local_model_server(dev, running=provider == "local")
        )
        app.state.ai = build_ai_runtime(settings, provider, app.state.ai_slots, local=local)
        app.state.local_model = local  # tests stop and kill it
        app.state.database = await stack.enter_async_context(open_database(url, settings))
        # Everything allocated so far (modules, Semantic Kernel, pydantic schemas: a large
        # heap) lives as long as the process. Take it out of the garbage collector's view, so
        # that a full collection under load does not walk it (pauses of hundreds of ms).
        gc.collect()
        gc.freeze()
        # A young-generation collection every 700 allocations (the default) runs several
        # times per request; every 10,000 is still a small heap between collections.
        gc.set_threshold(10_000, 10, 10)
        yield


DOCS_URL, REDOC_URL, OAUTH2_REDIRECT_URL = "/docs", "/redoc", "/docs/oauth2-redirect"


def operation_id(route: APIRoute) -> str:
    return f"{route.tags[0]}-{route.name}" if route.tags else route.name


def create_app(settings: Settings | None = None, dev: DevSettings | None = None) -> FastAPI:
    settings = settings or get_settings()
    if problems := production_problems(settings):
        raise RuntimeError("APP_ENV=production refuses to start: " + "; ".join(problems) + ".")
    configure_logging(settings)
    # /docs (Swagger UI) and /redoc with their scripts and styles served by the app itself, from
    # fastapi-offline's copies: no CDN, so they work offline and under a strict CSP.
    app = FastAPIOffline(
        docs_url=DOCS_URL,
        redoc_url=REDOC_URL,
        swagger_ui_oauth2_redirect_url=OAUTH2_REDIRECT_URL,
        title="Pagila API",
        version="0.1.0",
        summary="The Pagila DVD-rental database over async FastAPI + SQLModel, with Gen-AI "
        "endpoints on Semantic Kernel.",
        lifespan=lifespan,
        responses=APP_RESPONSES,
        # FastAPI's native OpenTelemetry looks up the tracer, meter and logger providers on
        # every request; none is configured here (structlog lines are our telemetry), and the
        # look-ups cost more than our access line.
        telemetry={"tracing": False, "metrics": False, "logs": False},
        # Operation ids a generated client can call by name ("films-list_films"), stable while
        # the handler keeps its name: FastAPI's default appends the path and method.
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.ai_slots = AISlots(settings.ai_max_concurrent)
    app.state.token_keys = TokenKeys(settings)
    app.state.dev_settings = dev or DevSettings()
    install_error_handlers(app)
    if origins := cors_origins(settings):
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST", "PUT", "PATCH"],
            allow_headers=["Authorization", "Content-Type", "Accept", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Location", "Retry-After"],
        )
    # fastapi-offline serves the docs at FastAPI's default paths (and keeps docs_url unset).
    app.add_middleware(DocsSecurityMiddleware, paths={DOCS_URL, REDOC_URL, OAUTH2_REDIRECT_URL})
    # Inside the request context: a 413 carries the request id and gets its access line.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.request_max_body_bytes)
    app.add_middleware(RequestContextMiddleware)
    # Routes are matched in this order: the busiest first.
    for router in (
        films_router,
        rentals_router,
        subscriptions_router,
        categories_router,
        health_router,
        auth_router,
        ai_ask_router,
        ai_summary_router,
        ai_handoff_router,
        web_router,
    ):
        app.include_router(router)
    return app
