import httpx
import pytest

from main import create_app
from tests.support import make_dev_settings, make_settings


@pytest.mark.parametrize(
    "path", ["/", "/static/app.js", "/static/style.css", "/static/favicon.svg"]
)
async def test_the_page_and_its_files_carry_security_headers(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.get(path)

    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"].startswith("default-src 'none'")
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "access-control-allow-origin" not in response.headers  # CORS is off


async def test_cors_is_off_unless_origins_are_configured(test_db_url: str) -> None:
    preflight = {
        "Origin": "https://shop.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "Authorization",
    }
    for origins, allowed in (("", None), ("https://shop.example", "https://shop.example")):
        app = create_app(
            make_settings(database_url=test_db_url, cors_origins=origins or None),
            make_dev_settings(),
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as http:
            response = await http.options("/customers/1/rentals", headers=preflight)
            simple = await http.get("/static/favicon.svg", headers={"Origin": preflight["Origin"]})

        assert response.headers.get("access-control-allow-origin") == allowed
        assert simple.headers.get("access-control-allow-origin") == allowed
