"""Request bodies over REQUEST_MAX_BODY_BYTES get 413, decided before they are read whole.

A declared `Content-Length` over the limit is answered at once, without reading the body; a
chunked body is counted as it arrives, and the request fails with 413 at the first chunk that
crosses the limit (FastAPI reads a body before it resolves dependencies and runs the handler,
so nothing has happened yet). Either way the connection is closed after the 413: the rest of
the body is never read.

Why not FastAPI 0.165's `max_body_size` (Starlette's RequestBodyLimitMiddleware, read for
this): it checks a declared `Content-Length` only when the app reads the body, so a route that
reads none runs (and answers) whatever the client declared; and its 413 does not close the
connection, so the client goes on sending the body it announced. Ours answers on the head alone,
as problem details with the request id, and closes.
"""

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.http.asgi import raw_header
from shared.http.errors import PAYLOAD_TOO_LARGE, problem_response


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> str:
        return f"Request body too large: at most {self.max_bytes} bytes."

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = raw_header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            response = problem_response(
                scope, PAYLOAD_TOO_LARGE, self._too_large(), {"Connection": "close"}
            )
            await response(scope, receive, send)
            return
        received = 0

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    # Raised inside the app's body read: the app's HTTP error handler answers
                    # it (FastAPI re-raises HTTPException from a body read as it is).
                    raise HTTPException(413, self._too_large(), headers={"Connection": "close"})
            return message

        await self.app(scope, counted_receive, send)
