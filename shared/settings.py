"""Runtime settings (what a request needs), from the environment and an optional `.env` file.

Provisioning settings (embedded PostgreSQL, Pagila, the local model) are devenv's own.
"""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import AfterValidator, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# Development's token signing key: production refuses it (and any secret shorter than
# MIN_SECRET_CHARS; `openssl rand -hex 32` makes a good one).
DEV_JWT_SECRET = "development-only-jwt-secret-change-me"  # noqa: S105 - a refused default
# The spec's seed token, the service credential's default; refused in production too.
SEED_ADMIN_TOKEN = "dvd_admin"  # noqa: S105 - a refused default
MIN_SECRET_CHARS = 32


def asyncpg_url(url: str | None) -> str | None:
    """`postgresql://` and `postgres://` get the asyncpg driver; another driver is refused."""
    if url is None:
        return None
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError("not a URL: use postgresql+asyncpg://USER@HOST:PORT/DATABASE")
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    if scheme != "postgresql+asyncpg":
        raise ValueError(
            f"{scheme}:// is not supported: the app talks to PostgreSQL through asyncpg "
            "(postgresql+asyncpg://USER@HOST:PORT/DATABASE, or postgresql://...)"
        )
    return url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=PROJECT_ROOT / ".env", extra="ignore")

    # `production` refuses to start with a default or weak secret (production_problems), and
    # logs JSON.
    app_env: Literal["development", "production"] = "development"

    # Database: the server the app uses. Unset in development: devenv/ then provides the
    # embedded PostgreSQL (see devenv/settings.py for the provisioning settings).
    database_url: Annotated[str | None, AfterValidator(asyncpg_url)] = None
    # Reads (the one-statement reads of the read pool) from a streaming replica; writes, and
    # the reads a write makes, stay on DATABASE_URL. Unset: the primary. A read right after a
    # write may not see it yet (replica lag; the write's own response has the new state); a
    # replica that is down is a 503 for reads, not a silent move of every read to the primary.
    database_read_url: Annotated[str | None, AfterValidator(asyncpg_url)] = None
    db_pool_size: int = Field(default=10, ge=1)
    # Connections beyond the pool are opened and closed per request under load (a connection
    # setup and a server process each time); requests wait for a pooled one instead.
    db_max_overflow: int = Field(default=0, ge=0)
    db_pool_timeout_s: float = Field(default=10.0, gt=0)
    db_connect_timeout_s: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    # `transaction`: DATABASE_URL is a transaction-mode pooler (PgBouncer): a server connection
    # is ours for one transaction only. Then no named prepared statement is made (it would stay
    # on a server connection that other clients get next), and the statement timeout is the
    # role's setting in the database (provisioning sets it; start-up checks it), since a pooler
    # refuses it as a start-up parameter. Provisioning then needs DATABASE_DIRECT_URL.
    db_pooler: Literal["none", "transaction"] = "none"

    # Auth. Staff sign in at POST /token with their Pagila username and password and get an
    # access token: a JWT (HS256) signed with JWT_SECRET, valid for ACCESS_TOKEN_TTL_S. After a
    # rotation, JWT_PREVIOUS_SECRET (the key before) is still accepted: keep it one TTL, until
    # the last token it signed has expired, then unset it.
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_previous_secret: SecretStr | None = None
    access_token_ttl_s: int = Field(default=1800, ge=60, le=24 * 3600)
    # The service credential (`Authorization: Bearer dvd_admin`): acts for no member of staff
    # in particular, so a rental made with it names its staff_id. Empty: switched off.
    admin_token: SecretStr = SecretStr(SEED_ADMIN_TOKEN)
    # POST /token failures (counted in PostgreSQL, table token_failure: one limit for every
    # worker and host) within TOKEN_FAILURE_WINDOW_S: TOKEN_MAX_FAILURES for one username from
    # one client, TOKEN_CLIENT_MAX_FAILURES for a client over any usernames. Past either, that
    # client waits TOKEN_LOCKOUT_S, doubled by each further failure (up to the window).
    token_max_failures: int = Field(default=5, ge=1)
    token_client_max_failures: int = Field(default=20, ge=1)
    token_failure_window_s: float = Field(default=900.0, gt=0)
    token_lockout_s: float = Field(default=30.0, gt=0)
    # How long an Idempotency-Key's response is kept for a retry (shared/http/idempotency.py).
    idempotency_key_ttl_s: float = Field(default=24 * 3600.0, gt=0)

    # LLM provider: `auto` picks openai-compatible when LLM_BASE_URL is set, azure when
    # AZURE_OPENAI_ENDPOINT is, openai when OPENAI_API_KEY is, else the embedded local model.
    llm_provider: Literal["auto", "openai", "azure", "openai-compatible", "local"] = "auto"
    openai_api_key: SecretStr | None = None
    openai_model: str = "gpt-4o-mini"
    azure_openai_endpoint: str | None = None
    azure_openai_deployment: str | None = None
    azure_openai_api_version: str = "2024-10-21"
    azure_openai_api_key: SecretStr | None = None
    llm_base_url: str | None = None
    llm_model: str = "local-model"
    llm_api_key: SecretStr = SecretStr("not-needed")
    llm_timeout_s: float = Field(default=60.0, gt=0)
    llm_max_tokens: int = Field(default=512, ge=1)
    # /ai/ask gives the model the catalogue's films that match the question, as the only films
    # it may name (false: the model alone, for comparison).
    ask_grounding: bool = True
    # Whether the openai-compatible server can call tools (OpenAI and Azure can; the embedded
    # local model cannot): the store assistant then lets the model route and call tools.
    llm_tool_calling: bool = False
    handoff_timeout_s: float = Field(default=30.0, gt=0)
    # Per client (a signed-in member of staff, else an address), counted in PostgreSQL across
    # workers and hosts (shared/ai/quota.py): AI requests a minute, whatever answers them; model
    # calls a minute and at once. Past them, 429 + Retry-After.
    ai_requests_per_minute: int = Field(default=60, ge=1)
    ai_model_calls_per_minute: int = Field(default=10, ge=1)
    ai_model_calls_at_once: int = Field(default=2, ge=1)
    # Tokens a UTC day for the whole service, as the provider reports them (set it for a hosted
    # provider: OpenAI, Azure); past it, model answers are a 503 and database answers go on.
    # Unset: no budget.
    ai_daily_token_budget: int | None = Field(default=None, ge=1)
    # Model calls in progress at once (per worker); answers from the database alone take none.
    ai_max_concurrent: int = Field(default=8, ge=1)
    # How long a model call waits for a slot and then for the model's first text, in all;
    # past it, 503 + Retry-After (a frozen or overloaded model is not waited for).
    ai_wait_timeout_s: float = Field(default=30.0, gt=0)
    # POST /ai/summary serves a summary kept in PostgreSQL for the same facts, model and prompt.
    ai_summary_cache: bool = True

    # Request bounds, enforced by the server itself (no proxy needed in front): a request line +
    # headers over REQUEST_MAX_HEADER_BYTES get 431, a body over REQUEST_MAX_BODY_BYTES 413 (from
    # Content-Length, or while a chunked body is counted), and a connection that has not sent
    # its whole request head within REQUEST_HEADER_TIMEOUT_S is closed (slowloris).
    request_max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    request_max_body_bytes: int = Field(default=1024 * 1024, ge=1)
    request_header_timeout_s: float = Field(default=5.0, gt=0)

    # Browser origins other than the app's own that may call the API (comma-separated). Unset:
    # CORS is off, and only the same-origin page can call it from a browser.
    cors_origins: str | None = None

    # Logging.
    log_level: str = "INFO"
    log_format: Literal["console", "json"] = "console"

    # Telemetry (shared/observability/telemetry.py, docs/observability.md). Metrics: Prometheus on
    # METRICS_PORT (each of WEB_CONCURRENCY workers takes the next free port; 0 = no endpoint),
    # OTLP too when OTEL_EXPORTER_OTLP_ENDPOINT is set. Traces: exported by OTLP only (the
    # standard OTEL_* variables); of the requests, TRACE_SAMPLE_RATIO are recorded.
    metrics_enabled: bool = True
    metrics_port: int = Field(default=9464, ge=0, le=65535)
    # Where the metrics endpoint listens: this machine only, unless a scraper elsewhere needs it
    # (the image sets 0.0.0.0: a container's own network, published to no one by default).
    metrics_host: str = "127.0.0.1"
    trace_sample_ratio: float = Field(default=0.1, ge=0.0, le=1.0)


