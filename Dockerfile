# The API image: Python 3.12, the main dependency group from poetry.lock, run as an unprivileged
# user. Only what runs: main.py, features/, shared/, and migrations/versions/ (read at start to
# check that the database's schema is the code's); no tests/, bench/ or devenv/, no compiler, no
# embedded PostgreSQL, no local model. It serves production: DATABASE_URL to a migrated database
# and a hosted or OpenAI-compatible model are required (the app refuses to start otherwise).
#
# Target `migrate` (compose's `migrate` service): the one-shot migration step, run before the
# replicas start: the database created if missing, Pagila restored if missing, migrations to head.

FROM python:3.12-slim AS build
# No compiler here either: the main group is wheels, and one pure-Python sdist (pybars4, for
# semantic-kernel). tests/test_image.py installs it the same way.
ENV POETRY_VIRTUALENVS_IN_PROJECT=true POETRY_NO_INTERACTION=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN pip install --no-cache-dir "poetry>=2.2,<3"
WORKDIR /app
COPY pyproject.toml poetry.lock poetry.toml ./
RUN poetry install --only main --no-root --no-cache


FROM python:3.12-slim AS app
RUN useradd --no-create-home --uid 10001 app
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY main.py ./
COPY features/ features/
COPY shared/ shared/
COPY migrations/versions/ migrations/versions/
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH="/app/.venv/bin:$PATH" APP_ENV=production
USER 10001


# The migration step: devenv's `prepare` against DATABASE_URL (DATABASE_DIRECT_URL when that is
# a pooler). DATABASE_URL is required here too: the image has no embedded PostgreSQL.
FROM app AS migrate
COPY alembic.ini ./
COPY migrations/ migrations/
COPY devenv/ devenv/
ENV PAGILA_CACHE_DIR=/tmp/pagila
CMD ["python", "-m", "devenv", "prepare"]


# The runtime (the default target): the replicas. They never migrate, and refuse to start on a
# schema older than the code, naming the revision it needs.
FROM app AS runtime
# FORWARDED_ALLOW_IPS: the load balancer's address, if one sets X-Forwarded-For (default: nobody).
ENV FORWARDED_ALLOW_IPS="" HOST=0.0.0.0 PORT=8000 METRICS_HOST=0.0.0.0
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ['PORT'] + '/ready', timeout=4)"]
CMD ["sh", "-c", "exec uvicorn main:create_app --factory --http shared.http.server:BoundedHttpToolsProtocol --host \"$HOST\" --port \"$PORT\" --no-access-log --no-server-header"]
