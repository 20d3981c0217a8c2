import httpx

from tests.support import make_settings

SETTINGS = make_settings()
CREDENTIALS = {
    "username": SETTINGS.admin_username,
    "password": SETTINGS.admin_password.get_secret_value(),
}


async def test_token_endpoint_issues_the_bearer_token(client: httpx.AsyncClient) -> None:
    ok = await client.post("/token", data=CREDENTIALS)
    wrong = await client.post("/token", data={**CREDENTIALS, "password": "nope"})

    assert ok.status_code == 200
    assert ok.json() == {
        "access_token": SETTINGS.admin_token.get_secret_value(),
        "token_type": "bearer",
    }
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    assert wrong.json() == {"detail": "Incorrect username or password."}
