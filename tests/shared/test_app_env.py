import pytest
import structlog

from main import create_app
from tests.support import make_dev_settings, make_settings

OWN_TOKEN = "a-service-token-of-our-own-0123456789"
OWN_KEY = "a-signing-key-of-our-own-0123456789abcdef"
DATABASE_URL = "postgresql+asyncpg://app@db.example:5432/pagila"  # never connected to here


def test_production_refuses_the_default_and_weak_secrets() -> None:
    with pytest.raises(RuntimeError) as refused:
        create_app(make_settings(app_env="production"), make_dev_settings())

    assert "ADMIN_TOKEN is the default" in str(refused.value)
    assert "JWT_SECRET is the development default" in str(refused.value)

    with pytest.raises(RuntimeError) as refused:
        create_app(
            make_settings(
                app_env="production",
                admin_token="short",
                jwt_secret=OWN_KEY,
                jwt_previous_secret="also-short",
                database_url=DATABASE_URL,
            ),
            make_dev_settings(),
        )
    assert str(refused.value) == (
        "APP_ENV=production refuses to start: ADMIN_TOKEN is shorter than 32 characters; "
        "JWT_PREVIOUS_SECRET is shorter than 32 characters."
    )


def test_production_refuses_without_database_url_or_with_the_local_model() -> None:
    """No development shortcut: no embedded PostgreSQL, no local model."""
    with pytest.raises(RuntimeError) as refused:
        create_app(
            make_settings(
                app_env="production",
                admin_token=OWN_TOKEN,
                jwt_secret=OWN_KEY,
                database_url=None,
                llm_provider="auto",
                openai_api_key=None,
                llm_base_url=None,
                azure_openai_endpoint=None,
            ),
            make_dev_settings(),
        )
    assert str(refused.value).startswith(
        "APP_ENV=production refuses to start: DATABASE_URL is unset; set it to your PostgreSQL "
        "(production never starts an embedded one)"
    )
    assert "the LLM provider is `local` (the embedded model is for development)" in str(
        refused.value
    )


@pytest.mark.parametrize("admin_token", [OWN_TOKEN, ""], ids=["own token", "switched off"])
def test_production_with_its_own_secrets_starts_and_logs_json(admin_token: str) -> None:
    create_app(
        make_settings(
            app_env="production",
            admin_token=admin_token,
            jwt_secret=OWN_KEY,
            database_url=DATABASE_URL,
            log_format="console",
        ),
        make_dev_settings(),
    )
    try:
        renderer = structlog.get_config()["processors"][-1]
        assert isinstance(renderer, structlog.processors.JSONRenderer)
    finally:
        create_app(make_settings(), make_dev_settings())  # back to the tests' logging
