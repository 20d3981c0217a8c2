# The API image: Python 3.12, dependencies from poetry.lock, run as an unprivileged user.
# WITH_LOCAL_LLM=true (default) includes the embedded model (llama.cpp server + SmolLM2), so the
# AI endpoints work with no key; build with --build-arg WITH_LOCAL_LLM=false for OpenAI/Azure only.

FROM python:3.12-slim AS build
ARG WITH_LOCAL_LLM=true
ENV POETRY_VIRTUALENVS_IN_PROJECT=true POETRY_NO_INTERACTION=1 CMAKE_ARGS="-DGGML_NATIVE=OFF"
RUN apt-get update && apt-get install -y --no-install-recommends build-essential cmake \
    && rm -rf /var/lib/apt/lists/*
RUN pip install --no-cache-dir "poetry>=2.2,<3"
WORKDIR /app
COPY pyproject.toml poetry.lock poetry.toml ./
RUN groups=main; [ "$WITH_LOCAL_LLM" = true ] && groups=main,local-llm; \
    poetry install --only "$groups" --no-root

FROM python:3.12-slim
# libgomp: llama.cpp's OpenMP runtime.
RUN apt-get update && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/.venv /app/.venv
COPY . .
RUN useradd --create-home --uid 10001 app && mkdir -p .data && chown app .data
USER app
# FORWARDED_ALLOW_IPS: the load balancer's address, if one sets X-Forwarded-For (default: nobody).
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH="/app/.venv/bin:$PATH" FORWARDED_ALLOW_IPS="" \
    HOST=0.0.0.0 PORT=8000 APP_ENV=production
EXPOSE 8000

# The app restores Pagila on first start (idempotent) and applies migrations, then serves.
CMD ["sh", "-c", "exec uvicorn main:create_app --factory --http shared.http.server:BoundedHttpToolsProtocol --host \"$HOST\" --port \"$PORT\" --no-access-log --no-server-header"]
