"""The page's assistant, docs and headers in real Chromium (tests/fixtures/browser.py), against
the live app with the fake model. The store front itself: test_store_front.py."""

import asyncio
import re

from playwright.async_api import Browser, Locator, Page, expect
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.fakes import FakeChat
from tests.support import MIKE


def latest_answer(page: Page) -> Locator:
    """The newest assistant bubble of the conversation (test_chat.py: the thread itself)."""
    return page.locator("#chat-thread > li.turn.assistant").last


async def test_answer_streams_in_progressively(page: Page, fake_chat: FakeChat) -> None:
    fake_chat.chunks = ["Hello", " from", " Pagila."]
    # The model holds after two chunks (the orchestration passes a chunk on when the next
    # one arrives): the first is on screen while the model is still generating.
    fake_chat.gate, fake_chat.gate_at = asyncio.Event(), 2

    await page.fill("#question", "Say hello")
    await page.click("#ask-button")

    # The first chunk is on screen while the model is still generating.
    answer = latest_answer(page).locator(".answer")
    await expect(answer).to_have_text("Hello")
    await expect(page.locator("#stop-button")).to_be_enabled()
    fake_chat.gate.set()
    await expect(answer).to_have_text("Hello from Pagila.")
    await expect(page.locator("#ask-status")).to_have_text("Done.")
    await expect(page.locator("#stop-button")).to_be_disabled()


async def test_stop_aborts_the_stream_and_the_model(page: Page, fake_chat: FakeChat) -> None:
    fake_chat.chunks = ["more "]
    fake_chat.endless = True
    fake_chat.chunk_delay_s = 0.05

    await page.fill("#question", "Go on forever")
    await page.click("#ask-button")
    answer = latest_answer(page).locator(".answer")
    await expect(answer).to_contain_text("more more")
    await page.click("#stop-button")

    await expect(page.locator("#ask-status")).to_have_text("Stopped.")
    await asyncio.wait_for(fake_chat.closed.wait(), timeout=5)
    shown = await answer.text_content()
    await asyncio.sleep(0.3)
    assert await answer.text_content() == shown


async def test_model_errors_are_shown(page: Page, fake_chat: FakeChat) -> None:
    fake_chat.fail_before_first = True

    await page.fill("#question", "Anyone there?")
    await page.click("#ask-button")

    error = page.locator("#ask-error")
    await expect(error).to_be_visible()
    # A 503 in words: what is down, when to retry, and the request id to quote.
    await expect(error).to_contain_text(
        "Temporarily unavailable: The language model is unavailable"
    )
    await expect(error).to_contain_text("Please try again in 5 seconds.")
    await expect(error).to_contain_text(re.compile(r"Reference: [0-9a-f]{32}\."))
    # No bare status code (the request id is hex, and may hold "503" inside it).
    await expect(error).not_to_contain_text(re.compile(r"\b503\b"))


async def test_the_page_has_a_favicon(page: Page, live_url: str) -> None:
    href = await page.locator("link[rel=icon]").get_attribute("href")
    assert href is not None
    icon = await page.request.get(f"{live_url}{href}")
    assert icon.status == 200
    assert icon.headers["content-type"] == "image/svg+xml"


async def test_docs_work_offline_authorise_and_run_a_request(
    browser: Browser, live_url: str, db: AsyncConnection
) -> None:
    """Swagger UI from the app itself (this machine has no way out), the Authorize dialog
    through POST /token, and a protected request run from the page with the token."""
    context = await browser.new_context()
    tab = await context.new_page()
    elsewhere: list[str] = []
    tab.on("request", lambda r: None if r.url.startswith(live_url) else elsewhere.append(r.url))
    await tab.goto(f"{live_url}/docs")

    await tab.click("button.authorize")
    await tab.fill("#oauth_username", MIKE["username"])
    await tab.fill("#oauth_password", MIKE["password"])
    await tab.click(".auth-btn-wrapper button.authorize")
    await expect(tab.locator(".auth-btn-wrapper button", has_text="Logout")).to_be_visible()
    await tab.click(".auth-btn-wrapper button.btn-done")

    operation = tab.locator("#operations-rentals-rentals-return_rental")
    await operation.locator(".opblock-summary").click()
    await operation.locator("button.try-out__btn").click()
    await operation.locator("input[placeholder='rental_id']").fill("1")
    await operation.locator("button.execute").click()

    # 409 (rental 1 was returned long ago), not 401: the token went with the request.
    status = operation.locator(".live-responses-table tr.response .response-col_status")
    await expect(status).to_have_text("409")
    assert elsewhere == []
    await context.close()


async def test_one_box_answers_store_and_general_questions_and_opens_films(
    page: Page, fake_chat: FakeChat
) -> None:
    await page.fill("#question", "how much is academy dinosaur?")
    await page.click("#ask-button")

    store = latest_answer(page)
    await expect(store.locator(".answer")).to_contain_text("$0.99")
    await expect(store.locator(".agent")).to_have_text("the store")
    # In a customer's words: where it looked, never the tools' names.
    await expect(store.locator(".tools")).to_have_text("· looked up: the catalogue")
    await expect(store.locator("table tbody tr")).to_have_text(["ACADEMY DINOSAURPG$0.99"])
    assert fake_chat.requests == []  # the store's answer came from the database alone

    # A film the answer names opens its panel.
    await store.locator(".answer button", has_text="ACADEMY DINOSAUR").first.click()
    await expect(page.locator("#film-title")).to_have_text("ACADEMY DINOSAUR")
    await expect(page.locator("#film-title")).to_be_focused()

    fake_chat.chunks = ["Paris", " is the capital."]
    await page.fill("#question", "What is the capital of France?")
    await page.click("#ask-button")

    general = latest_answer(page)
    await expect(page.locator("#chat-thread > li.turn.assistant")).to_have_count(2)
    await expect(general.locator(".answer")).to_have_text("Paris is the capital.")
    await expect(general.locator(".agent")).to_have_text("the general assistant")
    await expect(general.locator(".tools")).to_have_text("")
    await expect(general.locator("table")).to_have_count(0)  # no films, no table of them


async def test_the_page_runs_under_its_security_headers(browser: Browser, live_url: str) -> None:
    context = await browser.new_context()
    tab = await context.new_page()
    violations: list[str] = []
    tab.on("console", lambda message: violations.append(message.text))
    try:
        response = await tab.goto(f"{live_url}/")
        assert response is not None
        headers = response.headers
        await expect(tab.locator("#ask-button")).to_be_enabled()
    finally:
        await context.close()

    assert "script-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "no-referrer"
    assert violations == []  # nothing on the page was blocked by the policy
