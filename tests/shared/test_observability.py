import json
import logging
from typing import Any

import httpx
import pytest
import structlog

from shared.observability import configure_logging, request_id_var
from tests.fixtures.logs import of
from tests.support import ADMIN, make_settings


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
