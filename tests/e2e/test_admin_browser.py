"""The admin pages in Chromium against a real server: sign in, add a number, see errors.

Uses Debian's Chromium (never `playwright install`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect, sync_playwright

from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.live import Server

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
]


def sign_in(page: Page) -> None:
    page.get_by_label("Company").fill("demo-co")
    page.get_by_label("Extension").fill("100")
    page.get_by_label("Password").fill("demo1234")
    page.get_by_role("button", name="Sign in").click()


def test_admin_adds_a_number_and_sees_inline_errors(demo_server: Server, tmp_path: Path):
    url = demo_server.url
    problems: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        # 4xx pages (the inline-error re-renders) are logged by Chromium; anything else,
        # such as a CSP violation or a script error, is a bug.
        if msg.type == "error" and "Failed to load resource" not in msg.text:
            problems.append(msg.text)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.set_default_timeout(10_000)
            page.on("console", on_console)
            page.on("pageerror", lambda exc: problems.append(str(exc)))

            # Signed out: the page sends us to the login form and back.
            page.goto(url + "/numbers")
            expect(page).to_have_url(re.compile(r"/login\?next=%2Fnumbers$"))
            expect(page.get_by_label("Company")).to_be_focused()
            sign_in(page)
            expect(page).to_have_url(url + "/numbers")
            expect(page.get_by_role("heading", name="SMS numbers")).to_be_visible()
            expect(page.get_by_role("row").filter(has_text="Support line")).to_be_visible()

            # Add a number with a label; it shows up in the list.
            number_box = page.get_by_role("textbox", name="Phone number", exact=True)
            page.get_by_role("link", name="Add number").click()
            expect(number_box).to_be_focused()
            number_box.fill("+14155550199")
            page.get_by_role("textbox", name="Label", exact=True).fill("E2E front desk")
            page.get_by_role("button", name="Add number").click()
            expect(page).to_have_url(url + "/numbers")
            expect(page.locator("#alerts")).to_contain_text("+1 415-555-0199 added.")
            row = page.get_by_role("row").filter(has_text="+1 415-555-0199")
            expect(row).to_contain_text("E2E front desk")
            expect(row).to_contain_text("Active")

            # A number that is not E.164 is refused inline, and the input is kept.
            page.get_by_role("link", name="Add number").click()
            number_box.fill("0400 123 456")
            page.get_by_role("button", name="Add number").click()
            error = page.locator("#f-e164-error")
            expect(error).to_contain_text("must be in E.164 format")
            expect(error).to_contain_text("+61400123456")
            expect(number_box).to_have_value("0400 123 456")
            expect(number_box).to_be_focused()
            page.screenshot(path=str(tmp_path / "number-error.png"), full_page=True)

            # Live search (htmx) narrows the list and keeps the URL shareable.
            page.get_by_role("navigation", name="Main").get_by_role("link", name="Numbers").click()
            page.get_by_label("Search", exact=True).fill("0199")
            expect(page).to_have_url(re.compile(r"q=0199"))
            expect(page.locator("#results tbody tr")).to_have_count(1)
            page.screenshot(path=str(tmp_path / "numbers-search.png"), full_page=True)

            # Delete from the row (htmx POST with the CSRF header) after the confirm dialog.
            page.once("dialog", lambda dialog: dialog.accept())
            row.get_by_role("link", name="Delete").click()
            expect(page.locator("#alerts")).to_contain_text("+1 415-555-0199 deleted.")
            expect(page.get_by_role("row").filter(has_text="+1 415-555-0199")).to_have_count(0)

            page.goto(url + "/numbers")
            expect(page.get_by_role("row").filter(has_text="+1 415-555-0199")).to_have_count(0)
            page.screenshot(path=str(tmp_path / "numbers.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
