"""Load benchmark: the app in its own uvicorn process, driven over loopback by httpx.

    just bench              # films, rentals, and the AI endpoints on the configured model
    just bench --no-ai      # database endpoints only

Reports requests/s and latency percentiles per endpoint. Bounded: a fixed number of requests,
loopback only, and the server is stopped at the end.
"""

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

import httpx

ADMIN = {"Authorization": "Bearer " + os.environ.get("ADMIN_TOKEN", "dvd_admin")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def _wait_ready(client: httpx.AsyncClient, timeout_s: float = 180) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if (await client.get("/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.25)
    raise SystemExit("server did not become ready")


async def _load(
    name: str, call: Callable[[int], Awaitable[httpx.Response]], total: int, concurrency: int
) -> None:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(total))

    async def worker() -> None:
        for i in counter:
            started = time.perf_counter()
            response = await call(i)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    q = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<34} {total / elapsed:8.0f} req/s   p50 {q[49]:7.1f} ms   "
        f"p95 {q[94]:7.1f} ms   p99 {q[98]:7.1f} ms   {dict(sorted(statuses.items()))}"
    )


async def _ai(client: httpx.AsyncClient, rounds: int) -> None:
    for i in range(rounds):
        started = time.perf_counter()
        first = None
        chunks = 0
        async with client.stream(
            "GET", "/ai/ask", params={"question": f"Suggest a film for evening {i}."}
        ) as response:
            async for _ in response.aiter_raw():
                chunks += 1
                first = first or time.perf_counter()
        total = (time.perf_counter() - started) * 1000
        ttft = ((first or time.perf_counter()) - started) * 1000
        print(f"/ai/ask #{i}: first byte {ttft:7.1f} ms, done {total:7.1f} ms, {chunks} chunks")
    for film_id in (1, 50, 500)[:rounds]:
        started = time.perf_counter()
        response = await client.post("/ai/summary", json={"film_id": film_id})
        elapsed = (time.perf_counter() - started) * 1000
        print(f"/ai/summary film {film_id}: {response.status_code} in {elapsed:7.1f} ms")


async def drive(args: argparse.Namespace, port: int) -> None:
    limits = httpx.Limits(max_connections=args.concurrency)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=120, limits=limits
    ) as client:
        await _wait_ready(client)
        n, c = args.requests, args.concurrency
        print(f"{n} requests per endpoint, {c} concurrent, uvicorn 1 worker, loopback")
        await _load("GET /films", lambda i: client.get("/films"), n, c)
        await _load(
            "GET /films?category=&offset=",
            lambda i: client.get("/films", params={"category": "action", "offset": i % 60}),
            n, c,
        )  # fmt: skip
        await _load("GET /films/{id}", lambda i: client.get(f"/films/{i % 1000 + 1}"), n, c)
        await _load(
            "GET /customers/{id}/rentals",
            lambda i: client.get(f"/customers/{i % 599 + 1}/rentals"),
            n, c,
        )  # fmt: skip

        async def rent_and_return(i: int) -> httpx.Response:
            # Copies 4000+ rotate; each is rented and at once returned (committed).
            body = {"inventory_id": 4000 + i % 500, "staff_id": 1}
            response = await client.post(
                f"/customers/{i % 599 + 1}/rentals", json=body, headers=ADMIN
            )
            if response.status_code == 201:
                rental = response.json()["rental_id"]
                await client.put(f"/rentals/{rental}/return", headers=ADMIN)
            return response

        await _load("POST rental + PUT return", rent_and_return, n // 2, c)
        if not args.no_ai:
            await _ai(client, rounds=3)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--no-ai", action="store_true")
    args = parser.parse_args()
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - our own app, fixed arguments
        [sys.executable, "-m", "uvicorn", "main:create_app", "--factory", "--port", str(port),
         "--no-access-log", "--log-level", "warning"],
        env={**os.environ, "LOG_LEVEL": "WARNING"},
    )  # fmt: skip
    try:
        asyncio.run(drive(args, port))
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
