"""The scan page (/floor/count/) through Django's test client: who may use it, scanning (form posts that
redirect, and the script's JSON answers), unknown codes, editing the list, the review and the post
through the counts service (one transaction, recorded with the user, all or nothing)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from accounts.models import Role
from inventory.floor.sheet import SESSION_KEY
from inventory.models import Action, StockItem, StockMovement, Variant
from inventory.services.counts import COUNT_RESOURCE_TYPE
from tests.factories import StockItemFactory, StockLocationFactory, UserFactory, VariantFactory

pytestmark = pytest.mark.django_db

JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def manager():
    return UserFactory(username="floor-manager", is_staff=True, role=Role.MANAGER)


@pytest.fixture
def floor(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def shelf():
    location = StockLocationFactory(code="MAIN", name="Main warehouse")
    mug = StockItemFactory(stock_location=location, variant=VariantFactory(sku="MUG-RED"), count_on_hand=5,
                           value_per_unit="2.00")
    tote = StockItemFactory(stock_location=location, variant=VariantFactory(sku="TOTE-1"), count_on_hand=3,
                            value_per_unit="4.00")
    # Stocked elsewhere only: counting it here creates its stock item.
    other = StockLocationFactory(code="SHOP")
    cap = StockItemFactory(stock_location=other, variant=VariantFactory(sku="CAP-9"), count_on_hand=1)
    return location, mug, tote, cap


def scan(client, location, code, quantity="", **extra):
    return client.post(f"/floor/count/{location.pk}/scan", {"code": code, "quantity": quantity}, **extra)


def sheet_of(client, location) -> dict:
    return client.session.get(SESSION_KEY, {}).get(str(location.pk), {})


# --- who may count ------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_the_admin_login(client, shelf):
    location = shelf[0]
    for url in ("/floor/count/", f"/floor/count/{location.pk}/", f"/floor/count/{location.pk}/review/"):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith("/admin/login/")
    assert client.post(f"/floor/count/{location.pk}/scan", {"code": "MUG-RED"}).status_code == 302


def test_a_viewer_may_not_count(client, shelf):
    client.force_login(UserFactory(username="floor-viewer", is_staff=True, role=Role.VIEWER))
    response = client.get("/floor/count/")
    assert response.status_code == 403 and "manager role" in response.content.decode()
    assert scan(client, shelf[0], "MUG-RED").status_code == 403
    assert sheet_of(client, shelf[0]) == {}


def test_non_staff_manager_is_sent_to_login(client, shelf):
    client.force_login(UserFactory(username="floor-nonstaff", is_staff=False, role=Role.MANAGER))
    assert client.get("/floor/count/").status_code == 302


def test_posts_need_the_csrf_token(manager, shelf):
    client = Client(enforce_csrf_checks=True)
    client.force_login(manager)
    assert scan(client, shelf[0], "MUG-RED").status_code == 403
    page = client.get(f"/floor/count/{shelf[0].pk}/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(f"/floor/count/{shelf[0].pk}/scan", {"code": "MUG-RED", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert sheet_of(client, shelf[0])["lines"] == [[shelf[1].variant_id, 1]]


# --- choosing a location -----------------------------------------------------------------------------


def test_start_lists_active_locations_and_goes_to_one(floor, shelf):
    location = shelf[0]
    StockLocationFactory(code="GONE", active=False)
    page = floor.get("/floor/count/").content.decode()
    assert 'data-code="MAIN"' in page and 'data-code="SHOP"' in page and 'data-code="GONE"' not in page
    response = floor.get("/floor/count/", {"location": location.pk})
    assert response.status_code == 302 and response.url == f"/floor/count/{location.pk}/"
    bad = floor.get("/floor/count/", {"location": "nope"}, follow=True)
    assert "&#x27;nope&#x27; is not a stock location" in bad.content.decode()
    assert floor.get("/floor/count/999999/").status_code == 404


# --- scanning ------------------------------------------------------------------------------------------


def test_each_scan_adds_one_and_a_typed_number_adds_that_many(floor, shelf):
    location, mug, tote, _ = shelf
    assert scan(floor, location, "MUG-RED").status_code == 302
    scan(floor, location, "MUG-RED")
    scan(floor, location, "tote-1")  # any case
    scan(floor, location, "  MUG-RED\t", quantity="10")  # a scanner's trailing tab, a typed quantity
    assert sheet_of(floor, location)["lines"] == [[tote.variant_id, 1], [mug.variant_id, 12]]
    page = floor.get(f"/floor/count/{location.pk}/").content.decode()
    # Newest scan first, each with its counted quantity in the line's own form.
    rows = re.findall(r'<tr class="count-line" data-variant="(\d+)">', page)
    assert rows == [str(mug.variant_id), str(tote.variant_id)]
    assert 'value="12" aria-label="Counted MUG-RED"' in page
    assert "MUG-RED +10: 12 counted." in page  # the last message
    assert StockMovement.objects.filter(action=Action.COUNTED).count() == 0  # nothing posted yet


def test_the_script_gets_json(floor, shelf):
    location, mug, _, _ = shelf
    body = scan(floor, location, "MUG-RED", **JSON).json()
    assert body["ok"] and body["level"] == "success"
    assert body["line"] == {"variant_id": mug.variant_id, "sku": "MUG-RED", "name": mug.variant.product.name,
                            "options": "", "counted": 1}
    assert body["sheet"] == {"lines": 1, "units": 1, "unknown": []}
    bad = scan(floor, location, "MUG-RED", quantity="two", **JSON)
    assert bad.status_code == 422 and bad.json()["message"] == "'two' is not a whole number."
    assert scan(floor, location, "", **JSON).json()["message"] == "Scan or type a barcode or SKU."
    assert scan(floor, location, "MUG-RED", quantity="0", **JSON).status_code == 422
    assert sheet_of(floor, location)["lines"] == [[mug.variant_id, 1]]  # refusals changed nothing


def test_unknown_codes_are_kept_and_shown(floor, shelf):
    location = shelf[0]
    body = scan(floor, location, "4006381333931", **JSON).json()
    assert body["level"] == "warning" and "Unknown code '4006381333931'" in body["message"]
    scan(floor, location, "4006381333931")
    scan(floor, location, "MUG-RED")
    assert sheet_of(floor, location)["unknown"] == [["4006381333931", 2]]
    page = floor.get(f"/floor/count/{location.pk}/").content.decode()
    assert '<tr class="unknown-line" data-code="4006381333931">' in page and "Unknown codes" in page
    review = floor.get(f"/floor/count/{location.pk}/review/").content.decode()
    assert "<code>4006381333931</code> (2 scans)" in review


def test_a_deleted_variant_is_an_unknown_code(floor, shelf):
    location, mug, _, _ = shelf
    Variant.objects.filter(pk=mug.variant_id).update(deleted_at="2026-01-01T00:00:00Z")
    assert scan(floor, location, "MUG-RED", **JSON).json()["level"] == "warning"


def test_editing_the_list(floor, shelf):
    location, mug, tote, _ = shelf
    scan(floor, location, "MUG-RED")
    scan(floor, location, "TOTE-1")
    scan(floor, location, "XYZ")
    edit = f"/floor/count/{location.pk}/edit"
    body = floor.post(edit, {"op": "set", "variant": mug.variant_id, "counted": "0"}, **JSON).json()
    assert body["line"]["counted"] == 0 and body["sheet"]["units"] == 1
    assert floor.post(edit, {"op": "set", "variant": mug.variant_id, "counted": "-1"}, **JSON).status_code == 422
    floor.post(edit, {"op": "set", "variant": tote.variant_id, "remove": "1"})  # the line's Remove button
    floor.post(edit, {"op": "forget", "code": "XYZ"})
    assert sheet_of(floor, location) == {"lines": [[mug.variant_id, 0]], "unknown": []}
    floor.post(edit, {"op": "discard"})
    assert sheet_of(floor, location) == {}
    assert floor.post(edit, {"op": "bogus"}, **JSON).status_code == 422


def test_each_location_has_its_own_list(floor, shelf):
    location, _, _, cap = shelf
    scan(floor, location, "MUG-RED")
    scan(floor, cap.stock_location, "CAP-9")
    assert len(sheet_of(floor, location)["lines"]) == len(sheet_of(floor, cap.stock_location)["lines"]) == 1
    assert "1 line in progress" in floor.get("/floor/count/").content.decode()


# --- review and post ------------------------------------------------------------------------------------


def _review(floor, location) -> str:
    response = floor.get(f"/floor/count/{location.pk}/review/")
    assert response.status_code == 200
    return response.content.decode()


def _digest(page: str) -> str:
    return re.search(r'name="digest" value="([0-9a-f]+)"', page).group(1)


def _review_rows(page: str) -> list[tuple[str, ...]]:
    rows = re.findall(r'data-sku="([^"]+)">.*?<td class="num now">(.*?)</td>\s*<td class="num counted">(\d+)</td>'
                      r'\s*<td class="num diff">([^<]+)</td>', page, re.S)
    return [(sku, re.sub(r"<[^>]+>", "", now).strip(), counted, diff) for sku, now, counted, diff in rows]


def test_review_shows_count_now_counted_and_difference(floor, shelf):
    location = shelf[0]
    scan(floor, location, "MUG-RED", quantity="7")
    scan(floor, location, "TOTE-1", quantity="3")
    scan(floor, location, "CAP-9", quantity="2")
    page = _review(floor, location)
    assert _review_rows(page) == [("CAP-9", "0 (new here)", "2", "+2"), ("TOTE-1", "3", "3", "0"),
                                  ("MUG-RED", "5", "7", "+2")]
    assert "3 items counted at" in page and "2 will change (+4 / -0 units)" in page


def test_posting_applies_the_count_with_the_user_and_clears_the_list(floor, manager, shelf):
    location, mug, tote, cap = shelf
    scan(floor, location, "MUG-RED", quantity="2")
    scan(floor, location, "TOTE-1", quantity="3")
    scan(floor, location, "CAP-9")
    scan(floor, location, "NO-SUCH")
    digest = _digest(_review(floor, location))
    response = floor.post(f"/floor/count/{location.pk}/post", {"digest": digest, "reason": "Aisle 4"}, follow=True)
    assert response.redirect_chain == [(f"/floor/count/{location.pk}/", 302)]
    page = response.content.decode()
    assert re.search(r"Count CNT\S+ posted at MAIN: 2 of 3 items changed \(\+1 / -3 units\)\. "
                     r"1 unknown code\(s\) are still listed\.", page)

    mug.refresh_from_db()
    tote.refresh_from_db()
    new_cap = StockItem.objects.get(stock_location=location, variant=cap.variant)
    assert (mug.count_on_hand, tote.count_on_hand, new_cap.count_on_hand) == (2, 3, 1)
    movements = StockMovement.objects.filter(action=Action.COUNTED, stock_location=location).order_by("id")
    assert [(m.stock_item_id, m.quantity) for m in movements] == [(new_cap.pk, 1), (mug.pk, -3)]
    assert {m.created_by_id for m in movements} == {manager.pk}
    assert {m.resource_type for m in movements} == {COUNT_RESOURCE_TYPE}
    assert len({m.resource_id for m in movements}) == 1
    assert {m.notes for m in movements} == {"Aisle 4"}
    assert tote.last_counted_at is not None  # counted, unchanged
    # The lines are gone; the unknown code is not.
    assert sheet_of(floor, location) == {"lines": [], "unknown": [["NO-SUCH", 1]]}


def test_a_list_changed_after_review_is_not_posted(floor, shelf):
    location, mug, _, _ = shelf
    scan(floor, location, "MUG-RED")
    digest = _digest(_review(floor, location))
    scan(floor, location, "MUG-RED")  # another tab, after the review
    response = floor.post(f"/floor/count/{location.pk}/post", {"digest": digest}, follow=True)
    assert response.redirect_chain == [(f"/floor/count/{location.pk}/review/", 302)]
    assert "The list changed after you reviewed it" in response.content.decode()
    mug.refresh_from_db()
    assert mug.count_on_hand == 5 and not StockMovement.objects.filter(action=Action.COUNTED).exists()


def test_posting_is_all_or_nothing(floor, shelf):
    location, mug, tote, _ = shelf
    doomed = VariantFactory(sku="DOOMED")
    scan(floor, location, "MUG-RED")
    scan(floor, location, "DOOMED")
    scan(floor, location, "TOTE-1")
    digest = _digest(_review(floor, location))
    doomed_id = doomed.pk
    doomed.delete()  # gone from the catalogue between the review and the post (no stock item held it)
    before = list(StockItem.objects.order_by("pk").values_list("pk", "count_on_hand", "last_counted_at"))
    response = floor.post(f"/floor/count/{location.pk}/post", {"digest": digest})
    assert response.status_code == 422
    page = response.content.decode()
    assert "Nothing was posted" in page and f"Line 2: No product with id {doomed_id}." in page
    assert list(StockItem.objects.order_by("pk").values_list("pk", "count_on_hand", "last_counted_at")) == before
    assert not StockMovement.objects.filter(action=Action.COUNTED).exists()
    assert len(sheet_of(floor, location)["lines"]) == 3  # kept, to fix and post again


def test_posting_an_empty_list_is_refused(floor, shelf):
    location = shelf[0]
    response = floor.post(f"/floor/count/{location.pk}/post", {"digest": "x"}, follow=True)
    assert "There is nothing to post" in response.content.decode()


def test_pages_cost_a_constant_number_of_queries(floor, shelf, django_assert_max_num_queries):
    location = shelf[0]
    variants = [VariantFactory(sku=f"BULK-{n}") for n in range(40)]
    for variant in variants[:5]:
        scan(floor, location, variant.sku)

    def cost(url: str) -> int:
        with django_assert_max_num_queries(10) as captured:
            assert floor.get(url).status_code == 200
        return len(captured.captured_queries)

    few = (cost(f"/floor/count/{location.pk}/"), cost(f"/floor/count/{location.pk}/review/"))
    for variant in variants[5:]:
        scan(floor, location, variant.sku)
    assert (cost(f"/floor/count/{location.pk}/"), cost(f"/floor/count/{location.pk}/review/")) == few


# --- strict Content-Security-Policy ---------------------------------------------------------------------

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.mark.parametrize("name", sorted(p.name for p in (TEMPLATES / "floor").glob("*.html")))
def test_templates_have_no_inline_script_style_or_handlers(name):
    text = (TEMPLATES / "floor" / name).read_text()
    assert not re.search(r"<script(?![^>]*\ssrc=)", text), "inline <script>"
    assert not re.search(r"<style", text), "inline <style>"
    assert not re.search(r"\sstyle=", text), "style attribute"
    assert not re.search(r"\son[a-z]+=", text), "inline event handler"
