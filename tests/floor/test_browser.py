"""The floor's daily jobs in a real browser (Playwright for Python driving Debian's /usr/bin/chromium), at a
desk (1280 px) and on a tablet (800 px), on the demo data (`seed_demo`), under a strict
Content-Security-Policy added to every response (script-src 'self', no inline script or style):

- the dashboard: money with its currency, low-stock rows that open the stock item, the movements-today
  panel, the location selector;
- counting with a scanner: choose a location, "scan" like a keyboard-wedge scanner (the code typed, then
  Enter, several in a row without waiting), a typed quantity, an unknown code kept on the list, review the
  differences, post; the posted count changes the stock level (checked in the database afterwards);
- the same scan page with JavaScript off: each scan is a form post and the list still grows.

No page may scroll sideways at either width. Screenshots of each page are taken at both widths; with
STOCKROOM_SCREENSHOTS=docs/screenshots they are written there (how the README's pictures are made),
otherwise to a temporary directory. Skipped, with the reason, only where chromium or playwright is missing.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from django.core.management import call_command

from inventory.models import Action, StockItem, StockMovement
from tests.dashboard.test_browser import CHROMIUM, CHROMIUM_ARGS, sync_playwright

pytestmark = [
    pytest.mark.skipif(sync_playwright is None,
                       reason="the playwright package is not installed (pip install -e '.[dev]')"),
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                       reason=f"no browser: {CHROMIUM} is missing (apt-get install -y chromium; .ci/run tries)"),
]

DEMO_USER, DEMO_PASSWORD = "gestor", "stockroom-demo"  # seed_demo's manager
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'self'")
WIDTHS = (1280, 800)


@pytest.fixture
def demo(transactional_db, settings):
    settings.STOCKROOM_VALUATION = "fifo"
    call_command("seed_demo", stdout=io.StringIO())
    main = StockItem.objects.select_related("stock_location").filter(stock_location__code="MAIN")
    return {item.variant.sku: item for item in main.select_related("variant")}


@pytest.fixture
def shots(tmp_path) -> Path:
    target = os.environ.get("STOCKROOM_SCREENSHOTS", "").strip()
    path = Path(target) if target else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path


class Browser:
    """One chromium for a test; every response from the site gets the strict policy, and console errors,
    page errors and requests leaving the site are collected as problems."""

    def __init__(self, live_server_url: str):
        self.url = live_server_url
        self.problems: list[str] = []

    def __enter__(self) -> Browser:
        self._playwright = sync_playwright().start()
        self.browser = self._playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        return self

    def __exit__(self, *exc) -> None:
        self.browser.close()
        self._playwright.stop()

    def page(self, width: int, *, javascript: bool = True):
        context = self.browser.new_context(viewport={"width": width, "height": 900}, locale="en-US",
                                           java_script_enabled=javascript)
        context.route("**/*", self._with_policy)
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.on("console", lambda msg: msg.type == "error"
                and self.problems.append(f"console: {msg.text} at {msg.location}"))
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        return page

    def _with_policy(self, route) -> None:
        if not route.request.url.startswith(self.url):
            self.problems.append(f"request outside the site: {route.request.url}")
            route.abort()
            return
        response = route.fetch(max_redirects=0)
        route.fulfill(response=response, headers={**response.headers, "content-security-policy": CSP})

    def log_in(self, page, next_path: str) -> None:
        page.goto(f"{self.url}{next_path}")
        assert "/admin/login/" in page.url
        page.fill("#id_username", DEMO_USER)
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{self.url}{next_path}")


def no_sideways_scroll(page) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"{page.url} scrolls sideways at {widths[1]} px: content is {widths[0]} px wide"


def wedge_scan(page, code: str) -> None:
    """What a keyboard-wedge scanner does: types the code into the focused field, then Enter."""
    page.keyboard.type(code, delay=5)
    page.keyboard.press("Enter")


def wait_sent(page) -> None:
    page.wait_for_function("() => document.getElementById('floor-sheet').dataset.state === 'idle'")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", WIDTHS)
def test_dashboard_and_counting_with_a_scanner(live_server, demo, shots, width):
    tote, black, mug = demo["ROR-00011"], demo["ROR-00012"], demo["ROR-00015"]
    before = {sku: item.count_on_hand for sku, item in demo.items()}
    counted_black = before["ROR-00012"] + 5  # found five more than the books say

    with Browser(live_server.url) as browser:
        page = browser.page(width)
        browser.log_in(page, "/dashboard/")

        # --- the dashboard -----------------------------------------------------------------------------
        page.wait_for_selector("#dashboard[data-state=ready]", state="attached")
        assert page.inner_text("#kpi-value").startswith("$")
        assert "(USD)" in page.inner_text(".dash-cards")
        low_links = page.eval_on_selector_all("#low-stock tbody tr.low-row td.sku a",
                                              "links => links.map(a => [a.textContent, a.getAttribute('href')])")
        assert ["ROR-00012", f"/admin/inventory/stockitem/{black.pk}/change/"] in low_links
        today = page.eval_on_selector_all("#today tbody tr.today-row", "rows => rows.map(r => r.dataset.sku)")
        assert "ROR-00013" in today  # seed_demo's count, dated now
        no_sideways_scroll(page)
        page.screenshot(path=shots / f"dashboard-{width}.png", full_page=True, animations="disabled")

        # The location selector redraws for one location at once (no Apply click needed with the script).
        page.select_option("#dash-location", label="Downtown store (SHOP)")
        page.wait_for_url(f"{live_server.url}/dashboard/?location=*")
        page.wait_for_selector("#dashboard[data-state=ready]", state="attached")
        assert set(page.eval_on_selector_all("#today tbody tr.today-row td:nth-child(5)",
                                             "cells => cells.map(c => c.textContent)")) == {"SHOP"}

        # A low-stock row opens its stock item.
        page.goto(f"{live_server.url}/dashboard/")
        page.wait_for_selector("#dashboard[data-state=ready]", state="attached")
        page.click(f"#low-stock td.sku a[href='/admin/inventory/stockitem/{black.pk}/change/']")
        page.wait_for_url(f"{live_server.url}/admin/inventory/stockitem/{black.pk}/change/")
        assert "ROR-00012" in page.inner_text("#content")

        # --- counting with a scanner -------------------------------------------------------------------
        page.goto(f"{live_server.url}/dashboard/")
        page.click("#dash-count-link")
        page.wait_for_url(f"{live_server.url}/floor/count/")
        no_sideways_scroll(page)
        page.screenshot(path=shots / f"floor-start-{width}.png", full_page=True, animations="disabled")
        page.click(".floor-location[data-code=MAIN]")
        page.wait_for_url(f"{live_server.url}/floor/count/{tote.stock_location_id}/")

        # The code field has the focus: scan away without clicking, faster than the server answers.
        assert page.evaluate("() => document.activeElement.id") == "scan-code"
        for _ in range(3):
            wedge_scan(page, "ROR-00011")
        wedge_scan(page, "ror-00015")  # a label printed in lower case
        wedge_scan(page, "4006381333931")  # a code that matches nothing
        wait_sent(page)
        page.fill("#scan-quantity", str(counted_black))  # a typed number, then the scan
        page.focus("#scan-code")
        wedge_scan(page, "ROR-00012")
        wait_sent(page)
        assert "ROR-00012 +" in page.inner_text("#scan-status")

        rows = page.eval_on_selector_all(
            "#count-lines tbody tr.count-line",
            "rows => rows.map(r => [r.querySelector('.sku').textContent, r.querySelector('input.counted').value])")
        assert rows == [["ROR-00012", str(counted_black)], ["ROR-00015", "1"], ["ROR-00011", "3"]]
        assert page.inner_text("#unknown-rows") .split()[:2] == ["4006381333931", "1"]
        assert page.inner_text("#total-units") == str(counted_black + 4)
        no_sideways_scroll(page)
        page.screenshot(path=shots / f"floor-scan-{width}.png", full_page=True, animations="disabled")

        # Correct a line by hand: one mug was scanned twice by mistake... set it to 0 instead.
        page.fill(f"tr.count-line[data-variant='{mug.variant_id}'] input.counted", "0")
        page.click(f"tr.count-line[data-variant='{mug.variant_id}'] button:not(.floor-remove)")
        wait_sent(page)
        assert page.input_value(f"tr.count-line[data-variant='{mug.variant_id}'] input.counted") == "0"

        # --- review and post -----------------------------------------------------------------------------
        page.click("#review-link")
        page.wait_for_url("**/review/")
        review = page.eval_on_selector_all(
            "#review-lines tbody tr",
            "rows => rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent.trim()))")
        assert [row[0] for row in review] == ["ROR-00012", "ROR-00015", "ROR-00011"]
        assert [row[2:] for row in review] == [
            [str(before["ROR-00012"]), str(counted_black), "+5"],
            [str(before["ROR-00015"]), "0", str(-before["ROR-00015"])],
            [str(before["ROR-00011"]), "3", f"{3 - before['ROR-00011']:+d}"],
        ]
        assert "4006381333931" in page.inner_text("#review-unknown")
        no_sideways_scroll(page)
        page.screenshot(path=shots / f"floor-review-{width}.png", full_page=True, animations="disabled")

        page.click("#post-form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/floor/count/{tote.stock_location_id}/")
        assert "posted at MAIN: 3 of 3 items changed" in page.inner_text(".messagelist")
        assert page.locator("#count-lines tr.count-line").count() == 0
        assert "4006381333931" in page.inner_text("#unknown-rows")  # not lost
        assert browser.problems == []

    # The count changed the levels, as one count recorded with the user.
    for sku, expected in (("ROR-00011", 3), ("ROR-00012", counted_black), ("ROR-00015", 0)):
        item = StockItem.objects.get(pk=demo[sku].pk)
        assert item.count_on_hand == expected, sku
    counted = StockMovement.objects.filter(action=Action.COUNTED, stock_item__in=[tote, black, mug])
    assert {m.created_by.username for m in counted} == {DEMO_USER}
    assert len({m.resource_id for m in counted}) == 1


@pytest.mark.django_db(transaction=True)
def test_scan_page_works_without_javascript(live_server, demo):
    with Browser(live_server.url) as browser:
        page = browser.page(800, javascript=False)
        location = demo["ROR-00011"].stock_location_id
        browser.log_in(page, f"/floor/count/{location}/")
        # Without JavaScript each scan is a form post and a new page: wait for that page, not the current one
        # (waiting for the load state alone can return before the post has even left).
        for _ in range(2):
            page.focus("#scan-code")  # autofocus does it on load; be explicit for the test
            with page.expect_navigation():
                wedge_scan(page, "ROR-00011")
        assert page.input_value("tr.count-line input.counted") == "2"
        page.focus("#scan-code")
        with page.expect_navigation():
            wedge_scan(page, "NOPE")
        assert "Unknown code" in page.inner_text(".messagelist")
        assert "NOPE" in page.inner_text("#unknown-rows")
        page.click("#review-link")
        page.wait_for_url("**/review/")
        page.click("#post-form button[type=submit]")
        page.wait_for_url(f"{live_server.url}/floor/count/{location}/")
        no_sideways_scroll(page)
        assert browser.problems == []
    assert StockItem.objects.get(pk=demo["ROR-00011"].pk).count_on_hand == 2
