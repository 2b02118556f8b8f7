"""The bulk and integration admin pages in Chromium against a real `smshub serve`:
lists and campaigns (CSV import report, preview, live progress over SSE), the
blocklist, webhooks with a loopback receiver and replay, connectors, the keyboard, and
what a `user`-role login may not see. Uses Debian's Chromium (never `playwright install`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    FilePayload,
    Locator,
    Page,
    expect,
)

from smshub.auth.service import slugify
from tests.e2e.conftest import CHROMIUM, wait_for_login_page
from tests.live import Server, create_tenant, serve
from tests.peers import http_receiver

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
]

PASSWORD = "secret-pass-1"
ADMIN_ONLY = ["Campaigns", "Lists", "Blocklist", "Connectors", "Webhooks"]
_numbers = count(300)


@dataclass
class Shop:
    """A tenant with a simulator connector, one number and a `user`-role extension 201."""

    url: str
    company: str
    api: httpx.Client
    number: str


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """One server for this module; each test makes its own tenant."""
    tmp = tmp_path_factory.mktemp("bulk")
    db_url = f"sqlite:///{tmp}/bulk.db"
    with serve(db_url, tmp) as server:
        wait_for_login_page(server.url)
        yield server, db_url


@pytest.fixture
def problems() -> Iterator[list[str]]:
    """Script errors and CSP violations seen by any page; none are allowed."""
    seen: list[str] = []
    yield seen
    assert seen == []


def make_shop(live: tuple[Server, str], name: str) -> Shop:
    server, db_url = live
    made = create_tenant(db_url, name, PASSWORD)
    api = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {made['api_key']}"})
    config = {"delivery_delay_s": 0.1}
    r = api.post("/api/v1/connectors", json={"name": "Sim", "kind": "simulator", "config": config})
    assert r.status_code == 201, r.text
    e164 = f"+1415555{next(_numbers):04d}"
    r = api.post(
        "/api/v1/numbers", json={"e164": e164, "label": "Bulk", "connector_id": r.json()["id"]}
    )
    assert r.status_code == 201, r.text
    r = api.post(
        "/api/v1/users", json={"extension": "201", "name": "Una User", "password": PASSWORD}
    )
    assert r.status_code == 201, r.text
    return Shop(server.url, slugify(name), api, e164)


def sign_in(browser: Browser, shop: Shop, ext: str, problems: list[str], path: str) -> Page:
    page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()

    def on_console(msg: ConsoleMessage) -> None:
        # 4xx answers are logged by Chromium; a script error or CSP violation is a bug.
        if msg.type == "error" and "Failed to load resource" not in msg.text:
            problems.append(msg.text)

    page.on("console", on_console)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.set_default_timeout(10_000)
    page.goto(f"{shop.url}/login")
    page.get_by_label("Company").fill(shop.company)
    page.get_by_label("Extension").fill(ext)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.goto(shop.url + path)
    return page


def tab_to(page: Page, target: Locator, limit: int = 60) -> None:
    """Press Tab from the top of the page until `target` has the focus."""
    page.locator("body").focus()
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"{target} is not reachable with Tab")


def fact(page: Page, term: str) -> Locator:
    """The <dd> after the <dt> named `term` in a facts list."""
    return page.locator(f"dl.facts dt:text-is('{term}') + dd")


def eventually(check: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def test_list_import_campaign_preview_and_live_progress(
    live: tuple[Server, str], browser: Browser, problems: list[str], tmp_path: Path
) -> None:
    shop = make_shop(live, "Bulk Campaign Co")
    blocked = "+12025550104"
    assert shop.api.post("/api/v1/blocklist", json={"e164": blocked}).status_code == 201
    page = sign_in(browser, shop, "100", problems, "/campaigns")

    # Empty states before anything exists.
    expect(page.get_by_role("heading", name="No campaigns yet")).to_be_visible()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Lists").click()
    expect(page).to_have_url(shop.url + "/lists")
    expect(page.get_by_role("heading", name="No lists yet")).to_be_visible()

    # Create a list with the keyboard only: Tab to the name, type, Tab to the button, Enter.
    tab_to(page, page.get_by_label("New list name"))
    page.keyboard.type("Spring customers")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Create list")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Spring customers")).to_be_visible()
    expect(page.get_by_role("heading", name="This list is empty")).to_be_visible()

    # Import a CSV with a bad row, a national number and a blocklisted one.
    csv = (
        "number,first_name\n"
        "+12025550101,Ann\n"
        "(202) 555-0102,Bob\n"
        "not-a-number,Cat\n"
        "+12025550103,Dan\n"
        f"{blocked},Eve\n"
    )
    upload: FilePayload = {"name": "people.csv", "mimeType": "text/csv", "buffer": csv.encode()}
    page.get_by_label("CSV file").set_input_files(files=upload)
    page.get_by_label("Country of national numbers").fill("US")
    page.get_by_role("button", name="Import").click()
    report = page.locator("[data-import-report]")
    expect(report).to_contain_text("4 imported, 1 rejected, 1 blocklisted.")
    rejected = report.get_by_role("row").filter(has_text="not-a-number")
    expect(rejected).to_contain_text("4")  # the CSV row number
    entries = page.locator("table").last
    expect(entries.get_by_role("row").filter(has_text="+12025550102")).to_contain_text("Bob")
    page.screenshot(path=str(tmp_path / "list-import.png"), full_page=True)

    # The list shows on /lists with its count.
    page.get_by_role("link", name="Lists", exact=True).first.click()
    expect(page.get_by_role("row").filter(has_text="Spring customers")).to_contain_text("4")

    # Create a campaign from the list, at 1 msg/s so the progress is visible.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Campaigns").click()
    page.get_by_label("Name", exact=True).fill("Spring sale")
    page.locator("select[name=from]").select_option(shop.number)
    page.get_by_label("Message", exact=True).fill("Hi {first_name}, spring sale today!")
    page.get_by_label("Rate (messages per second)").fill("1")
    page.locator("select[name=list_id]").select_option(label="Spring customers (4)")
    page.get_by_role("button", name="Create draft").click()
    expect(page.locator("#alerts")).to_contain_text("Campaign created as a draft.")
    expect(page.get_by_role("heading", name="Spring sale")).to_be_visible()

    # Preview: recipients, the blocklisted one, the personalised sample.
    expect(fact(page, "Recipients")).to_have_text("4")
    expect(fact(page, "Will be sent")).to_have_text("3")
    expect(fact(page, "Blocklisted")).to_have_text("1")
    expect(fact(page, "Invalid")).to_have_text("0")
    expect(page.locator("blockquote").first).to_contain_text("spring sale today!")
    expect(page.locator("[data-status]")).to_have_text("draft")

    # Start; then the bar and counts move to completion over SSE, with no reload.
    # At 1 msg/s the page is rendered while running; only the SSE script can move it on.
    page.get_by_role("button", name="Start").click()
    expect(page.locator("[data-status]")).to_have_text("running")
    page.evaluate("window.__sameDocument = true")
    bar = page.get_by_role("progressbar", name="Progress of Spring sale")
    expect(page.locator("[data-status]")).to_have_text("completed", timeout=20_000)
    expect(bar).to_have_attribute("value", "4")
    expect(bar).to_have_attribute("max", "4")
    expect(page.locator("[data-counts]")).to_contain_text("4 / 4")
    expect(page.locator("[data-counts]")).to_contain_text("skipped 1")
    assert page.evaluate("window.__sameDocument === true"), "the page reloaded"
    page.screenshot(path=str(tmp_path / "campaign-done.png"), full_page=True)

    # The campaigns list shows it as completed.
    page.get_by_role("link", name="Campaigns", exact=True).first.click()
    expect(page.get_by_role("row").filter(has_text="Spring sale")).to_contain_text("completed")

    # A campaign from an uploaded CSV instead of a list: its preview counts the bad rows.
    page.get_by_label("Name", exact=True).fill("Walk-ins")
    page.get_by_label("Message", exact=True).fill("Hi {first_name}!")
    page.get_by_label("CSV", exact=True).set_input_files(files=upload)
    page.get_by_label("Country of national numbers").fill("US")
    page.get_by_role("button", name="Create draft").click()
    expect(page.get_by_role("heading", name="Walk-ins")).to_be_visible()
    expect(fact(page, "Will be sent")).to_have_text("3")
    expect(fact(page, "Invalid")).to_have_text("1")
    expect(fact(page, "Blocklisted")).to_have_text("1")


def test_blocklist_add_and_remove_by_hand(
    live: tuple[Server, str], browser: Browser, problems: list[str]
) -> None:
    shop = make_shop(live, "Blocklist Co")
    page = sign_in(browser, shop, "100", problems, "/blocklist")
    expect(page.get_by_role("heading", name="The blocklist is empty")).to_be_visible()

    # Bad input is refused with the rule named, and nothing is added.
    page.get_by_label("Number").fill("0400 123")
    page.get_by_role("button", name="Add to blocklist").click()
    expect(page.locator("#alerts")).to_contain_text("E.164")
    expect(page.get_by_role("heading", name="The blocklist is empty")).to_be_visible()

    # Keyboard: Tab to the field and on to the primary button, Enter submits.
    tab_to(page, page.get_by_label("Number"))
    page.keyboard.type("+14155550177")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Add to blocklist")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#alerts")).to_contain_text("+14155550177 is blocklisted.")
    row = page.get_by_role("row").filter(has_text="+14155550177")
    expect(row).to_contain_text("manual")
    assert shop.api.get("/api/v1/blocklist/+14155550177").status_code == 200

    row.get_by_role("button", name="Remove").click()
    expect(page.locator("#alerts")).to_contain_text("+14155550177 removed from the blocklist.")
    expect(page.get_by_role("row").filter(has_text="+14155550177")).to_have_count(0)
    expect(page.get_by_role("heading", name="The blocklist is empty")).to_be_visible()
    assert shop.api.get("/api/v1/blocklist/+14155550177").status_code == 404


def test_webhook_delivery_log_and_replay(
    live: tuple[Server, str], browser: Browser, problems: list[str]
) -> None:
    shop = make_shop(live, "Webhook Co")
    with http_receiver([(200, "ok")]) as peer:
        page = sign_in(browser, shop, "100", problems, "/webhooks")
        expect(page.get_by_text("No webhooks yet.")).to_be_visible()

        # No event chosen: refused inline, nothing created.
        page.get_by_label("URL").fill(peer.url + "/hook")
        page.get_by_role("button", name="Add webhook").click()
        expect(page.locator(".fieldset.has-error")).to_be_visible()
        expect(page.get_by_text("No webhooks yet.")).to_be_visible()

        page.get_by_label("message.received").check()
        page.get_by_role("button", name="Add webhook").click()
        expect(page.locator("[data-secret]")).to_contain_text("signing secret")
        row = page.get_by_role("row").filter(has_text=peer.url + "/hook")
        expect(row).to_contain_text("message.received")
        row.get_by_role("link", name="Delivery log").click()
        expect(page.get_by_text("No deliveries yet.")).to_be_visible()

        r = shop.api.post(
            "/api/v1/simulator/inbound",
            json={"from": "+12025550123", "to": shop.number, "body": "hello hook"},
        )
        assert r.status_code == 202, r.text
        assert len(peer.wait_for(1)) == 1
        assert b"hello hook" in peer.requests[0].body

        def delivered_row() -> bool:
            page.reload()
            rows = page.locator("[data-deliveries] tbody tr")
            return rows.count() == 1 and "delivered" in rows.first.inner_text()

        eventually(delivered_row)
        delivery = page.locator("[data-deliveries] tbody tr").first
        expect(delivery).to_contain_text("message.received")
        expect(delivery).to_contain_text("200")

        delivery.get_by_role("button", name="Replay").click()
        expect(page.locator("#alerts")).to_contain_text("Delivery queued again.")
        assert len(peer.wait_for(2)) == 2
        assert peer.requests[1].body == peer.requests[0].body

        def replayed() -> bool:
            page.reload()
            text = page.locator("[data-deliveries] tbody tr").first.inner_text()
            return "1 replayed" in text and "delivered" in text

        eventually(replayed)
        expect(page.locator("[data-deliveries] tbody tr")).to_have_count(1)


def test_connectors_page_and_keyboard_navigation(
    live: tuple[Server, str], browser: Browser, problems: list[str]
) -> None:
    shop = make_shop(live, "Connector Co")
    page = sign_in(browser, shop, "100", problems, "/")
    nav = page.get_by_role("navigation", name="Main")

    # Keyboard: Tab to the nav link, Enter follows it.
    tab_to(page, nav.get_by_role("link", name="Connectors"))
    page.keyboard.press("Enter")
    expect(page).to_have_url(shop.url + "/connectors")
    expect(page.get_by_role("heading", name="Carrier connectors")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="Sim")
    expect(row).to_contain_text("simulator")
    # The simulator is bound (ready), the same state the API reports.
    expect(row.locator(".badge")).to_have_text("bound")
    assert [c["health"]["status"] for c in shop.api.get("/api/v1/connectors").json()["items"]] == [
        "bound"
    ]

    # Each admin page is reachable from the nav with the keyboard and shows its heading.
    for label, heading in [
        ("Campaigns", "Campaigns"),
        ("Lists", "Lists"),
        ("Blocklist", "Blocklist"),
        ("Webhooks", "Webhooks"),
    ]:
        tab_to(page, nav.get_by_role("link", name=label, exact=True))
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible()
        expect(nav.get_by_role("link", name=label, exact=True)).to_have_attribute(
            "aria-current", "page"
        )

    # Webhooks: Tab to the primary button; Enter submits the (empty) form, refused inline.
    tab_to(page, page.get_by_role("button", name="Add webhook"))
    page.keyboard.press("Enter")
    expect(page.locator("#f-url-error")).to_be_visible()


def test_user_role_sees_no_admin_pages(
    live: tuple[Server, str], browser: Browser, problems: list[str]
) -> None:
    shop = make_shop(live, "User Role Co")
    page = sign_in(browser, shop, "201", problems, "/")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav.get_by_role("link", name="Messages")).to_be_visible()
    for label in ADMIN_ONLY:
        expect(nav.get_by_role("link", name=label, exact=True)).to_have_count(0)
    for path in ["/campaigns", "/lists", "/blocklist", "/connectors", "/webhooks"]:
        response = page.goto(shop.url + path)
        assert response is not None
        assert response.status == 403, (path, response.status)
        expect(page.get_by_text("This page is for company admins.")).to_be_visible()
