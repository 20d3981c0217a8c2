"""`.env.example`, the settings classes and the docs' generated configuration page say the same
thing."""

import importlib.util
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from devenv.settings import DevSettings
from shared.settings import PROJECT_ROOT, Settings
from tests.support import make_settings

ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
DOCS_HOOK = PROJECT_ROOT / "docs" / "hooks" / "generated_pages.py"
MODELS = (Settings, DevSettings)
FIELDS = {name.upper(): field for model in MODELS for name, field in model.model_fields.items()}
# Read by uvicorn, just or the tests, not by a settings class.
OTHERS = {
    "HOST",
    "PORT",
    "WEB_CONCURRENCY",
    "FORWARDED_ALLOW_IPS",
    "CMAKE_ARGS",
    "TEST_DATABASE_URL",
    # OpenTelemetry's SDK reads these itself.
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_SERVICE_NAME",
}


def _lines(pattern: str) -> dict[str, str]:
    return dict(re.findall(pattern, ENV_EXAMPLE.read_text(), re.MULTILINE))


def _as_text(value: Any) -> str:
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, Path):
        return str(value.relative_to(PROJECT_ROOT)) if value.is_absolute() else str(value)
    return str(value)


def test_env_example_shows_every_default_as_a_value() -> None:
    values = _lines(r"^([A-Z][A-Z0-9_]+)=(.*)$")
    examples = _lines(r"^# ([A-Z][A-Z0-9_]+)=(.*)$")

    assert set(FIELDS) | OTHERS == set(values) | set(examples)
    assert not set(values) & set(examples)
    for name, field in FIELDS.items():
        if field.default is None:
            assert name in examples, f"{name} is unset by default: show it as an example"
        else:
            assert values.get(name) == _as_text(field.default), name


def _configuration_page() -> str:
    """The page `mkdocs build` generates (docs/hooks/generated_pages.py), made the same way."""
    spec = importlib.util.spec_from_file_location("generated_pages", DOCS_HOOK)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    page: str = module.configuration_page()
    return page


def test_the_configuration_page_lists_every_setting_with_its_default() -> None:
    rows = {
        m.group(1): line
        for line in _configuration_page().splitlines()
        if (m := re.match(r"^\| `([A-Z][A-Z0-9_]+)` \|", line))
    }

    assert set(FIELDS) | OTHERS <= set(rows)
    for name, field in FIELDS.items():
        default = rows[name].split(" | ")[1]
        if field.default is None:
            assert default.startswith("unset"), name
        else:
            assert default == f"`{_as_text(field.default)}`", name


@pytest.mark.parametrize("scheme", ["postgresql", "postgres", "postgresql+asyncpg"])
def test_a_postgresql_url_gets_the_asyncpg_driver(scheme: str) -> None:
    settings = make_settings(database_url=f"{scheme}://u:p@db.example:6543/pagila")
    assert settings.database_url == "postgresql+asyncpg://u:p@db.example:6543/pagila"


def test_another_driver_is_refused_in_one_sentence() -> None:
    with pytest.raises(ValidationError, match=r"postgresql\+psycopg:// is not supported"):
        make_settings(database_url="postgresql+psycopg://u@h/pagila")
