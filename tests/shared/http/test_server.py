"""The bounded HTTP protocol keeps what HTTP/1.1 allows: a head and its body in one packet,
pipelined requests, a head just under the limit (the limits themselves: tests/test_serve.py)."""

import asyncio
from urllib.parse import urlsplit

from shared.settings import get_settings


async def _exchange(url: str, raw: bytes, responses: int) -> bytes:
    """Send `raw` in one write (one packet on loopback); what came back once `responses`
    answers are whole. The server runs in this event loop: the socket must not block it."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(raw)
        received = b""
        async with asyncio.timeout(10):
            while received.count(b"HTTP/1.1 ") < responses or not received.endswith(b"}"):
                chunk = await reader.read(65536)
                if not chunk:
                    break
                received += chunk
    finally:
        writer.close()
    return received


async def test_pipelined_requests_and_a_body_in_the_heads_packet_are_all_answered(
    live_url: str,
) -> None:
    body = b'{"film_id": "x"}'
    raw = (
        b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /ai/summary HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )
    answered = await _exchange(live_url, raw, responses=2)
    assert answered.startswith(b"HTTP/1.1 200 ")
    assert b"HTTP/1.1 422 " in answered


async def test_a_head_just_under_the_limit_is_served(live_url: str) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: "
    room = get_settings().request_max_header_bytes - len(head) - len(b"\r\n\r\n")
    answered = await _exchange(live_url, head + b"a" * room + b"\r\n\r\n", responses=1)
    assert answered.startswith(b"HTTP/1.1 200 ")


async def test_a_pipelined_head_past_the_first_requests_budget_is_not_refused(
    live_url: str,
) -> None:
    """A 30 KB body, then the next request's 10 KB head, in one write: the limit is per head,
    so the second head crossing the first one's 32 KiB mark is not a 431."""
    body = b'{"film_id": "' + b"x" * 30_000 + b'"}'
    raw = (
        b"POST /ai/summary HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
        + b"GET /health HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 10_000 + b"\r\n\r\n"
    )  # fmt: skip
    answered = await _exchange(live_url, raw, responses=2)
    assert answered.startswith(b"HTTP/1.1 422 ")
    assert b"HTTP/1.1 200 " in answered
