"""A Content-Security-Policy that fits /docs and /redoc (and Swagger UI's OAuth2 redirect page).

Their pages are FastAPI's (served with fastapi-offline's local copies of the scripts): each has
an inline script. Rather than allowing every inline script, the policy names the exact ones by
their SHA-256, computed from the page the app renders (once per path). Styles must be inline:
ReDoc's styled-components and Swagger UI insert them at run time. Nothing is framed.
"""

import base64
import hashlib
import re

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def policy_for(page: bytes) -> str:
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; worker-src blob:; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class DocsSecurityMiddleware:
    def __init__(self, app: ASGIApp, paths: set[str]) -> None:
        self.app = app
        self.paths = paths
        self._policies: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path")
        if scope["type"] != "http" or path not in self.paths:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        body = b""

        async def held_until_complete(message: Message) -> None:
            # The page is small and whole (no stream): hold it, hash its scripts, then send.
            nonlocal start, body
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] == "http.response.body":
                body += message.get("body", b"")
                if message.get("more_body", False):
                    return
                assert start is not None
                headers = MutableHeaders(scope=start)
                if headers.get("content-type", "").startswith("text/html"):
                    policy = self._policies.get(path) or self._policies.setdefault(
                        path, policy_for(body)
                    )
                    headers["Content-Security-Policy"] = policy
                    headers["X-Frame-Options"] = "DENY"
                    headers["X-Content-Type-Options"] = "nosniff"
                    headers["Referrer-Policy"] = "no-referrer"
                await send(start)
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, held_until_complete)
