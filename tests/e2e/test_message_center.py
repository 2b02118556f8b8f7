"""The message center in Chromium against a real `smshub serve` (web, job worker and SSE
in one process): live updates on every device, unread counts, delivery states, retry,
the composer's keys and counter, blocking. Uses Debian's Chromium (never
`playwright install`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, expect

from smshub.auth.service import slugify
from tests.e2e.conftest import CHROMIUM, wait_for_login_page
from tests.live import Server, cli, create_tenant, serve

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed"),
]

PASSWORD = "secret-pass-1"
PHONE = "+12025550123"
DOCS = Path(__file__).resolve().parents[2] / "docs"
_numbers = count(110)


@dataclass
class Live:
    server: Server
    db_url: str


@dataclass
class Shop:
    """A tenant with a simulator connector and one number shared by 201 and 202."""

    url: str
    db_url: str
    tenant_id: str
    company: str
    api: httpx.Client
    connector_id: str
    number: str
    users: dict[str, str]  # extension -> id
    keys: dict[str, str] = field(default_factory=dict)

    def inbound(self, frm: str, body: str, to: str | None = None) -> dict[str, Any]:
        r = self.api.post(
            "/api/v1/simulator/inbound", json={"from": frm, "to": to or self.number, "body": body}
        )
        assert r.status_code == 202, r.text
        data: dict[str, Any] = r.json()
        return data

    def unread_of(self, ext: str) -> int:
        """The extension's unread total, asked through the API with its own key."""
        if ext not in self.keys:
            out = cli(
                self.db_url,
                "apikey",
                "create",
                "--tenant-id",
                self.tenant_id,
                "--extension",
                ext,
                "--json",
            )
            self.keys[ext] = json.loads(out)["api_key"]
        r = httpx.get(
            f"{self.url}/api/v1/unread", headers={"Authorization": f"Bearer {self.keys[ext]}"}
        )
        assert r.status_code == 200, r.text
        return int(r.json()["total"])


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Live]:
    """One server for this module; each test makes its own tenant and number."""
    tmp = tmp_path_factory.mktemp("mc")
    db_url = f"sqlite:///{tmp}/mc.db"
    with serve(db_url, tmp) as server:
        wait_for_login_page(server.url)
        yield Live(server, db_url)


def make_shop(
    live: Live,
    name: str,
    *,
    failure_rate: float = 0.0,
    shared: bool = True,
    people: tuple[tuple[str, str], ...] = (("201", "Anna Adams"), ("202", "Ben Brown")),
) -> Shop:
    made = create_tenant(live.db_url, name, PASSWORD)
    api = httpx.Client(
        base_url=live.server.url, headers={"Authorization": f"Bearer {made['api_key']}"}
    )
    config = {"delivery_delay_s": 0.2, "failure_rate": failure_rate}
    r = api.post("/api/v1/connectors", json={"name": "Sim", "kind": "simulator", "config": config})
    assert r.status_code == 201, r.text
    connector_id = r.json()["id"]
    e164 = f"+1415555{next(_numbers):04d}"
    r = api.post(
        "/api/v1/numbers", json={"e164": e164, "label": "Sales", "connector_id": connector_id}
    )
    assert r.status_code == 201, r.text
    number_id = r.json()["id"]
    assert api.patch("/api/v1/tenant", json={"one_number_per_extension": False}).is_success
    users = {}
    for ext, full_name in people:
        r = api.post(
            "/api/v1/users", json={"extension": ext, "name": full_name, "password": PASSWORD}
        )
        assert r.status_code == 201, r.text
        users[ext] = r.json()["id"]
    assignees = list(users.values()) if shared else [users[people[0][0]]]
    r = api.put(f"/api/v1/numbers/{number_id}/assignees", json={"user_ids": assignees})
    assert r.status_code == 200, r.text
    return Shop(
        live.server.url,
        live.db_url,
        made["tenant_id"],
        slugify(name),
        api,
        connector_id,
        e164,
        users,
    )


