"""Fixtures live in tests/fixtures/ (a real PostgreSQL, the app, the fake model); helpers in
tests/support.py."""

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.app",
    "tests.fixtures.ai",
    "tests.fixtures.logs",
    "tests.fixtures.browser",
]
