"""The floor's admin jobs in a real browser (issue 15 item 6), at a desk (1280 px) and on a tablet (800 px).

Playwright for Python drives Debian's chromium (/usr/bin/chromium), as the dashboard's browser test does,
and never downloads a browser. A manager signs in through the login form; at each width every list page
must fit the screen (no horizontal scroll, neither of the page nor of the list's own scroller), a
movement is entered as an action plus units, an export downloads exactly the rows it should, and a count
upload previews its changes then applies them. With STOCKROOM_SCREENSHOTS=1 each page is saved as
docs/screenshots/admin-<page>-<width>.png.
"""

from __future__ import annotations

import csv
import io
import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings

from accounts.models import Role
from inventory import services
from inventory.models import Action, StockItem, StockMovement
from inventory.services.allocations import allocate
from tests.dashboard.test_browser import CHROMIUM, CHROMIUM_ARGS, _console_problem, sync_playwright
from tests.dashboard.test_browser import pytestmark as needs_chromium
from tests.factories import StockItemFactory, StockLocationFactory, UserFactory, VariantFactory

# Skipped, with the reason, where chromium or the playwright package is missing.
pytestmark = needs_chromium

PASSWORD = "admin-browser-pw"
SHOTS = Path(settings.BASE_DIR) / "docs" / "screenshots" if os.environ.get("STOCKROOM_SCREENSHOTS") else None
LISTS = ["stockitem", "stockmovement", "stocklocation", "product", "variant", "allocation", "stocktransfer"]
COUNT_CSV = "sku,counted_quantity\nTOTE-S,7\nTOTE-M,4\nMUG-1,12\n"

OVERFLOW = """() => {
    const wide = [...document.querySelectorAll('*')].filter((el) => {
        const style = getComputedStyle(el);
        return ['auto', 'scroll'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1;
    }).map((el) => el.tagName + '.' + el.className);
    return {page: document.documentElement.scrollWidth - window.innerWidth, scrollers: wide};
}"""


@pytest.fixture
def floor(transactional_db):
    main = StockLocationFactory(code="MAIN", name="Main warehouse")
    shop = StockLocationFactory(code="SHOP", name="Downtown shop")
    items = {}
    for sku, quantity in (("TOTE-S", 10), ("TOTE-M", 6), ("MUG-1", 0)):
        item = StockItemFactory(stock_location=main, variant=VariantFactory(sku=sku, cost_price="2.00"))
        if quantity:
            services.receive(item, quantity, value_per_unit="2.00")
        items[sku] = item
    services.transfer(main, shop, [(items["TOTE-S"].variant, 2)], reference="restock")
    at_shop = StockItem.objects.get(stock_location=shop, variant=items["TOTE-S"].variant)
    services.sell(at_shop, 1)
    allocate(at_shop, 1, reference_type="order", reference_id="R100")
    UserFactory(username="floor-manager", role=Role.MANAGER, is_staff=True, password=PASSWORD)
    shop_movements = [str(pk) for pk in StockMovement.objects.filter(stock_location=shop)
                      .order_by("movement_date", "pk").values_list("pk", flat=True)]
    return {"main": main, "shop": shop, "items": items, "shop_movements": shop_movements}


@contextmanager
def chromium():
    # Data is written before and read after this block: Django refuses ORM calls from this thread while
    # Playwright's event loop runs in it.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _page(browser, live_server, width: int):
    context = browser.new_context(viewport={"width": width, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.problems = []
    page.on("console", lambda msg: _console_problem(page, msg))
    page.on("pageerror", lambda exc: page.problems.append(f"page error: {exc}"))
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "floor-manager")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    return page


def _shot(page, name: str, width: int) -> None:
    if SHOTS is not None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"admin-{name}-{width}.png"))


def _fits(page) -> None:
    overflow = page.evaluate(OVERFLOW)
    assert overflow == {"page": 0, "scrollers": []}, (page.url, overflow)


def _download(page, link_selector: str) -> list[dict]:
    with page.expect_download() as info:
        page.click(link_selector)
    text = Path(info.value.path()).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize("width", [1280, 800])
def test_floor_jobs_in_a_real_browser(live_server, floor, width):
    with chromium() as browser:
        _floor_jobs(browser, live_server, floor, width)


