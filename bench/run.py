"""`just bench`: the API against its floor, interleaved, in one run, driven by wrk.

Both servers run side by side as one uvicorn worker each on the same database (DATABASE_URL, or
the embedded server); the API with its default settings (INFO logs, one access line per request,
written to a file). For each scenario, rounds alternate floor and API (`--rounds`, each
`--duration` seconds at `--connections`), and the report gives medians with their ranges and
the API/floor ratio of medians. `--framework` adds a third server, the floor's work on FastAPI
alone (bench/fastapi_floor.py), to the rounds: its ratio to the floor is what the framework
costs, and the API's ratio to it what our own code does. Loopback only; bounded; everything
started is stopped.

Rent + return rents free copies and returns each at once, committed: use a dev database. After
it, every rental the run made is checked for overlaps with another of the same copy (double
rentals, which must be 0) and any left open is returned.
"""

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from devenv.database import connect, database_url, prepare, role_statement_timeout
from devenv.pgbouncer import pgbouncer_in_front_of
from devenv.ports import free_port
from devenv.settings import get_dev_settings
from shared.http.server import UVICORN_HTTP
from shared.settings import PROJECT_ROOT, get_settings

WRK_DIR = Path(__file__).parent / "wrk"
SCENARIOS = {
    "GET /films?limit=20&offset=100": ("get.lua", "/films?limit=20&offset=100"),
    "GET /films?category=comedy": ("get.lua", "/films?category=comedy"),
    "GET /films?q=drama (full text)": ("get.lua", "/films?q=drama"),
    "GET /films/{id}": ("films_by_id.lua", None),
    "POST rental + PUT return": ("rent_return.lua", None),
}
OVERLAPS = """
    SELECT count(*) FROM rental a JOIN rental b
      ON a.inventory_id = b.inventory_id AND a.rental_id < b.rental_id
     AND tstzrange(a.rental_date, a.return_date) && tstzrange(b.rental_date, b.return_date)
    WHERE b.rental_date >= $1
"""


@contextmanager
def _server(name: str, app: list[str], env: dict[str, str], log: Path) -> Iterator[str]:
    with server_process(name, app, env, log) as (url, _):
        yield url


@contextmanager
def server_process(
    name: str, app: list[str], env: dict[str, str], log: Path, workers: int = 1
) -> Iterator[tuple[str, int]]:
    """uvicorn serving `app` on a free loopback port with `workers` processes: (its URL, the
    pid of its process: the worker's when one, else the supervisor's)."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(  # noqa: S603 - our own apps, fixed arguments
            [sys.executable, "-m", "uvicorn", *app, "--port", str(port), "--no-access-log",
             "--workers", str(workers)],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(f"{name} exited; see {log}")
            try:
                if httpx.get(f"{url}/films/1", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise SystemExit(f"{name} did not start; see {log}")
        yield url, process.pid
    finally:
        process.terminate()
        process.wait(timeout=30)


FASTAPI_ALONE = "FastAPI alone"


@contextmanager
def otlp_sink() -> Iterator[str]:
    """An OTLP/HTTP endpoint that accepts everything and keeps nothing (`--telemetry traced`):
    the export's cost on the API's side, not a collector's."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Sink)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()


@contextmanager
def _framework(wanted: bool, env: dict[str, str], log: Path) -> Iterator[str | None]:
    if not wanted:
        yield None
        return
    with _server(FASTAPI_ALONE, ["bench.fastapi_floor:app"], env, log) as url:
        yield url


@dataclass
class Runs:
    rps: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    extra: dict[str, int] = field(default_factory=dict)

    def add(self, result: dict[str, float]) -> None:
        self.rps.append(result["rps"])
        self.p50.append(result["p50_ms"])
        self.p99.append(result["p99_ms"])
        for key in ("rented", "returned", "conflicts", "other", "non_2xx", "socket_errors"):
            if key in result:
                self.extra[key] = self.extra.get(key, 0) + int(result[key])


