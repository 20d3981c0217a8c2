import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import structlog
from prometheus_client import REGISTRY

from main import create_app
from shared.observability.logs import configure_logging
from shared.observability.request_context import request_id_var
from tests.fixtures.logs import of
from tests.support import ADMIN, make_dev_settings, make_settings, serve_on_loopback


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    given = await client.get("/health", headers={"X-Request-ID": "abc-123"})
    generated = await client.get("/health")
    hostile = await client.get("/health", headers={"X-Request-ID": "x\tinjected " * 20})

    assert given.headers["X-Request-ID"] == "abc-123"
    assert len(generated.headers["X-Request-ID"]) == 32
    assert hostile.headers["X-Request-ID"] != "x\tinjected " * 20


async def test_one_access_line_per_request_without_secrets(
    client: httpx.AsyncClient,
    log_events: list[dict[str, Any]],
    capsys: pytest.CaptureFixture[str],
) -> None:
    await client.put("/rentals/1/return", headers={**ADMIN, "X-Request-ID": "req-1"})

    access = of(log_events, "request")
    assert len(access) == 1
    assert access[0]["method"] == "PUT"
    assert access[0]["path"] == "/rentals/1/return"
    assert access[0]["status"] == 409  # Pagila's rental 1 is returned
    assert access[0]["request_id"] == "req-1"
    assert isinstance(access[0]["duration_ms"], float)
    written = capsys.readouterr().err
    assert "request_id=req-1" in written
    assert "dvd_admin" not in written
    assert "dvd_admin" not in json.dumps(log_events, default=str)


def test_json_log_lines_carry_the_bound_request_id(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(make_settings(log_format="json"))
    try:
        token = request_id_var.set("rid-42")
        structlog.get_logger("test").info("hello", token="secret-value")
        logging.getLogger("uvicorn.error").info("from uvicorn")
    finally:
        request_id_var.reset(token)
        with capsys.disabled():  # bind the handler to the real stderr again, not the capture
            configure_logging(make_settings())

    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    ours, uvicorn = lines
    assert ours["event"] == "hello"
    assert ours["request_id"] == "rid-42"
    assert ours["token"] == "***"
    assert ours["level"] == "info"
    assert uvicorn["event"] == "from uvicorn"
    assert uvicorn["request_id"] == "rid-42"


@pytest.fixture
async def buggy_url(test_db_url: str) -> AsyncIterator[str]:
    """The app with one route of the test's own that has a bug, on a real socket."""
    application = create_app(make_settings(database_url=test_db_url), make_dev_settings())

    async def broken() -> None:
        raise RuntimeError("a bug")

    application.add_api_route("/broken", broken)
    async with (
        application.router.lifespan_context(application),
        serve_on_loopback(application) as url,
    ):
        yield url


async def test_a_bug_is_a_json_500_and_one_line_with_one_traceback(
    buggy_url: str, caplog: pytest.LogCaptureFixture, log_events: list[dict[str, Any]]
) -> None:
    async with httpx.AsyncClient(base_url=buggy_url) as client:
        response = await client.get("/broken", headers={"X-Request-ID": "bug-1"})
        after = await client.get("/health")  # the connection and the server carry on

    assert response.status_code == 500
    assert response.json()["detail"] == "Internal server error."
    assert response.headers["X-Request-ID"] == "bug-1"
    assert after.status_code == 200
    [failed] = of(log_events, "request.failed")
    assert failed["request_id"] == "bug-1"
    assert failed["exception"].count("Traceback") == 1
    assert "RuntimeError: a bug" in failed["exception"]
    assert [e["status"] for e in of(log_events, "request") if e["request_id"] == "bug-1"] == [500]
    assert not [r for r in caplog.records if r.exc_info], "the server logged a traceback too"


def _requests(**labels: str) -> float:
    """Requests counted by http.server.request.duration with these labels (an attribute not
    recorded is exported as an empty label)."""
    return sum(
        sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == "http_server_request_duration_seconds_count"
        and labels.items() <= sample.labels.items()
    )


def _in_progress() -> float:
    return sum(
        sample.value
        for family in REGISTRY.collect()
        for sample in family.samples
        if sample.name == "http_server_active_requests"
    )


async def test_each_request_is_metered_by_route_template_status_and_error(
    buggy_url: str,
) -> None:
    """One measurement per request (the request-context middleware's, see telemetry.py): the
    route's template, never the path; no route when none matched; a bug's exception type."""
    film = {"http_route": "/films/{film_id}", "http_response_status_code": "200"}
    bug = {"http_route": "/broken", "http_response_status_code": "500"}
    unrouted = {"http_route": "", "http_response_status_code": "404"}
    film["error_type"], bug["error_type"], unrouted["error_type"] = "", "RuntimeError", ""
    common = {"http_request_method": "GET", "url_scheme": "http"}
    kinds = (film, bug, unrouted)
    before = [_requests(**common, **labels) for labels in kinds]

    async with httpx.AsyncClient(base_url=buggy_url) as client:
        for path in ("/films/1", "/films/2", "/broken", "/no-such-page"):
            await client.get(path)

    after = [_requests(**common, **labels) for labels in kinds]
    assert [b - a for a, b in zip(before, after, strict=True)] == [2, 1, 1]
    assert _in_progress() == 0
