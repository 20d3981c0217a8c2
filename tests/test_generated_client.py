"""A Python client generated from our OpenAPI document (openapi-python-client) runs the README's
flow against the app on a real socket: what a client author gets is what works."""

import importlib
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text

from tests.support import MIKE, scalar


@pytest.fixture(scope="module")
def pagila_client(app: FastAPI, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    where = tmp_path_factory.mktemp("client")
    (where / "openapi.json").write_text(json.dumps(app.openapi()))
    (where / "config.yaml").write_text("post_hooks: []\npackage_name_override: pagila_client\n")
    generator = Path(sys.executable).parent / "openapi-python-client"
    subprocess.run(  # noqa: S603 - our own document, the locked generator
        [generator, "generate", "--path", "openapi.json", "--config", "config.yaml",
         "--output-path", "out"],
        cwd=where, check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    sys.path.insert(0, str(where / "out"))
    try:
        yield importlib.import_module("pagila_client")
    finally:
        sys.path.remove(str(where / "out"))
        for name in [m for m in sys.modules if m.startswith("pagila_client")]:
            del sys.modules[name]


@pytest.fixture
async def newest_rental(app: FastAPI) -> AsyncIterator[int]:
    """The rentals the test makes (after Pagila's newest one) go afterwards."""
    engine = app.state.database.engine
    async with engine.connect() as conn:
        newest: int = await scalar(conn, "SELECT max(rental_id) FROM rental")
    yield newest
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM rental WHERE rental_id > :n"), {"n": newest})


def _api(client: ModuleType, name: str) -> Any:
    return importlib.import_module(f"pagila_client.api.{name}")


async def test_the_readme_flow_through_a_generated_client(
    pagila_client: ModuleType, live_url: str, newest_rental: int
) -> None:
    models = importlib.import_module("pagila_client.models")
    guest = pagila_client.Client(base_url=live_url)

    page = await _api(pagila_client, "films.films_list_films").asyncio(
        client=guest, q="dinosaur", category="documentary"
    )
    availability = await _api(pagila_client, "films.films_get_availability").asyncio(
        client=guest, film_id=1
    )
    token = await _api(pagila_client, "auth.auth_issue_token").asyncio(
        client=guest, body=models.BodyAuthIssueToken(**MIKE)
    )
    mike = pagila_client.AuthenticatedClient(base_url=live_url, token=token.access_token)
    copy = availability.stores[0].available_inventory_ids[0]
    rent = _api(pagila_client, "rentals.rentals_create_rental")
    key = str(uuid.uuid4())
    rental = await rent.asyncio(
        client=mike, customer_id=5, body=models.RentalCreate(inventory_id=copy), idempotency_key=key
    )
    retried = await rent.asyncio(
        client=mike, customer_id=5, body=models.RentalCreate(inventory_id=copy), idempotency_key=key
    )
    taken = await rent.asyncio(
        client=mike, customer_id=6, body=models.RentalCreate(inventory_id=copy)
    )
    returned = await _api(pagila_client, "rentals.rentals_return_rental").asyncio(
        client=mike, rental_id=rental.rental_id
    )

    assert [film.title for film in page.items] == ["ACADEMY DINOSAUR"]
    assert isinstance(token, models.TokenOut)
    assert (rental.staff_id, rental.inventory_id) == (1, copy)  # recorded as Mike's
    assert rental.rental_id > newest_rental
    assert retried.rental_id == rental.rental_id  # a safe retry: the same rental
    assert isinstance(taken, models.ProblemDetails)
    assert taken.type_ == "/problems/copy-is-out"  # a client branches on the kind
    assert returned.return_date is not None
