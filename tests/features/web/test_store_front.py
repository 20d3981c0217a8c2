"""The store front in real Chromium on a phone-sized screen (tests/fixtures/browser.py), against
the live app: search, a film's panel, rent, the customer's rentals, return; errors in words.

Rentals made here really commit (the browser's requests run concurrently, on the app's pools):
each test deletes the rentals it made.
"""

import json
import re
from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI
from playwright.async_api import Page, expect
from sqlalchemy import text

from tests.fakes import FakeChat
from tests.support import ADMIN, MIKE

CUSTOMER = 77
DASH = "\u2013"  # the page writes ranges as "1\u201310 of 42"


@pytest.fixture
async def cleanup_rentals(app: FastAPI) -> AsyncIterator[None]:
    """Deletes the rentals made during the test (there are none of customer CUSTOMER's after the
    newest one Pagila has, until a test makes them)."""
    engine = app.state.database.engine
    async with engine.connect() as conn:
        newest = (await conn.execute(text("SELECT max(rental_id) FROM rental"))).scalar_one()
    yield
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM rental WHERE rental_id > :n"), {"n": newest})


async def sign_in(page: Page) -> None:
    await page.click("#sign-in-open")
    await page.fill("#username", MIKE["username"])
    await page.fill("#password", MIKE["password"])
    await page.click("#sign-in-button")
    await expect(page.locator("#signed-in-as")).to_have_text("Signed in as Mike Hillyer (store 1)")


async def open_film(page: Page, words: str, title: str) -> None:
    await page.fill("#q", words)
    await page.press("#q", "Enter")
    await page.get_by_role("button", name=title, exact=True).click()
    await expect(page.locator("#film-title")).to_have_text(title)


async def test_find_rent_see_and_return_academy_dinosaur(
    page: Page, app: FastAPI, cleanup_rentals: None
) -> None:
    await sign_in(page)
    await page.fill("#q", "dinosaur")  # typing searches by itself

    await expect(page.get_by_role("button", name="ACADEMY DINOSAUR", exact=True)).to_be_visible()
    await page.get_by_role("button", name="ACADEMY DINOSAUR", exact=True).click()
    await expect(page.locator("#film-title")).to_have_text("ACADEMY DINOSAUR")
    await expect(page.locator("#film-title")).to_be_focused()
    shelf = page.locator("#availability tbody tr")
    await expect(shelf.first).to_contain_text("of 4 in")
    before = await shelf.first.locator("td").nth(1).text_content()

    await page.fill("#rent-customer", str(CUSTOMER))
    await page.click("#rent-button")

    await expect(page.locator("#rent-result")).to_contain_text(
        f"ACADEMY DINOSAUR to customer {CUSTOMER}"
    )
    assert before is not None
    in_before = int(before.split()[0])
    await expect(shelf.first.locator("td").nth(1)).to_have_text(f"{in_before - 1} of 4 in")
    first_rental = page.locator("#rentals tbody tr").first
    await expect(first_rental).to_contain_text("ACADEMY DINOSAUR")
    await expect(first_rental).to_contain_text("not yet")
    engine = app.state.database.engine
    async with engine.connect() as conn:
        stored = (
            await conn.execute(
                text(
                    "SELECT r.rental_id, i.film_id, r.staff_id, r.return_date FROM rental r"
                    " JOIN inventory i USING (inventory_id)"
                    " WHERE r.customer_id = :c ORDER BY r.rental_id DESC LIMIT 1"
                ),
                {"c": CUSTOMER},
            )
        ).one()
    # Recorded as the signed-in clerk's: Mike is staff 1.
    assert (stored.film_id, stored.staff_id, stored.return_date) == (1, 1, None)

    await first_rental.get_by_role("button", name="Return ACADEMY DINOSAUR").click()

    await expect(first_rental).not_to_contain_text("not yet")  # the list is reloaded
    await expect(page.locator("#rentals-status")).to_contain_text("Returned: ACADEMY DINOSAUR")
    await expect(shelf.first.locator("td").nth(1)).to_have_text(f"{in_before} of 4 in")
    async with engine.connect() as conn:
        returned = await conn.execute(
            text("SELECT return_date FROM rental WHERE rental_id = :r"), {"r": stored.rental_id}
        )
        assert returned.scalar_one() is not None


