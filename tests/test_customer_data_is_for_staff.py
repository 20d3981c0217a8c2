"""A customer's rentals and subscriptions, and one rental or subscription, are staff data: no
token or a wrong one is a 401 (with WWW-Authenticate), a staff member's token or the service
token reads them."""

import httpx
import pytest

from tests.support import ADMIN, JON, sign_in

STAFF_ONLY = [
    "/customers/1/rentals",
    "/rentals/1",
    "/customers/1/subscriptions",
    "/subscriptions/1",
]


@pytest.mark.parametrize("path", STAFF_ONLY)
@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, "Bearer"),
        (
            {"Authorization": "Bearer not-the-token"},
            'Bearer error="invalid_token", error_description="The token is malformed."',
        ),
    ],
)
async def test_without_a_staff_token_it_is_401(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], challenge: str
) -> None:
    response = await client.get(path, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == challenge


@pytest.mark.parametrize("path", STAFF_ONLY)
@pytest.mark.parametrize("who", ["staff", "service"])
async def test_with_a_staff_token_it_answers(
    client: httpx.AsyncClient, path: str, who: str
) -> None:
    headers = await sign_in(client, JON) if who == "staff" else ADMIN
    response = await client.get(path, headers=headers)

    # 404 for a subscription nobody has made in the test database: past the guard all the same.
    assert response.status_code == (404 if path == "/subscriptions/1" else 200), response.text


@pytest.mark.parametrize("path", ["/films", "/films/1", "/films/1/availability", "/categories"])
async def test_the_catalogue_stays_public(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 200
