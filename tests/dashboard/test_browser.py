"""The dashboard in a real headless browser: Playwright for Python driving Debian's chromium.

Signs a staff user in through the admin login form, follows the admin index's link to the dashboard and
checks that both charts were drawn from the data (one point or bar per day, with the hand-worked values)
and that the low-stock table lists the right items. Skipped, with the reason, only where chromium or the
playwright package is missing (`.ci/run` installs chromium where apt-get can). Playwright never downloads
a browser here: it launches the system's /usr/bin/chromium.
"""

from __future__ import annotations

import os

import pytest

from tests.dashboard.ledger import (
    ALL_FLOWS,
    ALL_LOCATIONS,
    ALL_OPENING,
    LOCATION_A,
    LOCATION_A_OPENING,
    build_ledger,
    expected_values,
)
from tests.factories import UserFactory

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

pytestmark = [
    pytest.mark.skipif(sync_playwright is None,
                       reason="the playwright package is not installed (pip install -e '.[dev]')"),
    pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                       reason=f"no browser: {CHROMIUM} is missing (apt-get install -y chromium; .ci/run tries)"),
]

PASSWORD = "dashboard-browser-pw"


@pytest.fixture
def ledger(transactional_db, settings):
    settings.STOCKROOM_VALUATION = "fifo"
    built = build_ledger()
    UserFactory(username="browser-staff", is_staff=True, password=PASSWORD)
    return built


@pytest.fixture
def browser_page(live_server, ledger):
    # The data is written (by `ledger`) before the browser starts and the database is flushed after it
    # stops: Playwright's sync API runs an event loop in this thread while it is open, and Django refuses
    # ORM calls from a thread with a running loop.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(20_000)
            page.problems = []
            page.on("console", lambda msg: _console_problem(page, msg))
            page.on("pageerror", lambda exc: page.problems.append(f"page error: {exc}"))
            page.on("request", lambda req: req.url.startswith(live_server.url)
                    or page.problems.append(f"request outside the site: {req.url}"))
            yield page
        finally:
            browser.close()


def _console_problem(page, message) -> None:
    # Every error counts, the browser's own request for /favicon.ico included (the site has an icon).
    if message.type == "error":
        page.problems.append(f"console: {message.text} at {message.location}")


def _chart_state(page) -> dict:
    return page.evaluate(
        """() => {
            const box = (el) => { const r = el.getBoundingClientRect(); return [r.width, r.height]; };
            const points = [...document.querySelectorAll('#value-chart svg circle.point')];
            const barsIn = [...document.querySelectorAll('#flow-chart svg rect.bar-in')];
            const barsOut = [...document.querySelectorAll('#flow-chart svg rect.bar-out')];
            const line = document.querySelector('#value-chart svg polyline.line');
            // The tallest bar really is painted where it is: hit-testing its centre finds it.
            const tallest = [...barsIn, ...barsOut].sort((a, b) => b.getBBox().height - a.getBBox().height)[0];
            tallest.scrollIntoView({block: 'center'});
            const r = tallest.getBoundingClientRect();
            return {
                valueBox: box(document.querySelector('#value-chart svg')),
                flowBox: box(document.querySelector('#flow-chart svg')),
                points: points.map((p) => p.dataset.value),
                pointHeights: points.map((p) => Number(p.getAttribute('cy'))),
                lineLength: line.getTotalLength(),
                lineStroke: getComputedStyle(line).stroke,
                barsIn: barsIn.map((b) => [Number(b.dataset.value), b.getBBox().height]),
                barsOut: barsOut.map((b) => [Number(b.dataset.value), b.getBBox().height]),
                barFill: getComputedStyle(barsIn[0]).fill,
                tallestHit: document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === tallest,
                legends: [...document.querySelectorAll('.dash-chart .legend-item text')].map((t) => t.textContent),
                yLabels: document.querySelectorAll('#value-chart .axis-y text').length,
                xLabels: document.querySelectorAll('#flow-chart .axis-x text').length,
                lowSkus: [...document.querySelectorAll('#low-stock tbody tr.low-row')].map((tr) => tr.dataset.sku),
                kpiValue: document.getElementById('kpi-value').textContent,
            };
        }"""
    )


def _wait_ready(page) -> None:
    page.wait_for_selector("#dashboard[data-state=ready], #dashboard[data-state=error]", state="attached")
    state = page.get_attribute("#dashboard", "data-state")
    assert state == "ready", page.inner_text("#dash-status")


@pytest.mark.django_db(transaction=True)
def test_dashboard_draws_the_charts_in_a_real_browser(live_server, ledger, browser_page):
    location_a = ledger.a.pk
    page = browser_page

    # A staff user signs in through the admin login and follows the admin index's link.
    page.goto(f"{live_server.url}/dashboard/")
    assert "/admin/login/" in page.url
    page.fill("#id_username", "browser-staff")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/")
    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Stock dashboard").click()
    page.wait_for_url(f"{live_server.url}/dashboard/")
    _wait_ready(page)

    state = _chart_state(page)
    assert state["valueBox"][0] > 300 and state["valueBox"][1] > 100
    assert state["flowBox"][0] > 300 and state["flowBox"][1] > 100
    # One point per day, carrying the hand-worked end-of-day values, and a line that is not flat.
    assert state["points"] == expected_values(ALL_LOCATIONS, ALL_OPENING)
    assert len(set(state["pointHeights"])) > 1
    assert state["lineLength"] > 100
    assert state["lineStroke"] not in ("none", "", "rgba(0, 0, 0, 0)")
    # Two bars per day; exactly the days that moved have height, taller for more units.
    assert len(state["barsIn"]) == len(state["barsOut"]) == 30
    drawn_in = {29 - i: value for i, (value, height) in enumerate(state["barsIn"]) if height > 0}
    drawn_out = {29 - i: value for i, (value, height) in enumerate(state["barsOut"]) if height > 0}
    assert drawn_in == {day: units for day, (units, _) in ALL_FLOWS.items() if units}
    assert drawn_out == {day: units for day, (_, units) in ALL_FLOWS.items() if units}
    out_heights = dict(zip([v for v, _ in state["barsOut"]], [h for _, h in state["barsOut"]], strict=True))
    assert out_heights[6] > out_heights[4] > out_heights[1] > 0
    assert state["barFill"] not in ("none", "", "rgba(0, 0, 0, 0)")
    assert state["tallestHit"]
    # Axes, labels and legends.
    assert state["legends"] == ["Stock value (end of day)", "In", "Out"]
    assert state["yLabels"] >= 3 and state["xLabels"] >= 5
    # The low-stock table and the headline figure.
    assert state["lowSkus"] == ["DASH-X", "DASH-Y"]
    assert "61.00" in state["kpiValue"]
    assert "DASH-X" in page.inner_text("#low-stock")

    # The location filter redraws everything for one location.
    page.select_option("#dash-location", str(location_a))
    page.click(".dash-filters button[type=submit]")
    page.wait_for_url(f"{live_server.url}/dashboard/?location={location_a}&days=30")
    _wait_ready(page)
    state = _chart_state(page)
    assert state["points"] == expected_values(LOCATION_A, LOCATION_A_OPENING)
    assert state["lowSkus"] == ["DASH-X"]
    assert "8.00" in state["kpiValue"]

    assert page.problems == []
