""" "Ask the store" as a conversation in real Chromium on a phone-sized screen
(tests/fixtures/browser.py), against the live app with the offline rules router (the fake model
calls no tools): a follow-up only the earlier turns can resolve, which each request carries; the
thread kept for the tab across a reload, and started anew."""

import re
from typing import Any

from fastapi import FastAPI
from playwright.async_api import Page, Request, expect
from sqlalchemy import text

from tests.fakes import FakeChat

FILM = "AFRICAN EGG"
QUESTIONS = ["do you have african egg", "how much is it", "who is in it"]
CHAT_KEY = "pagila.chat"  # the page's sessionStorage key for the conversation


async def ask(page: Page, question: str) -> str:
    """Asks from the keyboard (Enter), waits for the answer to finish, returns its text."""
    turns = page.locator("#chat-thread > li")
    before = await turns.count()
    await page.fill("#question", question)
    await page.press("#question", "Enter")

    await expect(turns).to_have_count(before + 2)
    answer = turns.nth(before + 1)
    await expect(answer).not_to_have_class(re.compile(r"\banswering\b"))
    error = page.locator("#ask-error")
    assert await error.is_hidden(), f"{question!r}: {await error.text_content()}"
    await expect(page.locator("#ask-status")).to_have_text("Done.")
    await expect(page.locator("#question")).to_be_focused()  # ready for the next question
    return (await answer.locator(".answer").text_content() or "").strip()


async def test_a_three_turn_conversation_resolves_follow_ups_and_is_kept_for_the_tab(
    page: Page, app: FastAPI, fake_chat: FakeChat
) -> None:
    # Were a question handed to the general agent, its answer would name nothing of the store.
    fake_chat.chunks = ["I cannot tell from here."]
    engine = app.state.database.engine
    async with engine.connect() as conn:
        rate = (
            await conn.execute(text("SELECT rental_rate FROM film WHERE title = :t"), {"t": FILM})
        ).scalar_one()
        actors = list(
            (
                await conn.execute(
                    text(
                        "SELECT a.first_name || ' ' || a.last_name FROM film f"
                        " JOIN film_actor fa USING (film_id) JOIN actor a USING (actor_id)"
                        " WHERE f.title = :t"
                    ),
                    {"t": FILM},
                )
            ).scalars()
        )
    assert actors
    sent: list[Any] = []  # the JSON bodies of the requests to /ai/handoff, in order

    def record(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/ai/handoff"):
            sent.append(request.post_data_json)

    page.on("request", record)

    answers = [await ask(page, QUESTIONS[0])]
    assert FILM in answers[0]
    answers.append(await ask(page, QUESTIONS[1]))
    answers.append(await ask(page, QUESTIONS[2]))

    # Six bubbles, in order, each saying who spoke.
    turns = page.locator("#chat-thread > li")
    expected_classes = ["turn user", "turn assistant"] * 3
    await expect(turns).to_have_class(expected_classes)
    await expect(turns.locator(".text")).to_have_text(
        [t for pair in zip(QUESTIONS, answers, strict=True) for t in pair]
    )
    await expect(turns.locator(".sr-only")).to_have_text(["You:", "Store:"] * 3)
    log = page.locator("#chat-log")
    await expect(log).to_have_attribute("role", "log")
    await expect(log).to_have_attribute("aria-live", "polite")
    await expect(log.locator("#chat-thread")).to_have_count(1)

    # Each request carried the turns before it, OpenAI-style, oldest first.
    assert len(sent) == 3
    assert sent[0]["question"] == QUESTIONS[0]
    assert sent[0].get("history", []) == []
    assert sent[1]["history"] == [
        {"role": "user", "content": QUESTIONS[0]},
        {"role": "assistant", "content": answers[0]},
    ]
    assert sent[2]["question"] == QUESTIONS[2]
    assert [m["role"] for m in sent[2]["history"]] == ["user", "assistant", "user", "assistant"]
    assert [m["content"] for m in sent[2]["history"]] == [
        QUESTIONS[0],
        answers[0],
        QUESTIONS[1],
        answers[1],
    ]

    # A reload keeps the thread, and the films an answer names still open their panel.
    await page.reload()
    await expect(turns).to_have_class(expected_classes)
    await expect(turns.locator(".text")).to_have_text(
        [t for pair in zip(QUESTIONS, answers, strict=True) for t in pair]
    )
    await turns.nth(1).locator(".answer button", has_text=FILM).first.click()
    await expect(page.locator("#film-title")).to_have_text(FILM)

    # "New conversation" empties the thread and what the tab kept of it.
    await page.click("#new-chat")
    await expect(turns).to_have_count(0)
    await expect(log).to_be_hidden()
    await expect(page.locator("#question")).to_be_focused()
    assert await page.evaluate(f"sessionStorage.getItem('{CHAT_KEY}')") is None
    await page.reload()
    await expect(page.locator("#ask-button")).to_be_enabled()
    await expect(turns).to_have_count(0)

    # The follow-ups, resolved from the conversation (checked last, so that a backend that
    # takes the history but cannot resolve them yet still shows the thread works).
    assert f"{rate:.2f}" in answers[1], answers[1]
    said = answers[2].lower()
    assert any(actor.lower() in said for actor in actors), (answers[2], actors)
