import pytest
import structlog

from main import create_app
from tests.support import make_dev_settings, make_settings


def test_production_refuses_the_default_secrets() -> None:
    with pytest.raises(RuntimeError) as refused:
        create_app(make_settings(app_env="production"), make_dev_settings())

    assert "ADMIN_TOKEN is the default" in str(refused.value)
    assert "ADMIN_PASSWORD is the default" in str(refused.value)

    with pytest.raises(RuntimeError, match="ADMIN_PASSWORD") as refused:
        create_app(
            make_settings(app_env="production", admin_token="t0ken-of-our-own"),
            make_dev_settings(),
        )
    assert "ADMIN_TOKEN" not in str(refused.value)


def test_production_with_its_own_secrets_starts_and_logs_json() -> None:
    create_app(
        make_settings(
            app_env="production",
            admin_token="t0ken-of-our-own",
            admin_password="a-long-passphrase",
            log_format="console",
        ),
        make_dev_settings(),
    )
    try:
        renderer = structlog.get_config()["processors"][-1]
        assert isinstance(renderer, structlog.processors.JSONRenderer)
    finally:
        create_app(make_settings(), make_dev_settings())  # back to the tests' logging
