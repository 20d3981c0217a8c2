"""What the plain ASGI middlewares share."""

from starlette.types import Scope


def raw_header(scope: Scope, name: bytes) -> bytes | None:
    """A request header's first value (`name` in lower case, as ASGI gives names), looked up in
    the raw list: starlette's `Headers` decodes every header to find one, several times the
    cost, on every request."""
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None