class Problems(list[str]):
    """Script errors and CSP violations seen by any page."""

    def watch(self, page: Page) -> Page:
        def on_console(msg: ConsoleMessage) -> None:
            if msg.type == "error" and "Failed to load resource" not in msg.text:
                self.append(msg.text)

        page.on("console", on_console)
        page.on("pageerror", lambda exc: self.append(str(exc)))
        return page


def sign_in(
    browser: Browser,
    shop: Shop,
    ext: str,
    problems: Problems,
    path: str = "/messages",
    width: int = 1400,
) -> Page:
    """A new browser context (a device) signed in as `ext`, on `path`."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = problems.watch(context.new_page())
    page.set_default_timeout(10_000)
    page.goto(f"{shop.url}/login")
    page.get_by_label("Company").fill(shop.company)
    page.get_by_label("Extension").fill(ext)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.goto(shop.url + path)
    if path.startswith("/messages"):
        wait_live(page)
    return page


def eventually(check: Any, timeout: float = 10.0) -> None:
    """Wait until check() is true (for state outside the browser)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.1)


def wait_live(page: Page) -> None:
    """The page has caught up and listens to the event stream."""
    expect(page.locator("#mc")).to_have_attribute("data-live", "true")


def start_conversation(page: Page, to: str) -> None:
    page.get_by_role("button", name="New", exact=True).click()
    page.get_by_label("To", exact=True).fill(to)
    page.get_by_role("button", name="Start conversation").click()
    expect(page.locator("#mc-new-dialog")).not_to_be_visible()
    expect(page).to_have_url(re.compile(r"/messages/[0-9A-Z]{26}$"))
    expect(page.locator("#mc-body")).to_be_focused()


def test_two_extensions_share_a_number_and_see_the_reply_live(live: Live, browser: Browser):
    shop = make_shop(live, "Shared Line Co")
    problems = Problems()
    anna = sign_in(browser, shop, "201", problems)
    ben_desk = sign_in(browser, shop, "202", problems)
    ben_laptop = sign_in(browser, shop, "202", problems)
    phone = sign_in(
        browser,
        shop,
        "100",
        problems,
        f"/simulator?phone=%2B12025550123&number=%2B{shop.number[1:]}",
    )

    # Anna starts a conversation and sends; it is delivered (double check).
    start_conversation(anna, PHONE)
    anna.locator("#mc-body").fill("Hi Erin, your order is ready.")
    anna.locator("#mc-body").press("Enter")
    mine = anna.locator(".mc-msg.mc-out").filter(has_text="your order is ready")
    expect(mine).to_have_class(re.compile(r"\bis-delivered\b"))
    expect(mine.get_by_title("Delivered")).to_be_visible()
    expect(mine.locator(".mc-sender")).to_contain_text("Anna Adams")
    expect(anna.locator("#mc-body")).to_have_value("")

    # Ben's two devices get the new conversation live, read (it is our own message).
    for ben in (ben_desk, ben_laptop):
        row = ben.locator(".mc-conv")
        expect(row).to_have_count(1)
        expect(row).to_contain_text("your order is ready")
        expect(row).not_to_have_class(re.compile(r"\bis-unread\b"))

    # The phone simulator shows what the network delivered, and the mobile user replies.
    expect(phone.locator(".sim-msg.is-theirs")).to_contain_text("your order is ready")
    phone.locator("#sim-body").fill("Great, I'll come by at 5")
    phone.locator("#sim-body").press("Enter")
    expect(phone.locator(".sim-msg.is-mine .sim-note")).to_have_text("Delivered")

    # Anna has the thread open: the reply shows up live and stays read for her.
    expect(anna.locator(".mc-msg.mc-in")).to_contain_text("come by at 5")
    # Ben's devices: one unread conversation, bold, in the list, the filter and the nav.
    for ben in (ben_desk, ben_laptop):
        row = ben.locator(".mc-conv")
        expect(row).to_have_class(re.compile(r"\bis-unread\b"))
        expect(row.locator(".mc-pill")).to_have_text("1 unread")
        expect(row).to_contain_text("come by at 5")
        expect(ben.locator(".nav-badge")).to_have_text("1 unread")
        expect(ben).to_have_title("(1) Messages · smshub")
    # Anna read the reply as it came in (her thread is open): her count is 0 everywhere.
    assert shop.unread_of("202") == 1
    eventually(lambda: shop.unread_of("201") == 0)
    expect(anna.locator(".nav-badge")).to_be_hidden()
    expect(anna.locator(".mc-conv .mc-pill")).to_have_count(0)

    # Ben reads it on his laptop: his desk clears by itself.
    ben_laptop.locator(".mc-conv").click()
    expect(ben_laptop.locator(".mc-msg.mc-in")).to_contain_text("come by at 5")
    expect(ben_desk.locator(".mc-conv .mc-pill")).to_have_count(0)
    expect(ben_desk.locator(".mc-conv")).not_to_have_class(re.compile(r"\bis-unread\b"))
    expect(ben_desk.locator(".nav-badge")).to_be_hidden()
    expect(ben_desk).to_have_title("Messages · smshub")
    assert shop.unread_of("202") == 0

    # In the shared thread Ben sees who sent what, and who shares the number.
    expect(ben_laptop.locator(".mc-msg.mc-out .mc-sender")).to_contain_text("Anna Adams")
    members = ben_laptop.locator("[data-slot=members]")
    expect(members).to_contain_text("Anna Adams")
    expect(members).to_contain_text("Ben Brown (you)")
    expect(ben_laptop.get_by_text("Multiple users share this number")).to_be_visible()

    # A new reply while Ben's desk is on the list: unread again on both, and only there.
    shop.inbound(PHONE, "Is parking free?")
    expect(ben_desk.locator(".mc-conv .mc-pill")).to_have_text("1 unread")
    expect(ben_laptop.locator(".mc-msg.mc-in").last).to_contain_text("Is parking free?")
    expect(ben_desk.locator(".mc-conv .mc-pill")).to_have_count(0)  # the laptop read it
    expect(anna.locator(".mc-msg.mc-in").last).to_contain_text("Is parking free?")
    assert problems == []


