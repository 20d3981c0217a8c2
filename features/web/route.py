"""GET /: the store front (catalogue, a film's panel, rentals, "Ask the store"). Plain HTML/CSS/JS,
no build step, no CDN."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse

from shared.http.errors import NotFoundError

router = APIRouter(include_in_schema=False)

STATIC = Path(__file__).parent / "static"
_ASSETS = {
    "app.js": "text/javascript",
    "style.css": "text/css",
    "favicon.svg": "image/svg+xml",
}


# The page runs only its own script and style, talks only to this origin, and is never framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@router.get("/")
async def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=SECURITY_HEADERS)


@router.get("/static/{name}")
async def asset(name: str) -> FileResponse:
    if name not in _ASSETS:  # a fixed list: no path traversal possible
        raise NotFoundError("Not found.")
    return FileResponse(STATIC / name, media_type=_ASSETS[name], headers=SECURITY_HEADERS)
