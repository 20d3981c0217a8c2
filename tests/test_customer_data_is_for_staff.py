"""A customer's rentals and subscriptions, and one rental or subscription, are staff data: no
token or a wrong one is a 401 (with WWW-Authenticate), the staff token reads them."""

import httpx
import pytest

from tests.support import ADMIN

STAFF_ONLY = [
    "/customers/1/rentals",
    "/rentals/1",
    "/customers/1/subscriptions",
    "/subscriptions/1",
]


@pytest.mark.parametrize("path", STAFF_ONLY)
@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-the-token"}])
async def test_without_the_staff_token_it_is_401(
    client: httpx.AsyncClient, path: str, headers: dict[str, str]
) -> None:
    response = await client.get(path, headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize("path", STAFF_ONLY)
async def test_with_the_staff_token_it_answers(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, headers=ADMIN)

    # 404 for a subscription nobody has made in the test database: past the guard all the same.
    assert response.status_code == (404 if path == "/subscriptions/1" else 200), response.text


@pytest.mark.parametrize("path", ["/films", "/films/1", "/films/1/availability", "/categories"])
async def test_the_catalogue_stays_public(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 200