def test_failed_message_retry_keys_counter_and_block(live: Live, browser: Browser):
    shop = make_shop(live, "Retry Co", failure_rate=1.0, shared=False)
    problems = Problems()
    page = sign_in(browser, shop, "201", problems)
    start_conversation(page, "+12025550124")
    body = page.locator("#mc-body")
    counter = page.locator("#mc-counter")

    # Shift+Enter adds a line; the counter follows the encoding rules of the server.
    body.press_sequentially("Line one")
    body.press("Shift+Enter")
    body.press_sequentially("line two")
    expect(body).to_have_value("Line one\nline two")
    expect(page.locator(".mc-msg")).to_have_count(0)
    expect(counter).to_have_text("17 chars · GSM-7 · 1 segment · 143 left")
    body.fill("a" * 161)
    expect(counter).to_have_text("161 chars · GSM-7 · 2 segments · 145 left")
    body.fill("Thanks 😀")
    expect(counter).to_have_text("8 chars · UCS-2 · 1 segment · 61 left")
    body.fill("x" * 700)
    expect(counter).to_have_text("Too long: 5 segments; the limit is 4 segments")
    expect(page.locator("#mc-send")).to_be_disabled()

    # Enter sends; the simulated network fails it; Retry sends it again.
    body.fill("Line one\nline two")
    body.press("Enter")
    sent = page.locator(".mc-msg.mc-out")
    expect(sent).to_have_count(1)
    expect(sent.locator(".mc-text")).to_have_text("Line one\nline two")
    expect(sent).to_have_class(re.compile(r"\bis-failed\b"))
    expect(sent.locator(".mc-failed")).to_contain_text("absent subscriber")
    r = shop.api.patch(
        f"/api/v1/connectors/{shop.connector_id}",
        json={"config": {"delivery_delay_s": 0.2, "failure_rate": 0.0}},
    )
    assert r.status_code == 200, r.text
    sent.get_by_role("button", name="Retry").click()
    expect(sent).to_have_class(re.compile(r"\bis-delivered\b"))
    expect(sent.get_by_role("button", name="Retry")).to_have_count(0)

    # The setting swaps the keys: Enter adds a line, Shift+Enter sends.
    page.get_by_role("button", name="Message settings").click()
    page.get_by_role("switch", name="Enter sends").uncheck()
    expect(page.locator("#mc-settings-note")).to_have_text("Saved.")
    page.keyboard.press("Escape")
    expect(page.locator("#mc-keys")).to_have_text("Shift+Enter to send · Enter for a new line")
    body.press_sequentially("First")
    body.press("Enter")
    body.press_sequentially("second")
    expect(page.locator(".mc-msg.mc-out")).to_have_count(1)
    body.press("Shift+Enter")
    expect(page.locator(".mc-msg.mc-out")).to_have_count(2)
    expect(page.locator(".mc-msg.mc-out .mc-text").last).to_have_text("First\nsecond")
    page.reload()
    wait_live(page)
    expect(page.locator("#mc-keys")).to_have_text("Shift+Enter to send · Enter for a new line")

    # Mute this conversation (kept across reloads).
    page.get_by_role("switch", name="Mute this conversation").check()
    expect(page.locator("[data-slot=muted-chip]")).to_be_visible()
    expect(page.locator(".mc-conv").get_by_title("Muted")).to_be_visible()
    page.reload()
    wait_live(page)
    expect(page.get_by_role("switch", name="Mute this conversation")).to_be_checked()

    # Block: the number's messages are quarantined; unblock lets them in again.
    page.get_by_role("button", name="Block number").click()
    page.locator("#mc-confirm").get_by_role("button", name="Block").click()
    expect(page.locator("[data-slot=blocked-chip]")).to_be_visible()
    expect(page.locator(".mc-conv").get_by_title("Blocked")).to_be_visible()
    assert shop.inbound("+12025550124", "let me in")["quarantine_id"]
    page.locator("[data-slot=blocked-banner]").get_by_role("button", name="Unblock").click()
    expect(page.locator("[data-slot=blocked-chip]")).to_be_hidden()
    assert shop.inbound("+12025550124", "hello again")["message_id"]
    expect(page.locator(".mc-msg.mc-in")).to_have_text(re.compile("hello again"))
    expect(page.locator(".mc-msg.mc-in")).to_have_count(1)

    # Delete a message from its menu, then the conversation (for me).
    first = page.locator(".mc-msg.mc-out").first
    first.hover()
    first.get_by_role("button", name="Message actions").click()
    page.get_by_role("menuitem", name="Delete").click()
    page.locator("#mc-confirm").get_by_role("button", name="Delete").click()
    expect(page.locator(".mc-msg.mc-out")).to_have_count(1)
    page.get_by_role("button", name="Delete conversation").click()
    page.locator("#mc-confirm").get_by_role("button", name="Delete").click()
    expect(page.locator(".mc-conv")).to_have_count(0)
    expect(page).to_have_url(f"{shop.url}/messages")
    expect(page.get_by_text("No conversations yet")).to_be_visible()
    assert problems == []