def _floor_jobs(browser, live_server, floor, width: int) -> None:
    page = _page(browser, live_server, width)
    base = f"{live_server.url}/admin/inventory"
    assert "Stockroom" in page.title() and page.locator("#site-name").inner_text().startswith("Stockroom")
    assert page.get_by_role("link", name="Cost layers").count() == 0  # internals are for superusers
    _fits(page)
    _shot(page, "index", width)

    # Every list fits the screen.
    for name in LISTS:
        page.goto(f"{base}/{name}/")
        assert page.locator("#result_list tbody tr").count() >= 1, name
        _fits(page)
        _shot(page, f"{name}-list", width)

    # Export: the shop's movements, filtered on the list, download as exactly those rows.
    page.goto(f"{base}/stockmovement/?stock_location__id__exact={floor['shop'].pk}")
    rows = _download(page, "a.stockroom-export-link")
    assert [r["id"] for r in rows] == floor["shop_movements"]
    assert [(r["action"], r["quantity"]) for r in rows] == [("transferred_in", "2"), ("sold", "-1")]
    page.goto(f"{base}/stockitem/?stock_location__id__exact={floor['main'].pk}")
    levels = _download(page, "a.stockroom-export-link")
    assert [(r["sku"], r["count_on_hand"]) for r in levels] == [("TOTE-S", "8"), ("TOTE-M", "6"), ("MUG-1", "0")]

    # A movement: "Sell" and 3 units (no minus sign), the item chosen by typing its SKU.
    page.goto(f"{base}/stockmovement/add/")
    _fits(page)
    _shot(page, "movement-add", width)
    page.click(".field-stock_item .select2-selection")
    page.fill(".select2-search__field", "TOTE-M")
    page.locator(".select2-results__option", has_text="TOTE-M @ MAIN").click()
    page.select_option("#id_action", "sell")
    page.fill("#id_quantity", "3")
    page.click("input[name=_save]")
    page.wait_for_url(f"{base}/stockmovement/")
    assert "was added successfully" in page.locator(".messagelist").inner_text()

    # Count upload: preview every change, then apply.
    page.goto(f"{base}/stockitem/")
    page.click("a.stockroom-count-link")
    _fits(page)
    _shot(page, "count-upload", width)
    page.select_option("#id_location", str(floor["main"].pk))
    page.set_input_files("#id_file", files=[{"name": "count.csv", "mimeType": "text/csv",
                                             "buffer": COUNT_CSV.encode()}])
    page.fill("#id_reason", "Shelf count")
    page.click("#count-upload-form input[type=submit]")
    preview = page.locator("#count-preview tbody tr")
    assert preview.count() == 3
    cells = [row.locator("td").all_inner_texts() for row in preview.all()]
    assert [(c[1], c[2], c[3], c[4]) for c in cells] == [
        ("TOTE-S", "8", "7", "-1"), ("TOTE-M", "3", "4", "+1"), ("MUG-1", "0", "12", "+12")]
    assert "3 changes" in page.locator("#count-summary").inner_text()
    _fits(page)
    _shot(page, "count-preview", width)
    page.click("#count-confirm-form input[name=confirm]")
    page.wait_for_url(f"{base}/stockitem/?stock_location__id__exact={floor['main'].pk}")
    assert "applied at MAIN" in page.locator(".messagelist").inner_text()
    on_hand = dict(zip(page.locator("#result_list tbody .field-sku").all_inner_texts(),
                       page.locator("#result_list td.field-count_on_hand").all_inner_texts(), strict=True))
    assert on_hand == {"TOTE-S": "7", "TOTE-M": "4", "MUG-1": "12"}
    _shot(page, "count-applied", width)
    assert page.problems == []
    page.context.close()


def test_the_browser_jobs_were_written_through_the_services(live_server, floor):
    """The same jobs, then the ledger as the browser left it."""
    with chromium() as browser:
        _floor_jobs(browser, live_server, floor, 1280)
    counted = StockMovement.objects.filter(action=Action.COUNTED).order_by("pk")
    assert [(m.stock_item.variant.sku, m.quantity, m.created_by.username, m.notes) for m in counted] == [
        ("TOTE-S", -1, "floor-manager", "Shelf count"), ("TOTE-M", 1, "floor-manager", "Shelf count"),
        ("MUG-1", 12, "floor-manager", "Shelf count")]
    sale = StockMovement.objects.filter(action=Action.SOLD, stock_item=floor["items"]["TOTE-M"]).get()
    assert (sale.quantity, sale.created_by.username) == (-3, "floor-manager")
    for item in StockItem.objects.all():
        assert item.count_on_hand == sum(item.movements.values_list("quantity", flat=True))