def run_wrk(
    url: str, script: str, script_args: list[str], *, threads: int, connections: int, seconds: int
) -> dict[str, float]:
    """One wrk run with a Lua script from wrk/; the BENCH-JSON line its report prints."""
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
        "--latency", "-s", str(WRK_DIR / script), url,
    ]  # fmt: skip
    if script_args:
        command += ["--", *script_args]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout  # noqa: S603
    line = next(x for x in output.splitlines() if x.startswith("BENCH-JSON "))
    result: dict[str, float] = json.loads(line.removeprefix("BENCH-JSON "))
    return result


def _wrk(
    url: str, script: str, arg: str | None, args: argparse.Namespace, extra: list[str]
) -> dict[str, float]:
    return run_wrk(
        url,
        script,
        ([arg] if arg else []) + extra,
        threads=args.threads,
        connections=args.connections,
        seconds=args.duration,
    )


@contextmanager
def prepared_database(command: str, pooler: bool) -> Iterator[tuple[str, dict[str, str]]]:
    """(the database URL, the environment of an app on it) for `just bench` and `just soak`:
    PostgreSQL itself (DATABASE_URL, or the embedded server), prepared here, so that the app
    prepares and starts nothing; the role's statement timeout set when a pooler will be used."""
    settings, dev = get_settings(), get_dev_settings()
    if settings.db_pooler != "none":
        raise SystemExit(
            f"`just {command}` runs on PostgreSQL itself: unset DB_POOLER (and point DATABASE_URL "
            "past the pooler); `--pooler` starts a PgBouncer of its own"
        )
    with database_url(settings, dev) as url:
        role_timeout = role_statement_timeout(url, settings) if pooler else None
        asyncio.run(prepare(url, dev, role_timeout))
        yield (
            url,
            {
                "DATABASE_URL": url,
                "PREPARE_DATABASE": "false",
                "LLM_PROVIDER": "openai",
                "OPENAI_API_KEY": f"sk-{command}-makes-no-model-calls",
                "ADMIN_TOKEN": settings.admin_token.get_secret_value(),
            },
        )


def _ratio(of: list[float], to: list[float]) -> str:
    """ratio of medians (range of the rounds' ratios)"""
    ratios = [x / y for x, y in zip(of, to, strict=True)]
    median = statistics.median(of) / statistics.median(to)
    return f"{median:.2f} ({min(ratios):.2f}-{max(ratios):.2f})"


def _range(values: list[float]) -> str:
    """median (min-max)"""
    return f"{statistics.median(values):.0f} ({min(values):.0f}-{max(values):.0f})"


async def free_copies_and_now(url: str) -> tuple[list[int], object]:
    """The copies that are in now, and the database's clock (rentals after it are the run's).
    First `rental` is vacuumed: every earlier run left dead row versions there (each return
    updates a row), and where autovacuum is off or behind they slow the next run's writes."""
    conn = await connect(url)
    try:
        await conn.execute("VACUUM (ANALYZE) rental")
        rows = await conn.fetch(
            "SELECT inventory_id FROM inventory i WHERE NOT EXISTS (SELECT 1 FROM rental r "
            "WHERE r.inventory_id = i.inventory_id AND r.return_date IS NULL) ORDER BY 1"
        )
        return [row[0] for row in rows], await conn.fetchval("SELECT now()")
    finally:
        await conn.close()


