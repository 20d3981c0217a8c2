"""Property-based tests from the OpenAPI document (Schemathesis): every operation, authorised,
with valid and invalid input, in process (ASGI) against the real database and the fake model.

Checks: no 5xx, only documented status codes and content types, bodies matching their schemas.
The app runs on its own migrated clone of Pagila: these requests commit (rentals, returns,
subscriptions, streaming flags) and must not disturb the other tests. Examples are derived from
a fixed seed (`derandomize`): a failure reproduces on every run.
"""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from devenv.database import drop_database, migrate
from main import create_app
from shared.ai.kernel import get_ai
from tests.fakes import FakeChat, fake_runtime
from tests.fixtures.database import clone_database
from tests.support import ADMIN, make_dev_settings, make_settings

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# A draft the summary schema accepts: the endpoint's answer comes from the database anyway.
DRAFT = '{"title": "A FILM", "rating": "PG", "recommended": false, "summary": "A short film."}'


@pytest.fixture(scope="module")
async def property_app(pagila_template_url: str) -> AsyncIterator[FastAPI]:
    url = await clone_database(pagila_template_url, f"pagila_test_props_{uuid.uuid4().hex[:8]}")
    try:
        await migrate(url)
        app = create_app(make_settings(database_url=url), make_dev_settings())
        chat = FakeChat(ai_model_id="fake", chunks=["A ", "short ", "answer."], reply_always=DRAFT)
        # provider "local": the store assistant's offline router runs its real SQL tools.
        app.dependency_overrides[get_ai] = lambda: fake_runtime(
            chat, app.state.ai_slots, provider="local"
        )
        async with app.router.lifespan_context(app):
            yield app
    finally:
        await drop_database(url)


@pytest.fixture(scope="module")
async def property_client(property_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=property_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


@pytest.fixture(scope="module")
def api_schema(property_app: FastAPI) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_dict(property_app.openapi())
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    return schema


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
async def test_every_operation_conforms_to_the_openapi(
    case: Case[Any], property_client: httpx.AsyncClient
) -> None:
    sent = case.as_transport_kwargs(base_url=str(property_client.base_url), headers=ADMIN)
    # requests encodes bodies (JSON, forms) exactly as Schemathesis means them; httpx sends them.
    prepared = requests.Request(
        method=sent["method"],
        url=sent["url"],
        headers=sent["headers"],
        params=sent.get("params"),
        cookies=sent.get("cookies"),
        json=sent.get("json"),
        data=sent.get("data"),
        files=sent.get("files"),
    ).prepare()
    body = prepared.body
    assert body is None or isinstance(body, bytes | str)
    # As bytes: a negative case may put non-ASCII in a header (Idempotency-Key, If-Match), which
    # a client can send as UTF-8 bytes though httpx refuses such a str.
    headers = [
        (k.encode(), v.encode() if isinstance(v, str) else v) for k, v in prepared.headers.items()
    ]
    response = await property_client.request(
        prepared.method or "GET", prepared.url or "", headers=headers, content=body
    )
    case.validate_response(response, checks=CHECKS, headers=ADMIN)
