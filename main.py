"""The app factory: the one module that knows every feature.

uvicorn main:create_app --factory
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from features.ai_ask.route import router as ai_ask_router
from features.ai_summary.route import router as ai_summary_router
from features.auth.route import router as auth_router
from features.films.route import router as films_router
from features.health.route import router as health_router
from features.rentals.route import router as rentals_router
from features.web.route import router as web_router
from shared.ai_kernel import ai_runtime
from shared.database import create_engine, create_sessionmaker, database_url_async
from shared.errors import install_error_handlers
from shared.logging_setup import configure_logging
from shared.request_context import RequestContextMiddleware
from shared.settings import Settings, get_settings


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    async with database_url_async(settings) as url, ai_runtime(settings) as ai:
        engine = create_engine(url, settings)
        app.state.engine = engine
        app.state.sessionmaker = create_sessionmaker(engine)
        app.state.ai = ai
        try:
            yield
        finally:
            await engine.dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings)
    app = FastAPI(
        title="Pagila API",
        version="0.1.0",
        summary="The Pagila DVD-rental database over async FastAPI + SQLModel, with Gen-AI "
        "endpoints on Semantic Kernel.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    for router in (
        web_router,
        health_router,
        auth_router,
        films_router,
        rentals_router,
        ai_ask_router,
        ai_summary_router,
    ):
        app.include_router(router)
    return app