async def test_a_copy_rented_meanwhile_is_explained_and_the_shelf_refreshed(
    page: Page, live_url: str, cleanup_rentals: None
) -> None:
    await sign_in(page)
    await open_film(page, "dinosaur", "ACADEMY DINOSAUR")
    shelf = page.locator("#availability tbody tr").first.locator("td").nth(1)
    before = await shelf.text_content()
    assert before is not None
    # Behind the page's back, someone rents the copy the page would choose.
    availability = await page.request.get(f"{live_url}/films/1/availability")
    copy = (await availability.json())["stores"][0]["available_inventory_ids"][0]
    taken = await page.request.post(
        f"{live_url}/customers/{CUSTOMER + 1}/rentals",
        data=json.dumps({"inventory_id": copy, "staff_id": 1}),
        headers={**ADMIN, "Content-Type": "application/json"},
    )
    assert taken.status == 201

    await page.fill("#rent-customer", str(CUSTOMER))
    await page.click("#rent-button")

    error = page.locator("#film-error")
    await expect(error).to_contain_text("Someone else has just rented that copy")
    await expect(error).to_contain_text(f"Inventory item {copy} is already rented out")
    await expect(error).not_to_contain_text("409")
    await expect(page.locator("#rent-result")).to_be_hidden()
    await expect(shelf).to_have_text(f"{int(before.split()[0]) - 1} of 4 in")


async def test_renting_needs_staff_and_an_expired_sign_in_is_said_in_words(page: Page) -> None:
    await open_film(page, "dinosaur", "ACADEMY DINOSAUR")
    await page.fill("#rent-customer", str(CUSTOMER))

    await page.click("#rent-button")
    await expect(page.locator("#film-error")).to_have_text(
        "Only staff can rent: sign in first (top of the page)."
    )

    await page.evaluate("sessionStorage.setItem('pagila.token', 'expired')")
    await page.click("#rent-button")
    await expect(page.locator("#film-error")).to_have_text(
        "You are not signed in as staff, or your sign-in has expired: sign in and try again."
    )
    # The page offers to sign in again, and says why.
    await expect(page.locator("#sign-in-error")).to_have_text(
        "Your sign-in has expired: please sign in again."
    )
    await expect(page.locator("#sign-in-form")).to_be_visible()


async def test_a_wrong_password_is_said_in_words(page: Page) -> None:
    await page.click("#sign-in-open")
    await page.fill("#username", MIKE["username"])
    await page.fill("#password", "not the password")
    await page.click("#sign-in-button")

    await expect(page.locator("#sign-in-error")).to_have_text("Wrong user name or password.")
    await expect(page.locator("#signed-in")).to_be_hidden()


async def test_filters_and_pages_show_what_the_api_finds(page: Page, live_url: str) -> None:
    await page.select_option("#category", "Horror")
    await page.select_option("#rating", "R")

    api = await (
        await page.request.get(f"{live_url}/films?category=Horror&rating=R&limit=10")
    ).json()
    titles = page.locator("#results tbody tr button.link")
    await expect(titles).to_have_text([film["title"] for film in api["items"]])
    await expect(page.locator("#page-info")).to_have_text(
        f"1{DASH}{min(10, api['total'])} of {api['total']}"
    )

    await page.select_option("#rating", "")
    await page.click("#next-page")
    second = await (
        await page.request.get(f"{live_url}/films?category=Horror&limit=10&offset=10")
    ).json()
    await expect(titles).to_have_text([film["title"] for film in second["items"]])
    await expect(page.locator("#page-info")).to_contain_text(f"11{DASH}20 of")