def test_new_conversation_validates_and_finds_contacts(live: Live, browser: Browser):
    shop = make_shop(live, "Contacts Co", shared=False)
    r = shop.api.post("/api/v1/contacts", json={"name": "Frank Field", "numbers": ["+61400123456"]})
    assert r.status_code == 201, r.text
    problems = Problems()
    page = sign_in(browser, shop, "201", problems)
    expect(page.get_by_text("No conversations yet")).to_be_visible()
    page.keyboard.press("/")
    expect(page.locator("#mc-q")).to_be_focused()

    page.get_by_role("button", name="New", exact=True).click()
    to = page.get_by_label("To", exact=True)
    to.fill("0400 123")
    page.get_by_role("button", name="Start conversation").click()
    expect(page.locator("#mc-new-error")).to_contain_text("E.164")
    page.keyboard.press("Escape")
    expect(page.locator("#mc-new-dialog")).not_to_be_visible()

    page.get_by_role("button", name="New", exact=True).click()
    to.fill("Fra")
    option = page.get_by_role("option", name=re.compile("Frank Field"))
    expect(option).to_be_visible()
    to.press("ArrowDown")
    to.press("Enter")
    expect(to).to_have_value("+61400123456")
    page.get_by_role("button", name="Start conversation").click()
    expect(page.locator("#mc-thread-name")).to_have_text("Frank Field")
    expect(page.locator(".mc-conv")).to_contain_text("Frank Field")

    # The emoji picker inserts at the caret, from the keyboard too.
    page.locator("#mc-body").fill("Thanks ")
    page.get_by_role("button", name="Insert emoji").click()
    picker = page.locator("#mc-emoji")
    expect(picker).to_be_visible()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    expect(picker).to_be_hidden()
    expect(page.locator("#mc-body")).to_have_value("Thanks 😃")
    expect(page.locator("#mc-counter")).to_contain_text("UCS-2")
    assert problems == []


