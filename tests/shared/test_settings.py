import re
from pathlib import Path

from devenv.settings import DevSettings
from shared.settings import PROJECT_ROOT, Settings

ENV_EXAMPLE = PROJECT_ROOT / ".env.example"
README = PROJECT_ROOT / "README.md"


def _documented(path: Path) -> set[str]:
    return set(re.findall(r"^#? ?([A-Z][A-Z0-9_]+)=", path.read_text(), re.MULTILINE))


SETTINGS = {name.upper() for model in (Settings, DevSettings) for name in model.model_fields}


def test_env_example_lists_every_setting() -> None:
    settings = SETTINGS

    assert settings - _documented(ENV_EXAMPLE) == set()


def test_readme_configuration_table_lists_every_setting() -> None:
    readme = README.read_text()

    assert {name for name in SETTINGS if f"`{name}`" not in readme} == set()
