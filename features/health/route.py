import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from shared.ai.kernel import AIRuntime, get_ai
from shared.database import DatabaseDep, DatabaseUnavailableError

router = APIRouter(tags=["health"])

READY_TIMEOUT_S = 3.0


@router.get("/health", summary="Liveness: the process is up")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Readiness: the database answers, and so does the model (a local or self-hosted one)",
    description="`llm` is `ok` when the model sent text within the last few seconds or answers a "
    "one-token probe within 5 s (cached 5 s); `unresponsive` (frozen or overloaded), "
    "`unavailable` (refuses), `restarting` (the local server is being restarted), or "
    "`not_checked` (a hosted model: a probe would cost money).",
    responses={503: {"description": "The database is unreachable, or the model does not answer"}},
)
async def ready(db: DatabaseDep, ai: Annotated[AIRuntime, Depends(get_ai)]) -> JSONResponse:
    parts: dict[str, str] = {}
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await db.ping()
        parts["database"] = "ok"
    except (DatabaseUnavailableError, TimeoutError):
        parts["database"] = "unreachable"
    parts["llm"] = await ai.health() if ai.health else "not_checked"
    ok = parts["database"] == "ok" and parts["llm"] in ("ok", "not_checked")
    body = {"status": "ready" if ok else "unavailable", **parts}
    return JSONResponse(body, status_code=200 if ok else 503)