async def _check_and_clean(url: str, since: object) -> tuple[int, int]:
    conn = await connect(url)
    try:
        overlaps: int = await conn.fetchval(OVERLAPS, since)
        left_open = await conn.execute(
            "UPDATE rental SET return_date = now() WHERE rental_date >= $1 AND return_date IS NULL",
            since,
        )
        return overlaps, int(left_open.split()[-1])
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="just bench")
    parser.add_argument("--duration", type=int, default=5, help="seconds per round (5)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per server (3)")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--only", help="run the scenarios whose name contains this")
    parser.add_argument(
        "--protocol",
        action="store_true",
        help="what our bounded HTTP protocol costs: the API against itself on uvicorn's stock "
        "httptools protocol (in the floor's column)",
    )
    parser.add_argument(
        "--framework",
        action="store_true",
        help="also run the floor's work on FastAPI alone (bench/fastapi_floor.py), interleaved "
        "with the others: what of the gap is FastAPI's, what is the API's own",
    )
    parser.add_argument(
        "--pooler",
        choices=["setting", "pgbouncer"],
        help="what DB_POOLER=transaction costs: the API with it, directly on PostgreSQL "
        "(`setting`) or through PgBouncer in transaction mode (`pgbouncer`), against the API "
        "with the defaults directly on PostgreSQL (in the floor's column)",
    )
    parser.add_argument(
        "--telemetry",
        nargs="?",
        const="on",
        choices=["on", "traced"],
        help="what telemetry costs: the API with its defaults (`on`: metrics, trace ids, no span "
        "recorded without an exporter) or with every request traced and exported by OTLP to a "
        "local sink (`traced`), against the API with OTEL_SDK_DISABLED=true (in the floor's "
        "column)",
    )
    parser.add_argument(
        "--conditional",
        action="store_true",
        help="what a 304 saves: the API answering If-None-Match with the page's ETag (304, no "
        "body) against the same GETs without it (200, in the floor's column: the API too)",
    )
    args = parser.parse_args()
    if sum(map(bool, (args.protocol, args.pooler, args.telemetry, args.conditional))) > 1:
        parser.error("one of --protocol, --pooler, --telemetry, --conditional at a time")
    if args.framework and (args.protocol or args.pooler or args.telemetry or args.conditional):
        parser.error("--framework compares with the floor: not with --protocol or --pooler")
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is missing: apt-get install wrk (`just bench` installs it)")

    with (
        prepared_database("bench", bool(args.pooler)) as (url, env),
        tempfile.TemporaryDirectory() as tmp,
        ExitStack() as stack,
    ):
        token = env["ADMIN_TOKEN"]
        api_env, bouncer, sink = env, None, None
        if args.pooler:
            api_env = {**env, "DB_POOLER": "transaction"}
        if args.pooler == "pgbouncer":
            bouncer = stack.enter_context(pgbouncer_in_front_of(url, Path(tmp) / "pgbouncer"))
            api_env["DATABASE_URL"] = bouncer.url(make_url(url).database or "")
        floor_app = ["bench.floor:app"]
        floor_env = env
        api_env = {**api_env, "METRICS_PORT": str(free_port())}
        if args.telemetry:
            floor_app = ["main:create_app", "--factory", "--http", UVICORN_HTTP]
            floor_env = {**env, "OTEL_SDK_DISABLED": "true"}
        if args.telemetry == "traced":
            sink = stack.enter_context(otlp_sink())
            api_env = {**api_env, "TRACE_SAMPLE_RATIO": "1.0", "OTEL_EXPORTER_OTLP_ENDPOINT": sink}
        if args.protocol:
            floor_app = ["main:create_app", "--factory"]
        elif args.conditional or args.pooler:
            floor_app = ["main:create_app", "--factory", "--http", UVICORN_HTTP]
        with (
            _server(
                "API",
                ["main:create_app", "--factory", "--http", UVICORN_HTTP],
                api_env,
                Path(tmp) / "api.log",
            ) as api,
            _server("floor", floor_app, floor_env, Path(tmp) / "floor.log") as floor,
            _framework(args.framework, env, Path(tmp) / "fastapi.log") as fastapi_alone,
        ):
            servers = {"API": api, "floor": floor}
            if fastapi_alone:
                servers[FASTAPI_ALONE] = fastapi_alone
            if args.protocol:
                print("--protocol: the floor's column is the API on uvicorn's stock protocol")
            if args.conditional:
                print(
                    "--conditional: the API answering If-None-Match (304, no body); the floor's "
                    "column is the API answering the same GETs without it (200)"
                )
            if args.telemetry:
                print(
                    f"--telemetry {args.telemetry}: the API with its telemetry"
                    f"{' and every request traced, exported by OTLP' if sink else ''}; the "
                    "floor's column is the API with OTEL_SDK_DISABLED=true (no telemetry)"
                )
            if args.pooler:
                print(
                    f"--pooler {args.pooler}: the API with DB_POOLER=transaction"
                    f"{' through PgBouncer (transaction mode)' if bouncer else ''}; "
                    "the floor's column is the API with the defaults, directly on PostgreSQL"
                )
            print(
                f"wrk -t{args.threads} -c{args.connections}, {args.rounds} rounds x "
                f"{args.duration}s per server, interleaved; one uvicorn worker each; "
                f"{os.cpu_count()} cores shared by wrk, both servers and PostgreSQL\n"
            )
            print(
                f"{'scenario':<32} {'API req/s':>20} {'floor req/s':>20} {'ratio':>18}"
                "   API p50 / p99 ms     floor p50 / p99 ms"
            )
            for name, (script, arg) in SCENARIOS.items():
                if args.conditional and script != "get.lua":
                    continue  # a 304 needs one ETag: one path, read only
                if not args.only or args.only in name:
                    _scenario(name, script, arg, servers, args, url, token, Path(tmp))