def production_problems(settings: Settings) -> list[str]:
    """Why these settings must not serve in production (empty: they may). Production takes no
    development shortcut: no embedded PostgreSQL (DATABASE_URL is required) and no local model
    (a hosted or OpenAI-compatible one is)."""
    if settings.app_env != "production":
        return []
    problems = []
    if not settings.database_url:
        problems.append(
            "DATABASE_URL is unset; set it to your PostgreSQL (production never starts an "
            "embedded one), migrated beforehand (`just migrate`, or compose's `migrate` service)"
        )
    if resolve_llm_provider(settings) == "local":
        problems.append(
            "the LLM provider is `local` (the embedded model is for development); configure a "
            "hosted or OpenAI-compatible one: OPENAI_API_KEY, AZURE_OPENAI_ENDPOINT, or "
            "LLM_BASE_URL"
        )
    admin_token = settings.admin_token.get_secret_value()
    if admin_token == SEED_ADMIN_TOKEN:
        problems.append("ADMIN_TOKEN is the default; set your own, or empty to switch it off")
    elif admin_token and len(admin_token) < MIN_SECRET_CHARS:
        problems.append(f"ADMIN_TOKEN is shorter than {MIN_SECRET_CHARS} characters")
    for name in ("jwt_secret", "jwt_previous_secret"):
        secret: SecretStr | None = getattr(settings, name)
        if secret is None:
            continue
        if secret.get_secret_value() == DEV_JWT_SECRET:
            problems.append(f"{name.upper()} is the development default; set your own")
        elif len(secret.get_secret_value()) < MIN_SECRET_CHARS:
            problems.append(f"{name.upper()} is shorter than {MIN_SECRET_CHARS} characters")
    return problems


def cors_origins(settings: Settings) -> list[str]:
    return [o.strip() for o in (settings.cors_origins or "").split(",") if o.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()


def settings_of(request: Request) -> Settings:
    """The settings the app was created with (tests create apps with their own)."""
    settings: Settings = request.app.state.settings
    return settings


async def get_app_settings(request: Request) -> Settings:
    return settings_of(request)


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


LLMProvider = Literal["openai", "azure", "openai-compatible", "local"]


def resolve_llm_provider(settings: Settings) -> LLMProvider:
    if settings.llm_provider != "auto":
        return settings.llm_provider
    if settings.llm_base_url:
        return "openai-compatible"
    if settings.azure_openai_endpoint:
        return "azure"
    if settings.openai_api_key:
        return "openai"
    return "local"
