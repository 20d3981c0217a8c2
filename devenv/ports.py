"""A TCP port free on the loopback interface, for a server started next (the local model, the
bench's servers, the tests')."""

import socket


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
