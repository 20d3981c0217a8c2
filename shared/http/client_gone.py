"""Work that ends as soon as the client leaves, before the response has started.

A model's first token can take seconds; a client that gives up meanwhile should end the model
call at once (and free its slot), not when the first token arrives. Starlette notices a
disconnect only once the response is under way, so until then we watch for it ourselves.
"""

import asyncio
from collections.abc import Awaitable

from fastapi import Request
from starlette.responses import Response

# nginx's "client closed request": nobody reads it; it is what the access line says.
CLIENT_CLOSED_REQUEST = 499


class ClientLeftError(Exception):
    """The client disconnected before the work ended (the work has been cancelled)."""


async def until_client_leaves[T](request: Request, work: Awaitable[T]) -> T:
    """`work`'s result (or its exception); ClientLeftError, with `work` cancelled, when the
    client leaves first. The request body must have been read (or be empty)."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_disconnect(request))
    try:
        await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not watcher.done():
            watcher.cancel()
        if not task.done() and not watcher.done():  # we were cancelled ourselves
            task.cancel()
    if task.done():
        return task.result()
    if watcher.exception() is not None:  # not a disconnect: the request itself failed (413)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        raise watcher.exception()  # type: ignore[misc]
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    raise ClientLeftError


async def _disconnect(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass  # the (empty) body of a GET


def client_closed_request() -> Response:
    return Response(status_code=CLIENT_CLOSED_REQUEST)
