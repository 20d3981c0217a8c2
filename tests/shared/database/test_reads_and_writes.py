"""The request path's contract with the database, observed from outside the app: what the server
receives, what another connection sees, and what happens when connections die."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from starlette.types import Message

from devenv.database import connect
from main import create_app
from tests.fixtures.logs import of
from tests.pg_proxy import PgProxy
from tests.support import ADMIN, make_dev_settings, make_settings, serve_on_loopback

FREE_COPY = """
    SELECT i.inventory_id FROM inventory i
    WHERE NOT EXISTS (SELECT 1 FROM rental r
                      WHERE r.inventory_id = i.inventory_id AND r.return_date IS NULL)
    ORDER BY i.inventory_id DESC LIMIT 1
"""


@pytest.fixture
async def own_app(test_db_url: str) -> AsyncIterator[FastAPI]:
    """An app of this test's own (a fresh pool), on the real test database: its requests
    really commit."""
    application = create_app(make_settings(database_url=test_db_url), make_dev_settings())
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def outside(test_db_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the test's own: it sees only what has been committed."""
    conn = await connect(test_db_url)
    yield conn
    await conn.close()


async def call_asgi(
    app: FastAPI,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    on_response_start: Any,
) -> tuple[int, bytes]:
    """Call the app as a server does, running `on_response_start` when the status line goes
    out (before the server could send a byte of it)."""
    raw = json.dumps(body).encode() if body is not None else b""
    headers = [(k.lower().encode(), v.encode()) for k, v in ADMIN.items()]
    headers.append((b"content-type", b"application/json"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    status = 0
    chunks: list[bytes] = []
    sent_body = False

    async def receive() -> Message:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
            await on_response_start()
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def test_writes_are_committed_before_the_response_starts(
    own_app: FastAPI, outside: asyncpg.Connection
) -> None:
    """A client told 201 must be able to read its rental back at once, from anywhere: at the
    moment the status line is sent, another connection must already see the write."""
    copy = await outside.fetchval(FREE_COPY)
    open_rentals_at_start: list[int] = []

    async def count_open_rentals() -> None:
        open_rentals_at_start.append(
            await outside.fetchval(
                "SELECT count(*) FROM rental WHERE inventory_id = $1 AND return_date IS NULL",
                copy,
            )
        )

    status, body = await call_asgi(
        own_app,
        "POST",
        "/customers/1/rentals",
        {"inventory_id": copy, "staff_id": 1},
        count_open_rentals,
    )
    assert status == 201, body
    rental_id = json.loads(body)["rental_id"]
    status, body = await call_asgi(
        own_app, "PUT", f"/rentals/{rental_id}/return", None, count_open_rentals
    )
    assert status == 200, body

    # Seen from outside: rented (1 open) when the 201 went out, returned (0) when the 200 did.
    assert open_rentals_at_start == [1, 0]


@pytest.fixture
async def proxy(test_db_url: str) -> AsyncIterator[PgProxy]:
    proxy = PgProxy(test_db_url)
    await proxy.start()
    yield proxy
    await proxy.stop()


@pytest.fixture
async def proxied_client(proxy: PgProxy) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app whose every byte to PostgreSQL passes through `proxy`."""
    application = create_app(make_settings(database_url=proxy.url), make_dev_settings())
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://test"
        ) as client,
    ):
        yield client


READS = ("/films?limit=20&offset=100", "/films?category=comedy", "/films/7", "/rentals/5")


async def test_a_read_is_one_round_trip(proxied_client: httpx.AsyncClient, proxy: PgProxy) -> None:
    """No ping per checkout, no BEGIN, no COMMIT: the statement and its answer, nothing else."""
    for path in READS:  # connect, and prepare each statement once on the connection
        assert (await proxied_client.get(path, headers=ADMIN)).status_code == 200
    for path in READS:
        before = proxy.round_trips
        assert (await proxied_client.get(path, headers=ADMIN)).status_code == 200
        assert proxy.round_trips - before == 1, path


async def test_a_one_statement_write_is_one_round_trip(
    proxied_client: httpx.AsyncClient, proxy: PgProxy, outside: asyncpg.Connection
) -> None:
    """A rental (its checks inside the statement) and a return are each one statement in
    autocommit: no BEGIN, no COMMIT; the row is there, committed, when the answer comes."""
    copy = await outside.fetchval(
        "SELECT inventory_id FROM inventory i WHERE NOT EXISTS (SELECT FROM rental r "
        "WHERE r.inventory_id = i.inventory_id AND r.return_date IS NULL) ORDER BY 1 DESC LIMIT 1"
    )
    rentals = []
    for _ in range(2):  # the first prepares the statements
        before = proxy.round_trips
        rented = await proxied_client.post(
            "/customers/1/rentals", json={"inventory_id": copy, "staff_id": 1}, headers=ADMIN
        )
        rent_trips = proxy.round_trips - before
        assert rented.status_code == 201, rented.text
        rental_id = rented.json()["rental_id"]
        rentals.append(rental_id)
        before = proxy.round_trips
        returned = await proxied_client.put(f"/rentals/{rental_id}/return", headers=ADMIN)
        return_trips = proxy.round_trips - before
        assert returned.status_code == 200
        assert await outside.fetchval(
            "SELECT return_date IS NOT NULL FROM rental WHERE rental_id = $1", rental_id
        )
    await outside.execute("DELETE FROM rental WHERE rental_id = ANY($1::int[])", rentals)
    assert (rent_trips, return_trips) == (1, 1)

    before = proxy.round_trips  # returned already: the same statement says why
    assert (await proxied_client.put("/rentals/1/return", headers=ADMIN)).status_code == 409
    assert proxy.round_trips - before == 1


async def test_reads_survive_their_pooled_connections_being_dropped(
    proxied_client: httpx.AsyncClient, proxy: PgProxy, log_events: list[dict[str, Any]]
) -> None:
    """No ping per checkout: a dead pooled connection is found by its error, and a read is
    retried once on a fresh one; both pools drop the dead one's contemporaries, so the write
    after it gets a fresh connection too."""
    assert (await proxied_client.get("/films/1")).status_code == 200
    assert (await proxied_client.put("/rentals/1/return", headers=ADMIN)).status_code == 409
    proxy.drop_connections()  # idle pooled connections die...
    assert (await proxied_client.get("/films/2")).status_code == 200
    proxy.drop_at_next_message()  # ...and one dies under a query

    read = await proxied_client.get("/films/1")
    write = await proxied_client.put("/rentals/1/return", headers=ADMIN)

    assert read.status_code == 200
    assert read.json()["title"] == "ACADEMY DINOSAUR"
    assert write.status_code == 409  # answered by the database, not a 503
    assert len(of(log_events, "database.reconnect")) == 2  # once per outage


async def test_a_write_on_a_dead_connection_is_a_503_and_the_next_gets_a_fresh_one(
    proxy: PgProxy,
) -> None:
    """A write's statement runs on its session's driver connection: when that connection turns
    out dead, the write is a 503 (never retried: it may have committed), and the pool drops it
    with every connection made before it, so the next write gets a fresh one."""
    settings = make_settings(database_url=proxy.url, db_pool_size=2, db_max_overflow=0)
    application = create_app(settings, make_dev_settings())
    async with (
        application.router.lifespan_context(application),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=application), base_url="http://test"
        ) as client,
    ):
        # Two writes at once: two pooled write connections.
        before = await asyncio.gather(
            *(client.put("/rentals/1/return", headers=ADMIN) for _ in range(2))
        )
        connections = proxy.open_connections
        proxy.drop_connections()
        on_a_dead_connection = await client.put("/rentals/1/return", headers=ADMIN)
        after = await client.put("/rentals/1/return", headers=ADMIN)

    assert [r.status_code for r in before] == [409, 409]  # returned long ago: the database says
    assert connections == 2  # the two writes' (no read yet: the read pool is empty)
    assert on_a_dead_connection.status_code == 503, on_a_dead_connection.text
    assert after.status_code == 409, after.text


def _local_port(response: httpx.Response) -> int:
    """The client side's port of the connection a response came over."""
    stream = response.extensions["network_stream"]
    port: int = stream.get_extra_info("socket").getsockname()[1]
    return port


async def test_an_outage_and_recovery_over_one_kept_alive_connection(
    proxy: PgProxy, log_events: list[dict[str, Any]]
) -> None:
    """A real fault between the app and PostgreSQL: the proxy goes away and comes back. Over a
    real socket and one HTTP connection: 200, then 503 JSON with the request id and Retry-After
    (the connection kept alive, no traceback), then 200 again with no restart."""
    application = create_app(make_settings(database_url=proxy.url), make_dev_settings())
    async with (
        application.router.lifespan_context(application),
        serve_on_loopback(application) as url,
        httpx.AsyncClient(base_url=url, limits=httpx.Limits(max_connections=1)) as client,
    ):
        before = await client.get("/films/1")
        await proxy.stop()
        during = [
            await client.get("/films/1", headers={"X-Request-ID": "outage-read"}),
            await client.post(
                "/customers/1/rentals",
                json={"inventory_id": 1, "staff_id": 1},
                headers={**ADMIN, "X-Request-ID": "outage-write"},
            ),
        ]
        await proxy.restart()
        after = await client.get("/films/1")
        ports = {_local_port(r) for r in (before, *during, after)}

    assert before.status_code == 200
    for response, request_id in zip(during, ("outage-read", "outage-write"), strict=True):
        assert response.status_code == 503, response.text
        assert response.json()["detail"] == "The database is unavailable; please retry shortly."
        assert response.headers["X-Request-ID"] == request_id
        assert response.headers["Retry-After"] == "5"
        assert response.headers.get("connection") != "close"
    assert after.status_code == 200
    assert after.json() == before.json()
    assert len(ports) == 1, "the HTTP connection was not kept alive through the outage"
    assert not [e for e in log_events if "exception" in e], "the outage logged a traceback"
