"""Input the database cannot take is refused before any SQL: a 422 that says why, never a 500."""

from typing import Any

import httpx
import pytest

from tests.support import ADMIN

TOO_BIG = 2**31  # Pagila's ids are `integer`

# method, path, body, and the field the 422 must name (`loc`)
CASES: list[tuple[str, str, dict[str, Any] | None, tuple[str, str]]] = [
    ("GET", f"/films/{TOO_BIG}", None, ("path", "film_id")),
    ("GET", f"/films?offset={2**63}", None, ("query", "offset")),
    ("GET", "/films?category=%00", None, ("query", "category")),
    ("GET", "/films?category=com%00edy", None, ("query", "category")),
    ("GET", f"/rentals/{TOO_BIG}", None, ("path", "rental_id")),
    ("GET", f"/customers/{TOO_BIG}/rentals", None, ("path", "customer_id")),
    ("PUT", f"/rentals/{TOO_BIG}/return", None, ("path", "rental_id")),
    (
        "POST",
        f"/customers/{TOO_BIG}/rentals",
        {"inventory_id": 1, "staff_id": 1},
        ("path", "customer_id"),
    ),
    (
        "POST",
        "/customers/1/rentals",
        {"inventory_id": TOO_BIG, "staff_id": 1},
        ("body", "inventory_id"),
    ),
    (
        "POST",
        "/customers/1/rentals",
        {"inventory_id": 1, "staff_id": TOO_BIG},
        ("body", "staff_id"),
    ),
    (
        "POST",
        "/customers/1/rentals",
        {"inventory_id": True, "staff_id": 1},
        ("body", "inventory_id"),
    ),  # not copy 1
    (
        "POST",
        "/customers/1/rentals",
        {"inventory_id": "10", "staff_id": 1},
        ("body", "inventory_id"),
    ),
    ("POST", "/ai/summary", {"film_id": TOO_BIG}, ("body", "film_id")),
    ("POST", "/ai/summary", {"film_id": "1"}, ("body", "film_id")),
    ("GET", "/films?q=dino%00saur", None, ("query", "q")),
    ("GET", f"/films/{TOO_BIG}/availability", None, ("path", "film_id")),
    ("PATCH", f"/films/{TOO_BIG}", {"streaming_available": True}, ("path", "film_id")),
    ("GET", f"/customers/{TOO_BIG}/subscriptions", None, ("path", "customer_id")),
    (
        "POST",
        f"/customers/{TOO_BIG}/subscriptions",
        {"plan_name": "x", "start_date": "2026-01-01"},
        ("path", "customer_id"),
    ),
    (
        "POST",
        "/customers/1/subscriptions",
        {"plan_name": "a\x00b", "start_date": "2026-01-01"},
        ("body", "plan_name"),
    ),
    (
        "POST",
        "/customers/1/subscriptions",
        {"plan_name": "x", "start_date": "0"},
        ("body", "start_date"),
    ),
    (
        "POST",
        "/customers/1/subscriptions",
        {"plan_name": "x", "start_date": "1767225600"},
        ("body", "start_date"),
    ),
    (
        "POST",
        "/customers/1/subscriptions",
        {"plan_name": "x", "start_date": 1767225600},
        ("body", "start_date"),
    ),
    ("GET", f"/subscriptions/{TOO_BIG}", None, ("path", "subscription_id")),
    ("PUT", f"/subscriptions/{TOO_BIG}/end", None, ("path", "subscription_id")),
]


@pytest.mark.parametrize(("method", "path", "body", "loc"), CASES)
async def test_bad_input_is_a_422_naming_the_field(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    loc: tuple[str, str],
) -> None:
    response = await client.request(method, path, json=body, headers=ADMIN)

    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["loc"] == list(loc)
    assert error["msg"]


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
    assert response.json()["errors"][0]["msg"]


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
    assert response.json()["errors"][0]["msg"]