# Records browser notifications and sounds instead of showing and playing them.
NOTIFY_SPY = """
window.__notes = [];
window.__sounds = 0;
class FakeNotification {
  constructor(title, options) { window.__notes.push({title, body: options && options.body}); }
  close() {}
}
FakeNotification.permission = "granted";
FakeNotification.requestPermission = async () => "granted";
window.Notification = FakeNotification;
HTMLMediaElement.prototype.play = function () { window.__sounds += 1; return Promise.resolve(); };
"""


def test_notifications_follow_the_settings_and_mute(live: Live, browser: Browser):
    shop = make_shop(live, "Notify Co", shared=False)
    problems = Problems()
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    context.add_init_script(NOTIFY_SPY)
    page = problems.watch(context.new_page())
    page.set_default_timeout(10_000)
    page.goto(f"{shop.url}/login")
    page.get_by_label("Company").fill(shop.company)
    page.get_by_label("Extension").fill("201")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(f"{shop.url}/messages")
    wait_live(page)

    def seen(notes: int, sounds: int) -> None:
        eventually(
            lambda: page.evaluate("[window.__notes.length, window.__sounds]") == [notes, sounds]
        )

    shop.inbound("+12025550131", "First question")
    seen(1, 1)
    assert page.evaluate("window.__notes[0]") == {
        "title": "+1 202-555-0131",
        "body": "First question",
    }
    # Reading the open thread does not notify.
    page.locator(".mc-conv").first.click()
    shop.inbound("+12025550131", "Still there?")
    expect(page.locator(".mc-msg.mc-in")).to_have_count(2)
    # The open thread's read is stored before the page goes away (a navigation would
    # cancel the request still in flight on a loaded machine).
    eventually(lambda: shop.unread_of("201") == 0)
    # Muted: no sound, no notification, but the unread count still shows.
    page.get_by_role("switch", name="Mute this conversation").check()
    expect(page.locator("[data-slot=muted-chip]")).to_be_visible()
    page.goto(f"{shop.url}/messages")  # a new page: the spy counts from zero
    wait_live(page)
    shop.inbound("+12025550131", "Hello??")
    expect(page.locator(".mc-conv .mc-pill")).to_have_text("1 unread")
    shop.inbound("+12025550132", "Another customer")
    seen(1, 1)
    assert page.evaluate("window.__notes[0].body") == "Another customer"
    # Sound off: the notification still shows, silently.
    page.get_by_role("button", name="Message settings").click()
    page.get_by_role("switch", name="Notification sound").uncheck()
    expect(page.locator("#mc-settings-note")).to_have_text("Saved.")
    shop.inbound("+12025550132", "One more thing")
    seen(2, 1)
    assert problems == []


