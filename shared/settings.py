"""Application settings, read from the environment and an optional `.env` file."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

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

    # Logging.
    log_level: str = "INFO"
    log_format: Literal["console", "json"] = "console"


@lru_cache
def get_settings() -> Settings:
    return Settings()
