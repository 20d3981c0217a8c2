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
    ("GET", "/films?q=dino%00saur", None),
    ("GET", f"/films/{TOO_BIG}/availability", None),
    ("PATCH", f"/films/{TOO_BIG}", {"streaming_available": True}),
    ("GET", f"/customers/{TOO_BIG}/subscriptions", None),
    ("POST", f"/customers/{TOO_BIG}/subscriptions", {"plan_name": "x", "start_date": "2026-01-01"}),
    ("POST", "/customers/1/subscriptions", {"plan_name": "a\x00b", "start_date": "2026-01-01"}),
    ("POST", "/customers/1/subscriptions", {"plan_name": "x", "start_date": "0"}),
    ("POST", "/customers/1/subscriptions", {"plan_name": "x", "start_date": "1767225600"}),
    ("POST", "/customers/1/subscriptions", {"plan_name": "x", "start_date": 1767225600}),
    ("GET", f"/subscriptions/{TOO_BIG}", None),
    ("PUT", f"/subscriptions/{TOO_BIG}/end", None),
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
        b"\x00\xff not json" * 50_000,  # under REQUEST_MAX_BODY_BYTES (1 MiB): past it, 413
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


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/customers/1/subscriptions", b'{"plan_name": "\\ud800", "start_date": "2026-01-01"}'),
        ("/customers/1/subscriptions", b'{"\\udfff": 1, "plan_name": "x", "start_date": "x"}'),
        ("/films/1", b'{"streaming_available": true, "\\ud800": 1}'),
        ("/ai/handoff", b'{"question": "\\ud800"}'),
    ],
    ids=["surrogate-value", "surrogate-key", "surrogate-extra-key", "surrogate-question"],
)
async def test_a_lone_surrogate_is_a_422_not_a_500(
    client: httpx.AsyncClient, path: str, raw: bytes
) -> None:
    """ "\\ud800" is valid JSON but no UTF-8 text: the 422 must not echo it as is."""
    method = "PATCH" if path.startswith("/films") else "POST"
    headers = {**ADMIN, "Content-Type": "application/json"}

    response = await client.request(method, path, content=raw, headers=headers)

    assert response.status_code == 422, response.text[:300]
    assert response.json()["detail"][0]["msg"]
