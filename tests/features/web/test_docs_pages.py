"""/docs and /redoc under their Content-Security-Policy, in real Chromium: they render, and the
browser refuses nothing (a policy that did not fit would block their scripts or styles)."""

import httpx
import pytest
from playwright.async_api import Browser, ConsoleMessage

from shared.http.docs_security import policy_for


@pytest.mark.parametrize(
    ("path", "rendered"),
    [("/docs", ".swagger-ui .info .title"), ("/redoc", "h1")],
)
async def test_the_docs_render_under_their_policy(
    browser: Browser, live_url: str, path: str, rendered: str
) -> None:
    context = await browser.new_context()
    page = await context.new_page()
    refused: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        # ReDoc's "powered by" badge comes from its CDN: blocked on purpose (no third party
        # hears of our visitors), and the only thing the policy may refuse.
        if "cdn.redoc.ly/" in message.text and "image" in message.text:
            return
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            refused.append(message.text)

    page.on("console", on_console)
    try:
        response = await page.goto(f"{live_url}{path}")
        assert response is not None
        title = page.locator(rendered).first
        await title.wait_for(timeout=15_000)
        assert "Pagila API" in await title.inner_text()
        headers = await response.all_headers()
    finally:
        await context.close()
    assert refused == []
    assert (
        "'unsafe-inline'"
        not in headers["content-security-policy"].split("script-src")[1].split(";")[0]
    )
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"


async def test_only_the_pages_own_inline_scripts_may_run(live_url: str) -> None:
    async with httpx.AsyncClient(base_url=live_url) as http:
        page = await http.get("/docs")
    policy = page.headers["content-security-policy"]
    assert policy == policy_for(page.content)
    tampered = page.content.replace(b"deepLinking", b"deepLinkinG")
    assert policy_for(tampered) != policy  # another script would not match the hash