def _scenario(
    name: str,
    script: str,
    arg: str | None,
    servers: dict[str, str],
    args: argparse.Namespace,
    url: str,
    token: str,
    tmp: Path,
) -> None:
    """Interleaved rounds on both servers, then one line of results (and the write checks)."""
    writes = script == "rent_return.lua"
    extra: list[str] = []
    if writes:
        copies, since = asyncio.run(free_copies_and_now(url))
        copies_file = tmp / "copies.txt"
        copies_file.write_text("\n".join(map(str, copies)))
        extra = [str(copies_file), token, str(args.threads)]
    scripts = dict.fromkeys(servers, (script, extra))
    if args.conditional and arg is not None:
        etag = httpx.get(servers["API"] + arg).headers["ETag"]
        scripts["API"] = ("conditional.lua", [etag])
    runs = {who: Runs() for who in servers}
    for round_ in range(args.rounds):
        order = ["floor", *(who for who in servers if who != "floor")]
        for who in order if round_ % 2 == 0 else reversed(order):
            who_script, who_extra = scripts[who]
            runs[who].add(_wrk(servers[who], who_script, arg, args, who_extra))
    a, f = runs["API"], runs["floor"]
    print(
        f"{name:<32} {_range(a.rps):>20} {_range(f.rps):>20} {_ratio(a.rps, f.rps):>18}   "
        f"{statistics.median(a.p50):6.1f} / {statistics.median(a.p99):6.1f}      "
        f"{statistics.median(f.p50):6.1f} / {statistics.median(f.p99):6.1f}"
    )
    if FASTAPI_ALONE in runs:
        fa = runs[FASTAPI_ALONE]
        print(
            f"    {FASTAPI_ALONE}: {_range(fa.rps)} req/s, "
            f"{_ratio(fa.rps, f.rps)} of the floor; the API {_ratio(a.rps, fa.rps)} of it"
        )
    for who, r in runs.items():
        if writes:
            pairs = r.extra.get("returned", 0) / (args.duration * args.rounds)
            print(f"    {who}: {pairs:.0f} rent+return pairs/s; {r.extra}")
        elif problems := {k: v for k, v in r.extra.items() if v}:
            print(f"    {who}: {problems}")
    if writes:
        overlaps, left_open = asyncio.run(_check_and_clean(url, since))
        print(f"    double rentals: {overlaps} (must be 0); returned {left_open} left open")


if __name__ == "__main__":
    main()
