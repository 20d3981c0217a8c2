"""`just soak`: a bounded mixed load on the API, then what it left behind.

One uvicorn worker (default settings, INFO logs) on DATABASE_URL or the embedded server;
`wrk` (loopback only) for `--duration` seconds at `--connections`: films pages, category pages,
films by id, and rent + return of free copies. Reports req/s, p50/p99, 5xx, rentals
acknowledged (201) vs found in the database afterwards, returns acknowledged vs found, double
rentals (overlapping rentals of one copy), and the API process's RSS after a 5 s warm-up at
the same load and at the end. Rentals the run made stay in the database, returned: use a dev
database.
"""

import argparse
import asyncio
import shutil
import tempfile
from pathlib import Path

from bench.run import OVERLAPS, free_copies_and_now, run_wrk, server_process
from devenv.database import connect, database_url, prepare
from devenv.settings import get_dev_settings
from shared.http_server import UVICORN_HTTP
from shared.settings import get_settings

WARM_UP_S = 5
FOUND = """
    SELECT count(*) AS rented, count(*) FILTER (WHERE return_date IS NOT NULL) AS returned
    FROM rental WHERE rental_date >= $1
"""


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def _wrk(url: str, seconds: int, connections: int, extra: list[str]) -> dict[str, float]:
    return run_wrk(url, "mixed.lua", extra, threads=2, connections=connections, seconds=seconds)


async def _found(url: str, since: object) -> tuple[int, int, int]:
    conn = await connect(url)
    try:
        row = await conn.fetchrow(FOUND, since)
        overlaps: int = await conn.fetchval(OVERLAPS, since)
        # Anything the run left open (a rental whose return had not been sent when wrk
        # stopped) is returned now, so the next run finds its copies free.
        await conn.execute(
            "UPDATE rental SET return_date = now() WHERE rental_date >= $1 AND return_date IS NULL",
            since,
        )
        assert row is not None
        return row["rented"], row["returned"], overlaps
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="just soak", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (60)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    args = parser.parse_args()
    if not 1 <= args.duration <= 3600 or not 1 <= args.connections <= 1024:
        raise SystemExit("--duration 1..3600 s, --connections 1..1024")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (`just soak` installs it)")

    settings, dev = get_settings(), get_dev_settings()
    token = settings.admin_token.get_secret_value()
    with database_url(settings, dev) as url, tempfile.TemporaryDirectory() as tmp:
        asyncio.run(prepare(url, dev))
        env = {"DATABASE_URL": url, "PREPARE_DATABASE": "false", "LLM_PROVIDER": "openai",
               "OPENAI_API_KEY": "sk-soak-makes-no-model-calls", "ADMIN_TOKEN": token}  # fmt: skip
        log = Path(tmp) / "api.log"
        with server_process(
            "API", ["main:create_app", "--factory", "--http", UVICORN_HTTP], env, log
        ) as (api, pid):
            copies, since = asyncio.run(free_copies_and_now(url))
            copies_file = Path(tmp) / "copies.txt"
            copies_file.write_text("\n".join(map(str, copies)))
            extra = [str(copies_file), token, "2"]
            idle_kib = _rss_kib(pid)
            warm = _wrk(api, WARM_UP_S, args.connections, extra)
            start_kib = _rss_kib(pid)
            result = _wrk(api, args.duration, args.connections, extra)
            end_kib = _rss_kib(pid)
        rented, returned, overlaps = asyncio.run(_found(url, since))

    acknowledged = int(warm["rented"] + result["rented"])
    acknowledged_returns = int(warm["returned"] + result["returned"])
    server_errors = int(warm["server_errors"] + result["server_errors"])
    growth = 100 * (end_kib - start_kib) / start_kib
    print(
        f"wrk -t2 -c{args.connections}, {WARM_UP_S} s warm-up + {args.duration} s, one uvicorn "
        f"worker, mixed: 4 films pages, 2 category pages, 2 films by id, rent + return\n"
        f"req/s {result['rps']:.0f}   p50 {result['p50_ms']:.1f} ms   "
        f"p99 {result['p99_ms']:.1f} ms   requests {int(result['requests'])}\n"
        f"5xx: {server_errors}   socket errors: {int(result['socket_errors'])}   "
        f"409 (copy out): {int(warm['conflicts'] + result['conflicts'])}\n"
        f"rentals acknowledged (201): {acknowledged}   found afterwards: {rented}   "
        f"lost: {max(0, acknowledged - rented)} (found may exceed acknowledged: requests in "
        f"flight when wrk stops)\n"
        f"returns acknowledged (200): {acknowledged_returns}   found: {returned}   "
        f"lost: {max(0, acknowledged_returns - returned)}\n"
        f"double rentals: {overlaps} (must be 0)\n"
        f"API RSS: idle {idle_kib / 1024:.0f} MiB, after warm-up {start_kib / 1024:.0f} MiB, "
        f"end {end_kib / 1024:.0f} MiB ({growth:+.1f} % over the soak)"
    )


if __name__ == "__main__":
    main()
