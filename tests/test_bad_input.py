"""Input the database cannot take is refused before any SQL: a 422 that says why, never a 500."""

from typing import Any

import httpx
import pytest

from tests.support import ADMIN

TOO_BIG = 2**31  # Pagila's ids are `integer`

CASES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", f"/films/{TOO_BIG}", None),
    ("GET", f"/films?offset={2**63}", None),
    ("GET", "/films?category=%00", None),
    ("GET", "/films?category=com%00edy", None),
    ("GET", f"/rentals/{TOO_BIG}", None),
    ("GET", f"/customers/{TOO_BIG}/rentals", None),
    ("PUT", f"/rentals/{TOO_BIG}/return", None),
    ("POST", f"/customers/{TOO_BIG}/rentals", {"inventory_id": 1, "staff_id": 1}),
    ("POST", "/customers/1/rentals", {"inventory_id": TOO_BIG, "staff_id": 1}),
    ("POST", "/customers/1/rentals", {"inventory_id": 1, "staff_id": TOO_BIG}),
    ("POST", "/customers/1/rentals", {"inventory_id": True, "staff_id": 1}),  # not copy 1
    ("POST", "/customers/1/rentals", {"inventory_id": "10", "staff_id": 1}),
    ("POST", "/ai/summary", {"film_id": TOO_BIG}),
    ("POST", "/ai/summary", {"film_id": "1"}),
]


@pytest.mark.parametrize(("method", "path", "body"), CASES)
async def test_bad_input_is_a_422(
    client: httpx.AsyncClient, method: str, path: str, body: dict[str, Any] | None
) -> None:
    response = await client.request(method, path, json=body, headers=ADMIN)

    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"film_id": NaN}',
        b'{"film_id": Infinity}',
        b'{"film_id": 1e400}',
        b'{"film_id": -1e400}',
        b'{"film_id": 1.5}',
        b'{"film_id": ' + b"9" * 4000 + b"}",
        b'{"film_id": "' + b"x" * 1_000_000 + b'"}',
        b'{"film_id": [' + b"1," * 100_000 + b"1]}",
        b"\x00\xff not json" * 100_000,
    ],
    ids=[
        "nan",
        "inf",
        "1e400",
        "-1e400",
        "float",
        "4000-digits",
        "1MB-string",
        "100k-list",
        "binary",
    ],
)
async def test_a_422_never_echoes_unbounded_or_non_json_input(
    client: httpx.AsyncClient, raw: bytes
) -> None:
    response = await client.post(
        "/ai/summary", content=raw, headers={"Content-Type": "application/json"}
    )

    assert response.status_code == 422, response.text[:300]
    assert len(response.content) < 2_000
    assert response.json()["detail"][0]["msg"]
