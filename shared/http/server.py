"""The HTTP/1.1 protocol the server runs: uvicorn's httptools protocol, bounded.

uvicorn's httptools parser buffers a request head of any size (a 300 MB header was read whole)
and waits for it forever (slowloris: connections that never finish their headers stay open).
This subclass adds what a server facing clients directly needs, so `just serve` is safe
without a proxy in front:

- a request head (request line + headers) over REQUEST_MAX_HEADER_BYTES gets `431` and the
  connection is closed, after reading no more than that;
- a connection that has not finished its request head REQUEST_HEADER_TIMEOUT_S after it opened
  (or after the head began) is closed.

Bodies are bounded in the app (`shared.http.body_limit`), where the 413 carries the request id.

    uvicorn main:create_app --factory --http shared.http.server:BoundedHttpToolsProtocol

It overrides five of uvicorn's protocol methods, so uvicorn is pinned to a minor version in
pyproject.toml; `tests/test_serve.py` checks the limits over a real socket.
"""

import asyncio
from typing import Any

import structlog
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from shared.settings import get_settings

log = structlog.get_logger(__name__)

UVICORN_HTTP = f"{__name__}:BoundedHttpToolsProtocol"


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = get_settings()
        self._max_head_bytes = settings.request_max_header_bytes
        self._head_timeout_s = settings.request_header_timeout_s
        self._awaiting_head = True  # the next bytes belong to a request head
        self._head_bytes = 0
        self._completed = 0  # requests read whole on this connection
        # When the head being read began (None: no head under way). One timer per connection,
        # not one per request: it is set again, when it fires, for the head under way then.
        self._head_began: float | None = None
        self._head_clock: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_began = self.loop.time()  # a connection that never sends a byte is closed too
        self._set_head_clock(self._head_began + self._head_timeout_s)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._head_clock is not None:
            self._head_clock.cancel()
            self._head_clock = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self._awaiting_head:
            super().data_received(data)
            return
        if self._head_began is None:
            self._head_began = self.loop.time()
            if self._head_clock is None:
                self._set_head_clock(self._head_began + self._head_timeout_s)
        budget = self._max_head_bytes - self._head_bytes
        if len(data) <= budget:  # the common case: a whole head, or a part, within the budget
            self._head_bytes += len(data)
            super().data_received(data)
            return
        # Feed the parser no more than the budget; what follows is parsed only if the head
        # ended within it (the rest of a chunk can be a body or the next pipelined request).
        head, rest = data[:budget], data[budget:]
        self._head_bytes += len(head)
        completed = self._completed
        if head:
            super().data_received(head)
        if self.transport.is_closing():
            return
        if self._awaiting_head and self._completed == completed:
            self._reject_head()  # the same head, still unfinished at the limit
            return
        self.data_received(rest)  # a body, or the next pipelined request's head

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._head_began = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        # What arrives next starts a new request (keep-alive or pipelined).
        self._awaiting_head = True
        self._head_bytes = 0
        self._completed += 1

    def _set_head_clock(self, when: float) -> None:
        self._head_clock = self.loop.call_at(when, self._check_head_clock)

    def _check_head_clock(self) -> None:
        self._head_clock = None
        began = self._head_began
        if began is None or self.transport.is_closing():
            return  # no head under way: the next one sets the clock again
        deadline = began + self._head_timeout_s
        if self.loop.time() < deadline:  # a later head than the one the clock was set for
            self._set_head_clock(deadline)
            return
        log.info(
            "http.header_timeout",
            client=_client(self.client),
            received_bytes=self._head_bytes,
            timeout_s=self._head_timeout_s,
        )
        self.transport.close()

    def _reject_head(self) -> None:
        log.warning(
            "http.header_too_large", client=_client(self.client), limit=self._max_head_bytes
        )
        body = (
            f"Request header fields too large: the request line and headers may have at most "
            f"{self._max_head_bytes} bytes.\n"
        ).encode()
        if self.cycle is None or self.cycle.response_complete:  # not inside a response
            self.transport.write(
                b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
                b"content-type: text/plain; charset=utf-8\r\n"
                b"content-length: " + str(len(body)).encode() + b"\r\n"
                b"connection: close\r\n\r\n" + body
            )
        self.transport.close()


def _client(client: tuple[str, int] | None) -> str | None:
    return f"{client[0]}:{client[1]}" if client else None
