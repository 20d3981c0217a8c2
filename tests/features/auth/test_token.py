import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from fastapi import FastAPI
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy.ext.asyncio import AsyncConnection

from features.auth import passwords
from main import create_app
from shared.security.tokens import ALGORITHM, InvalidTokenError, TokenKeys, key_id
from shared.settings import DEV_JWT_SECRET
from tests.fixtures.logs import of
from tests.support import ADMIN, JON, MIKE, make_dev_settings, make_settings, scalar, sign_in

SETTINGS = make_settings()


async def test_staff_sign_in_with_pagilas_digest_once_then_with_its_argon2_hash(
    client: httpx.AsyncClient, db: AsyncConnection, log_events: list[dict[str, Any]]
) -> None:
    assert await scalar(db, "SELECT password FROM staff WHERE staff_id = 1") == (
        "8cb2237d0679ca88db6464eac60da96345513964"  # SHA-1 of 12345, unsalted
    )

    first = await client.post("/token", data=MIKE)
    rehashed = await scalar(db, "SELECT password FROM staff WHERE staff_id = 1")
    again = await client.post("/token", data=MIKE)
    wrong = await client.post("/token", data={**MIKE, "password": "1234"})

    assert first.status_code == 200
    body = first.json()
    assert {k: body[k] for k in ("token_type", "expires_in", "staff_id", "store_id", "name")} == {
        "token_type": "bearer",
        "expires_in": 1800,
        "staff_id": 1,
        "store_id": 1,
        "name": "Mike Hillyer",
    }
    claims = jwt.decode(body["access_token"], DEV_JWT_SECRET, algorithms=[ALGORITHM])
    assert (claims["sub"], claims["store"], claims["exp"] - claims["iat"]) == ("1", 1, 1800)
    assert jwt.get_unverified_header(body["access_token"])["kid"] == key_id(DEV_JWT_SECRET)
    assert rehashed.startswith("$argon2id$")
    assert again.status_code == 200
    assert await scalar(db, "SELECT password FROM staff WHERE staff_id = 1") == rehashed
    assert wrong.status_code == 401
    assert wrong.headers["WWW-Authenticate"] == "Bearer"
    assert [e["rehashed"] for e in of(log_events, "auth.token_issued")] == [True, False]
    assert "12345" not in repr(log_events)


