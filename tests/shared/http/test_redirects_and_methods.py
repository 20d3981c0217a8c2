"""What the routing layer answers by itself: a redirect that never names a host the client
chose, and a 405 that lists every method of the path."""

import httpx
import pytest


async def test_a_trailing_slash_redirect_never_reflects_the_host(client: httpx.AsyncClient) -> None:
    response = await client.get(
        "/films/?limit=2", headers={"Host": "evil.example"}, follow_redirects=False
    )

    assert response.status_code == 307
    assert response.headers["location"] == "/films?limit=2"  # the same site, whatever Host said


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("OPTIONS", "/films/1", "GET, PATCH"),
        ("DELETE", "/customers/1/rentals", "GET, POST"),
        ("PUT", "/customers/1/subscriptions", "GET, POST"),
        ("DELETE", "/films", "GET"),
    ],
)
async def test_a_405_lists_every_method_of_the_path(
    client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    response = await client.request(method, path)

    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json()["detail"] == "Method Not Allowed"
    assert response.headers["x-request-id"]