def test_screenshot_of_the_message_center(live: Live, browser: Browser, tmp_path: Path):
    """A populated message center; with SMSHUB_SCREENSHOTS=1 it also updates docs/."""
    shop = make_shop(
        live,
        "Screenshot Co",
        people=(("201", "Anna Adams"), ("202", "Ben Brown"), ("203", "Chloe Diaz")),
    )
    for name, number in [
        ("Erin Example", "+12025550123"),
        ("Frank Field", "+12025550145"),
        ("Grace Green", "+12025550167"),
    ]:
        assert shop.api.post(
            "/api/v1/contacts", json={"name": name, "numbers": [number]}
        ).is_success
    problems = Problems()
    anna = sign_in(browser, shop, "201", problems)
    ben = sign_in(browser, shop, "202", problems)
    shop.inbound("+12025550189", "Do you deliver on Sundays?")
    shop.inbound("+12025550145", "Can I change my booking to Thursday?")
    shop.inbound("+12025550167", "Thank you, the package arrived safely!")
    shop.inbound("+12025550123", "Hi! Is the blue model still in stock?")
    expect(anna.locator(".mc-conv")).to_have_count(4)

    ben.locator(".mc-conv").filter(has_text="Erin Example").click()
    ben.locator("#mc-body").fill("Hi Erin! Yes, we have 3 left in the store.")
    ben.locator("#mc-body").press("Enter")
    expect(ben.locator(".mc-msg.mc-out.is-delivered")).to_have_count(1)
    anna.locator(".mc-conv").filter(has_text="Erin Example").click()
    expect(anna.locator(".mc-msg.mc-out.is-delivered")).to_have_count(1)
    shop.inbound("+12025550123", "Great, can you hold one for me until 5 pm?")
    expect(anna.locator(".mc-msg.mc-in")).to_have_count(2)
    anna.locator("#mc-body").fill("Sure, it's on hold under your name.")
    anna.locator("#mc-body").press("Enter")
    expect(anna.locator(".mc-msg.mc-out.is-delivered")).to_have_count(2)
    shop.inbound("+12025550123", "Perfect, thanks a lot!")
    expect(anna.locator(".mc-msg.mc-in")).to_have_count(3)
    eventually(lambda: shop.unread_of("201") == 3)  # Erin's thread is open, so read
    expect(anna.locator(".nav-badge")).to_have_text("3 unread")
    anna.locator("#mc-body").fill("See you later! The store is on 5th Avenue.")
    anna.mouse.move(0, 0)
    path = tmp_path / "message-center.png"
    anna.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    if os.environ.get("SMSHUB_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copy(path, DOCS / "screenshot-message-center.png")

    # The unread filter lists the three unread conversations; mark all as read clears all.
    anna.get_by_role("button", name=re.compile("^Unread")).click()
    expect(anna.locator(".mc-conv")).to_have_count(3)
    expect(anna.locator(".mc-conv.is-unread")).to_have_count(3)
    anna.get_by_role("button", name="Mark all as read").click()
    expect(anna.locator(".mc-conv .mc-pill")).to_have_count(0)
    expect(anna.locator(".nav-badge")).to_be_hidden()
    expect(ben.locator(".nav-badge")).to_have_text("3 unread")  # Ben's own state
    eventually(lambda: shop.unread_of("201") == 0)
    anna.get_by_role("button", name="All", exact=True).click()
    expect(anna.locator(".mc-conv")).to_have_count(4)
    assert problems == []


def test_a_message_that_arrives_while_the_thread_loads_is_kept(live: Live, browser: Browser):
    """The thread's first page is answered before a new message commits but reaches the
    page after that message's event: the event must land on top of the page, not be
    replaced by it (a race seen in CI)."""
    shop = make_shop(live, "Race Co", shared=False)
    problems = Problems()
    page = sign_in(browser, shop, "201", problems)
    shop.inbound("+12025550141", "Before the click")
    expect(page.locator(".mc-conv")).to_have_count(1)

    def late_page(route: Any) -> None:
        response = route.fetch()  # the server's page, without the next message
        shop.inbound("+12025550141", "While it loads")
        time.sleep(1.0)  # its event reaches the page while the thread is still loading
        route.fulfill(response=response)

    page.route(re.compile(r".*/api/v1/conversations/[0-9A-Z]{26}/messages.*"), late_page)
    page.locator(".mc-conv").first.click()
    expect(page.locator(".mc-msg.mc-in")).to_have_count(2)
    expect(page.locator(".mc-msg.mc-in").last).to_contain_text("While it loads")
    page.unroute("**/*")
    assert not problems, problems
