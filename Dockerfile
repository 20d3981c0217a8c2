# The API image: Python 3.12, dependencies from poetry.lock, run as an unprivileged user.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    POETRY_VIRTUALENVS_IN_PROJECT=true POETRY_NO_INTERACTION=1

WORKDIR /app
RUN pip install --no-cache-dir "poetry>=2.2,<3"
COPY pyproject.toml poetry.lock poetry.toml ./
RUN poetry install --only main --no-root && rm -rf /root/.cache
COPY . .

RUN useradd --create-home --uid 10001 app && mkdir -p .data && chown app .data
USER app
ENV PATH="/app/.venv/bin:$PATH" HOST=0.0.0.0 PORT=8000 LOG_FORMAT=json
EXPOSE 8000

# Restore Pagila on first start (idempotent), apply migrations, then serve.
CMD ["sh", "-c", "python -m shared.bootstrap prepare && exec uvicorn main:create_app --factory --host \"$HOST\" --port \"$PORT\" --no-access-log"]
