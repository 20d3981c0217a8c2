"""A TCP proxy between the app and PostgreSQL, for tests that must see the wire or break it.

It counts round trips (one ReadyForQuery message from the server ends each) and can cut every
connection through it, or refuse new ones, like a network or server outage would.
"""

import asyncio
import contextlib
import struct

from sqlalchemy.engine import make_url

_SSL_REQUEST = struct.pack("!ii", 8, 80877103)


class PgProxy:
    def __init__(self, upstream_url: str) -> None:
        url = make_url(upstream_url)
        self._upstream_url = url
        self._target = (url.host or "127.0.0.1", url.port or 5432)
        self._server: asyncio.Server | None = None
        self._port = 0  # kept: a closed server no longer lists its socket
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.round_trips = 0
        self._drop_at_next_message = False

    @property
    def url(self) -> str:
        assert self._port, "start() the proxy first"
        return self._upstream_url.set(host="127.0.0.1", port=self._port).render_as_string(
            hide_password=False
        )

    async def start(self, port: int = 0) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", port)
        self._port = self._server.sockets[0].getsockname()[1]

    @property
    def open_connections(self) -> int:
        """Client connections passing through now (each is two streams: client and server)."""
        return len(self._writers) // 2

    def drop_at_next_message(self) -> None:
        """Cut the connection that sends the next message (a query in flight when the network
        path or the server goes away): the client learns of it only by the failed query."""
        self._drop_at_next_message = True

    def drop_connections(self) -> None:
        """Cut every open connection, keep accepting new ones (a dropped network path)."""
        for writer in list(self._writers):
            writer.transport.abort()

    async def stop(self) -> None:
        """Refuse new connections and cut the open ones (the server 'goes away')."""
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            # Since Python 3.12 this also waits for the open connections: cut them first.
            await self._server.wait_closed()

    async def restart(self) -> None:
        """Listen again on the same port (the server is back)."""
        await self.start(self._port)

    async def _accept(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(*self._target)
        except OSError:
            client_w.transport.abort()
            return
        self._writers |= {client_w, server_w}
        up = asyncio.create_task(self._client_to_server(client_r, server_w, server_r, client_w))
        self._tasks.add(up)
        up.add_done_callback(self._tasks.discard)

    async def _client_to_server(
        self,
        client_r: asyncio.StreamReader,
        server_w: asyncio.StreamWriter,
        server_r: asyncio.StreamReader,
        client_w: asyncio.StreamWriter,
    ) -> None:
        down: asyncio.Task[None] | None = None
        try:
            first = await client_r.readexactly(8)
            server_w.write(first)
            if first == _SSL_REQUEST:  # answered by one untyped byte ('N': no SSL here)
                client_w.write(await server_r.readexactly(1))
            down = asyncio.create_task(self._server_to_client(server_r, client_w))
            while data := await client_r.read(65536):
                if self._drop_at_next_message:
                    self._drop_at_next_message = False
                    return  # the finally clause cuts both sides
                server_w.write(data)
                await server_w.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for writer in (server_w, client_w):
                writer.transport.abort()
                self._writers.discard(writer)
            if down is not None:
                down.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await down

    async def _server_to_client(
        self, server_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
    ) -> None:
        """Forward whole messages (type byte + length), counting ReadyForQuery ('Z'); when the
        server hangs up, hang up on the client too."""
        try:
            while True:
                header = await server_r.readexactly(5)
                (length,) = struct.unpack("!i", header[1:])
                payload = await server_r.readexactly(length - 4)
                if header[:1] == b"Z":
                    self.round_trips += 1
                client_w.write(header + payload)
                await client_w.drain()
        except (OSError, asyncio.IncompleteReadError):
            client_w.transport.abort()
