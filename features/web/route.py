"""GET /: a small chat + film-summary page. Plain HTML/CSS/JS, no build step, no CDN."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from shared.errors import NotFoundError

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).parent / "static"
_ASSETS = {
    "app.js": "text/javascript",
    "style.css": "text/css",
    "favicon.svg": "image/svg+xml",
}


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/static/{name}")
async def asset(name: str) -> FileResponse:
    if name not in _ASSETS:  # a fixed list: no path traversal possible
        raise NotFoundError("Not found.")
    return FileResponse(STATIC / name, media_type=_ASSETS[name])
