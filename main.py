"""The app factory: the one module that knows every feature (and the only one that knows devenv).

uvicorn main:create_app --factory

devenv/ (the embedded PostgreSQL, Pagila, migrations on start, the local model) is imported in
development only, when the app starts: production (APP_ENV=production, the image's main
dependency group) never loads it.
"""

import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

import structlog
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute
from fastapi_offline import FastAPIOffline

from features.ai_ask.route import router as ai_ask_router
from features.ai_handoff.route import router as ai_handoff_router
from features.ai_summary.route import router as ai_summary_router
from features.auth.route import router as auth_router
from features.categories.route import router as categories_router
from features.films.route import router as films_router
from features.health.route import router as health_router
from features.problems.route import router as problems_router
from features.rentals.route import router as rentals_router
from features.subscriptions.route import router as subscriptions_router
from features.web.route import router as web_router
from shared.ai.capacity import AISlots
from shared.ai.kernel import ModelServer, build_ai_runtime
from shared.database import open_database
from shared.database.schema import require_current_schema
from shared.http.body_limit import BodyLimitMiddleware
from shared.http.docs_security import DocsSecurityMiddleware
from shared.http.errors import APP_RESPONSES, install_error_handlers
from shared.observability.logs import RequestContextMiddleware, configure_logging
from shared.observability.telemetry import configure_telemetry
from shared.security.tokens import TokenKeys
from shared.settings import (
    Settings,
    cors_origins,
    get_settings,
    production_problems,
    resolve_llm_provider,
)

if TYPE_CHECKING:
    from devenv.settings import DevSettings

log = structlog.get_logger("app")

# What development does on start and production never does (production_problems makes sure
# that it needs none of it: DATABASE_URL is set, the model is a hosted or OpenAI-compatible one).
PRODUCTION_SKIPS = ("embedded_postgres", "pagila_restore", "migrations", "local_model")


@asynccontextmanager
async def development_shortcuts(
    app: FastAPI, settings: Settings, provider: str
) -> AsyncIterator[tuple[str, ModelServer | None]]:
    """The database's URL and the local model, in development: DATABASE_URL or the embedded
    server (started once, here), created, restored and migrated when PREPARE_DATABASE is on;
    the local model server started when the provider is `local`."""
    from devenv.database import provisioned_database  # development only: see the module's doc
    from devenv.local_llm import local_model_server

    dev: DevSettings = app.state.dev_settings
    async with (
        provisioned_database(settings, dev) as url,
        local_model_server(dev, running=provider == "local") as local,
    ):
        yield url, local


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    provider = resolve_llm_provider(settings)
    production = settings.app_env == "production"
    async with AsyncExitStack() as stack:
        local: ModelServer | None = None
        if production:
            assert settings.database_url, "production_problems requires DATABASE_URL"
            url = settings.database_url
        else:
            url, local = await stack.enter_async_context(
                development_shortcuts(app, settings, provider)
            )
        app.state.ai = build_ai_runtime(settings, provider, app.state.ai_slots, local=local)
        app.state.local_model = local  # the model server this process runs (None: hosted)
        app.state.database = await stack.enter_async_context(open_database(url, settings))
        if production:
            # Migrations are a step of their own, before the replicas start.
            schema = await require_current_schema(app.state.database)
            log.info(
                "app.production",
                schema_revision=", ".join(sorted(schema)),
                llm_provider=provider,
                skipped=PRODUCTION_SKIPS,
            )
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


def create_app(settings: Settings | None = None, dev: "DevSettings | None" = None) -> FastAPI:
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
        # FastAPI's native OpenTelemetry: request spans named by route template (trace ids for
        # logs and error bodies; recorded when sampled) and request-duration metrics, on the
        # providers of shared/observability/telemetry.py (exporters and the Prometheus port).
        telemetry=configure_telemetry(settings),
        # Operation ids a generated client can call by name ("films-list_films"), stable while
        # the handler keeps its name: FastAPI's default appends the path and method.
        generate_unique_id_function=operation_id,
    )
    app.state.settings = settings
    app.state.ai_slots = AISlots(settings.ai_max_concurrent)
    app.state.token_keys = TokenKeys(settings)
    if settings.app_env != "production":
        from devenv.settings import DevSettings  # development only: see the module's doc

        dev = dev or DevSettings()
    app.state.dev_settings = dev  # unused in production
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
        problems_router,
        web_router,
    ):
        app.include_router(router)
    return app
