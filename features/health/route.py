import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from shared.database import DatabaseDep, DatabaseUnavailableError

router = APIRouter(tags=["health"])

READY_TIMEOUT_S = 3.0


@router.get("/health", summary="Liveness: the process is up")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/ready",
    summary="Readiness: the database answers",
    responses={503: {"description": "The database is unreachable"}},
)
async def ready(db: DatabaseDep) -> JSONResponse:
    try:
        async with asyncio.timeout(READY_TIMEOUT_S):
            await db.ping()
    except (DatabaseUnavailableError, TimeoutError):
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ready", "database": "ok"})
