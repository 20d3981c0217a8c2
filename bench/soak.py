"""`just soak`: a bounded mixed load on the API, then what it left behind.

One uvicorn worker (default settings, INFO logs) on DATABASE_URL or the embedded server
(`--pooler`: through PgBouncer in transaction mode, with one worker and then two);
`wrk` (loopback only) for `--duration` seconds at `--connections`: films pages, category pages,
films by id, and rent + return of free copies. Reports req/s, p50/p99, 5xx, rentals
acknowledged (201) vs found in the database afterwards, returns acknowledged vs found, double
rentals (overlapping rentals of one copy), and the API process's RSS after a 5 s warm-up at
the same load and at the end (without --pooler). Rentals the run made stay in the database,
returned: use a dev database.
"""

import argparse
import asyncio
import shutil
import tempfile
from contextlib import ExitStack
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.run import OVERLAPS, free_copies_and_now, prepared_database, run_wrk, server_process
from devenv.database import connect
from devenv.pgbouncer import pgbouncer_in_front_of
from shared.http.server import UVICORN_HTTP

WARM_UP_S = 5
# Fewer server connections than the two workers' pools hold (2 x 2 x DB_POOL_SIZE): they share.
POOLER_SERVER_POOL = 10
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


def _soak(
    url: str, env: dict[str, str], args: argparse.Namespace, tmp: Path, workers: int
) -> dict[str, float]:
    """One mixed load on the API with `workers` processes; what it did and what it left."""
    token = env["ADMIN_TOKEN"]
    log = tmp / f"api-{workers}.log"
    app = ["main:create_app", "--factory", "--http", UVICORN_HTTP]
    with server_process("API", app, env, log, workers=workers) as (api, pid):
        copies, since = asyncio.run(free_copies_and_now(url))
        copies_file = tmp / "copies.txt"
        copies_file.write_text("\n".join(map(str, copies)))
        extra = [str(copies_file), token, "2"]
        idle_kib = _rss_kib(pid)
        warm = _wrk(api, WARM_UP_S, args.connections, extra)
        start_kib = _rss_kib(pid)
        result = _wrk(api, args.duration, args.connections, extra)
        end_kib = _rss_kib(pid)
    rented, returned, overlaps = asyncio.run(_found(url, since))
    return {
        **result,
        "acknowledged": warm["rented"] + result["rented"],
        "acknowledged_returns": warm["returned"] + result["returned"],
        "server_errors": warm["server_errors"] + result["server_errors"],
        "conflicts": warm["conflicts"] + result["conflicts"],
        "found_rented": rented,
        "found_returned": returned,
        "overlaps": overlaps,
        "idle_kib": idle_kib,
        "start_kib": start_kib,
        "end_kib": end_kib,
    }


def _report(r: dict[str, float]) -> str:
    acknowledged, acknowledged_returns = int(r["acknowledged"]), int(r["acknowledged_returns"])
    return (
        f"req/s {r['rps']:.0f}   p50 {r['p50_ms']:.1f} ms   "
        f"p99 {r['p99_ms']:.1f} ms   requests {int(r['requests'])}\n"
        f"5xx: {int(r['server_errors'])}   socket errors: {int(r['socket_errors'])}   "
        f"409 (copy out): {int(r['conflicts'])}\n"
        f"rentals acknowledged (201): {acknowledged}   found afterwards: "
        f"{int(r['found_rented'])}   lost: {max(0, acknowledged - int(r['found_rented']))} "
        "(found may exceed acknowledged: requests in flight when wrk stops)\n"
        f"returns acknowledged (200): {acknowledged_returns}   found: {int(r['found_returned'])}"
        f"   lost: {max(0, acknowledged_returns - int(r['found_returned']))}\n"
        f"double rentals: {int(r['overlaps'])} (must be 0)"
    )


def _rss(r: dict[str, float]) -> str:
    growth = 100 * (r["end_kib"] - r["start_kib"]) / r["start_kib"]
    return (
        f"API RSS: idle {r['idle_kib'] / 1024:.0f} MiB, after warm-up "
        f"{r['start_kib'] / 1024:.0f} MiB, end {r['end_kib'] / 1024:.0f} MiB "
        f"({growth:+.1f} % over the soak)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="just soak", description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=60, help="seconds of load (60)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument(
        "--pooler",
        action="store_true",
        help="through PgBouncer in transaction mode (DB_POOLER=transaction), with one API "
        "worker and then two, side by side",
    )
    args = parser.parse_args()
    if not 1 <= args.duration <= 3600 or not 1 <= args.connections <= 1024:
        raise SystemExit("--duration 1..3600 s, --connections 1..1024")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (`just soak` installs it)")

    with (
        prepared_database("soak", args.pooler) as (url, env),
        tempfile.TemporaryDirectory() as tmp,
        ExitStack() as stack,
    ):
        if not args.pooler:
            result = _soak(url, env, args, Path(tmp), workers=1)
            print(
                f"wrk -t2 -c{args.connections}, {WARM_UP_S} s warm-up + {args.duration} s, "
                "one uvicorn worker, mixed: 4 films pages, 2 category pages, 2 films by id, "
                f"rent + return\n{_report(result)}\n{_rss(result)}"
            )
            return
        bouncer = stack.enter_context(
            pgbouncer_in_front_of(url, Path(tmp) / "pgbouncer", pool_size=POOLER_SERVER_POOL)
        )
        env |= {"DATABASE_URL": bouncer.url(make_url(url).database or ""),
                "DB_POOLER": "transaction"}  # fmt: skip
        results = {workers: _soak(url, env, args, Path(tmp), workers) for workers in (1, 2)}
    print(
        f"wrk -t2 -c{args.connections}, {WARM_UP_S} s warm-up + {args.duration} s each; "
        f"PgBouncer {POOLER_SERVER_POOL} server connections (transaction mode) in front of "
        "PostgreSQL; mixed: 4 films pages, 2 category pages, 2 films by id, rent + return"
    )
    for workers, result in results.items():
        print(f"\n{workers} API worker{'s' if workers > 1 else ''}:\n{_report(result)}")
    one, two = results[1]["rps"], results[2]["rps"]
    print(f"\ntwo workers / one: {two / one:.2f}x req/s")


if __name__ == "__main__":
    main()