async def test_nothing_found_is_said(page: Page) -> None:
    await page.fill("#q", "zzzyzzx")
    await page.press("#q", "Enter")

    await expect(page.locator("#results-status")).to_have_text(
        "No films match: try fewer or other words."
    )
    await expect(page.locator("#results tbody tr")).to_have_count(0)


async def test_the_catalogue_works_from_the_keyboard(page: Page) -> None:
    await page.focus("#q")
    await page.keyboard.type("dinosaur")
    await page.keyboard.press("Enter")
    first = page.locator("#results tbody tr button.link").first
    # The search's own results (ACADEMY DINOSAUR also heads the unfiltered list, which the
    # search replaces: a button focused before that is gone).
    await expect(page.locator("#results-status")).to_have_text(
        re.compile(r"^(?!1000 )\d+ films? found\.$")
    )
    await expect(first).to_have_text("ACADEMY DINOSAUR")

    # Category, rating, streaming, Search, then the first film.
    for _ in range(5):
        await page.keyboard.press("Tab")
    await expect(first).to_be_focused()
    await page.keyboard.press("Enter")

    await expect(page.locator("#film-title")).to_have_text("ACADEMY DINOSAUR")
    await expect(page.locator("#film-title")).to_be_focused()


async def test_the_summary_is_on_the_film_panel(page: Page, fake_chat: FakeChat) -> None:
    fake_chat.replies = [
        json.dumps({"title": "ACADEMY DINOSAUR", "rating": "PG", "recommended": True,
                    "summary": "A feminist and a mad scientist in the Canadian Rockies."})
    ]  # fmt: skip
    await open_film(page, "dinosaur", "ACADEMY DINOSAUR")

    await page.click("#summary-button")

    await expect(page.locator("#summary-card")).to_be_visible()
    await expect(page.locator("#card-rating")).to_have_text("Rated PG")
    await expect(page.locator("#card-summary")).to_have_text(
        "A feminist and a mad scientist in the Canadian Rockies."
    )


async def test_the_page_fits_a_phone(page: Page) -> None:
    await sign_in(page)  # the rentals panel is staff's
    await open_film(page, "dinosaur", "ACADEMY DINOSAUR")
    await page.fill("#rentals-customer", "1")
    await page.click("#rentals-button")
    await expect(page.locator("#rentals tbody tr").first).to_be_visible()

    overflow = await page.evaluate(
        "document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth"
    )
    assert overflow <= 0


async def test_a_customers_rentals_are_shown_to_signed_in_staff_only(page: Page) -> None:
    await expect(page.locator("#rentals-panel")).to_be_hidden()

    await sign_in(page)
    await expect(page.locator("#rentals-panel")).to_be_visible()
    await page.fill("#rentals-customer", "1")
    await page.click("#rentals-button")
    await expect(page.locator("#rentals tbody tr").first).to_be_visible()

    await page.click("#sign-out")
    await expect(page.locator("#rentals-panel")).to_be_hidden()


async def test_the_page_says_when_a_sign_in_runs_out_and_offers_another(page: Page) -> None:
    await sign_in(page)
    # As if the token had a second left: the page keeps its expiry beside it.
    await page.evaluate(
        "sessionStorage.setItem('pagila.who', JSON.stringify({name: 'Mike Hillyer', store: 1,"
        " expiresAt: Date.now() + 1000}))"
    )
    await page.reload()
    await expect(page.locator("#signed-in-as")).to_have_text("Signed in as Mike Hillyer (store 1)")

    await expect(page.locator("#sign-in-error")).to_have_text(
        "Your sign-in has expired: please sign in again."
    )
    await expect(page.locator("#sign-in-form")).to_be_visible()
    assert await page.evaluate("sessionStorage.getItem('pagila.token')") is None