async def test_an_inactive_member_of_staff_cannot_sign_in(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    await db.exec_driver_sql("UPDATE staff SET active = false WHERE staff_id = 2")

    refused = await client.post("/token", data=JON)

    assert refused.status_code == 401
    assert (
        refused.json()["detail"] == "Incorrect username or password, or the account is not active."
    )


async def test_deactivating_a_member_of_staff_revokes_their_token(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    jon = await sign_in(client, JON)
    before = await client.get("/rentals/1", headers=jon)
    await db.exec_driver_sql("UPDATE staff SET active = false WHERE staff_id = 2")
    after = await client.get("/rentals/1", headers=jon)

    assert before.status_code == 200
    assert after.status_code == 401
    assert after.json()["detail"] == "This member of staff is no longer active."
    assert after.headers["WWW-Authenticate"] == (
        'Bearer error="invalid_token", '
        'error_description="This member of staff is no longer active."'
    )


def _token(secret: str, kid: str | None = None, **claims: Any) -> str:
    now = int(time.time())
    # Made when the module is collected, used minutes later in a long run: an hour's life.
    payload = {"sub": "1", "store": 1, "iat": now, "exp": now + 3600, **claims}
    return jwt.encode(payload, secret, algorithm=ALGORITHM, headers={"kid": kid or key_id(secret)})


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    other = jwt.utils.base64url_encode(b'{"sub":"2","store":2,"iat":1,"exp":9999999999}')
    assert other.decode() != payload
    return f"{header}.{other.decode()}.{signature}"


@pytest.mark.parametrize(
    ("token", "reason"),
    [
        (_token(DEV_JWT_SECRET, exp=int(time.time()) - 1), "The token has expired: sign in again."),
        (_tampered(_token(DEV_JWT_SECRET)), "The token's signature is invalid."),
        (
            _token("another-key-entirely-another-key", kid=key_id(DEV_JWT_SECRET)),
            "The token's signature is invalid.",
        ),
        (
            _token("another-key-entirely-another-key"),
            "The token was signed with a key this server does not accept.",
        ),
        ("not-a-jwt", "The token is malformed."),
        (_token(DEV_JWT_SECRET, sub="one"), "The token is malformed."),
    ],
    ids=["expired", "tampered", "wrong key", "unknown key", "malformed", "bad subject"],
)
async def test_a_refused_token_is_a_401_that_says_why(
    client: httpx.AsyncClient, token: str, reason: str
) -> None:
    response = await client.get("/rentals/1", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
    assert response.json()["detail"] == reason
    assert response.headers["WWW-Authenticate"] == (
        f'Bearer error="invalid_token", error_description="{reason}"'
    )


def test_rotation_keeps_the_previous_key_for_the_tokens_it_signed() -> None:
    old, new = "k" * 32 + "-old", "k" * 32 + "-new"
    before = TokenKeys(make_settings(jwt_secret=old))
    token, _ = before.issue(2, 2)
    during = TokenKeys(make_settings(jwt_secret=new, jwt_previous_secret=old))
    after = TokenKeys(make_settings(jwt_secret=new))

    assert during.verify(token).staff_id == 2
    fresh, _ = during.issue(1, 1)
    assert jwt.get_unverified_header(fresh)["kid"] == key_id(new)  # the new key signs
    assert after.verify(fresh).staff_id == 1
    with pytest.raises(InvalidTokenError, match="does not accept"):
        after.verify(token)


async def test_a_rental_records_the_signed_in_member_of_staff(
    client: httpx.AsyncClient, db: AsyncConnection
) -> None:
    copy = await scalar(
        db,
        "SELECT min(i.inventory_id) FROM inventory i WHERE NOT EXISTS (SELECT FROM rental r"
        " WHERE r.inventory_id = i.inventory_id AND r.return_date IS NULL)",
    )
    jon = await sign_in(client, JON)

    as_mike = await client.post(
        "/customers/1/rentals", json={"inventory_id": copy, "staff_id": 1}, headers=jon
    )
    as_jon = await client.post("/customers/1/rentals", json={"inventory_id": copy}, headers=jon)
    returned = await client.put(f"/rentals/{as_jon.json()['rental_id']}/return", headers=jon)
    by_service_unnamed = await client.post(
        "/customers/1/rentals", json={"inventory_id": copy}, headers=ADMIN
    )
    # (another customer: the test's transaction has one now(), and Pagila's unique index holds
    # one rental per copy, customer and instant)
    by_service = await client.post(
        "/customers/2/rentals", json={"inventory_id": copy, "staff_id": 1}, headers=ADMIN
    )

    assert as_mike.status_code == 403
    assert (
        as_mike.json()["detail"]
        == "You are signed in as staff member 2: you cannot act as staff member 1."
    )
    assert as_jon.status_code == 201
    assert as_jon.json()["staff_id"] == 2
    assert returned.status_code == 200
    assert by_service_unnamed.status_code == 422
    assert by_service_unnamed.json()["errors"][0]["loc"] == ["body", "staff_id"]
    assert by_service.status_code == 201  # dvd_admin keeps working, naming its clerk
    assert by_service.json()["staff_id"] == 1


async def test_log_lines_of_a_staff_request_carry_the_staff_id_only(
    client: httpx.AsyncClient, log_events: list[dict[str, Any]]
) -> None:
    jon = await sign_in(client, JON)
    await client.get("/rentals/1", headers=jon)
    token = jon["Authorization"].split()[1]

    issued = of(log_events, "auth.token_issued")
    assert [e["staff_id"] for e in issued] == [2]
    assert token not in repr(log_events)
    assert "Stephens" not in repr(log_events)


@pytest.fixture
async def strict_app(test_db_url: str) -> AsyncIterator[FastAPI]:
    """An app of its own on the test database (committed writes), allowing 3 failures per
    account and client, 5 per client, a lockout of 1 s that doubles."""
    app = create_app(
        make_settings(
            database_url=test_db_url,
            token_max_failures=3,
            token_client_max_failures=5,
            token_lockout_s=1.0,
        ),
        make_dev_settings(),
    )
    async with app.router.lifespan_context(app):
        yield app


def _from(app: FastAPI, address: str) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(address, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def _network() -> str:
    # The tally is in the database, committed, shared by every app: addresses of this test's own.
    return f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}"


async def test_a_locked_out_guesser_cannot_lock_out_staff_elsewhere(
    strict_app: FastAPI, log_events: list[dict[str, Any]]
) -> None:
    net, wrong = _network(), {**JON, "password": "hunter2"}
    async with _from(strict_app, f"{net}.1") as guesser, _from(strict_app, f"{net}.2") as clerk:
        failures = [(await guesser.post("/token", data=wrong)).status_code for _ in range(3)]
        locked = await guesser.post("/token", data=JON)  # even the right password waits
        elsewhere = await clerk.post("/token", data=JON)
        other_account = await guesser.post("/token", data=MIKE)

    assert failures == [401, 401, 401]
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) == 1
    assert locked.json()["detail"] == "Too many failed sign-in attempts; try again later."
    assert elsewhere.status_code == 200
    assert other_account.status_code == 200  # the guesser's client limit (5) is not reached
    logged = of(log_events, "auth.token_failed")
    assert [(e["client"], e["failures"], e["level"]) for e in logged] == [
        (f"{net}.1", n, "warning") for n in (1, 2, 3)
    ]
    assert "hunter2" not in repr(log_events)


async def test_each_further_failure_doubles_the_wait(strict_app: FastAPI) -> None:
    wrong = {**JON, "password": "guess"}
    async with _from(strict_app, f"{_network()}.3") as guesser:
        for _ in range(3):
            await guesser.post("/token", data=wrong)
        first = await guesser.post("/token", data=wrong)
        await asyncio.sleep(float(first.headers["Retry-After"]) + 0.1)
        fourth = await guesser.post("/token", data=wrong)  # looked at again, and wrong
        second = await guesser.post("/token", data=wrong)

    assert (first.status_code, fourth.status_code, second.status_code) == (429, 401, 429)
    assert (first.headers["Retry-After"], second.headers["Retry-After"]) == ("1", "2")


async def test_a_client_trying_many_accounts_is_held_up(strict_app: FastAPI) -> None:
    async with _from(strict_app, f"{_network()}.4") as sprayer:
        statuses = [
            (
                await sprayer.post("/token", data={"username": f"user{n}", "password": "x"})
            ).status_code
            for n in range(6)
        ]
    assert statuses == [401] * 5 + [429]


async def test_a_burst_of_guesses_cannot_slip_past_the_limit(strict_app: FastAPI) -> None:
    """Ten wrong passwords at once from one client, allowed 3: exactly 3 are looked at (401),
    the rest are refused (429); parallel attempts take turns on the client's tally."""
    wrong = {**MIKE, "password": "guess"}
    async with _from(strict_app, f"{_network()}.9") as attacker:
        statuses = await asyncio.gather(*(attacker.post("/token", data=wrong) for _ in range(10)))
    assert sorted(r.status_code for r in statuses) == [401] * 3 + [429] * 7


def test_every_verification_costs_one_argon2_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unknown username, an account without a password, and one with a fast SHA-1 digest
    each cost an argon2 verification, as a real account's does: the time taken does not tell
    which usernames exist."""
    argon2_hash = passwords.hash_password("12345")
    checks: list[str] = []
    real = Argon2Hasher.verify

    def counted(self: Argon2Hasher, password: str | bytes, hash: str | bytes) -> bool:
        checks.append("argon2")
        return real(self, password, hash)

    monkeypatch.setattr(Argon2Hasher, "verify", counted)
    outcomes = [
        passwords.verify("12345", stored)
        for stored in (None, "8cb2237d0679ca88db6464eac60da96345513964", argon2_hash, "junk")
    ]

    assert [ok for ok, _ in outcomes] == [False, True, True, False]
    assert outcomes[1][1] is not None  # the digest's replacement
    assert checks == ["argon2"] * 4


async def test_a_json_body_is_told_the_endpoint_takes_a_form(client: httpx.AsyncClient) -> None:
    response = await client.post("/token", json=MIKE)

    assert response.status_code == 415
    assert response.json()["detail"] == (
        "POST /token takes a form (application/x-www-form-urlencoded), not JSON: "
        "username=...&password=..."
    )
    assert response.json()["type"] == "/problems/unsupported-media-type"


async def test_the_service_token_can_be_switched_off(test_db_url: str) -> None:
    app = create_app(make_settings(database_url=test_db_url, admin_token=""), make_dev_settings())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            service = await client.get("/rentals/1", headers=ADMIN)
            staff = await client.get("/rentals/1", headers=await sign_in(client, JON))

    assert service.status_code == 401  # "dvd_admin" is now just a malformed token
    assert service.json()["detail"] == "The token is malformed."
    assert staff.status_code == 200
