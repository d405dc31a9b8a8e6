"""CSV in and out of the admin (issue 15 item 2): exports of selected rows or the filtered list, and the
count upload (preview, refusals, confirm, all-or-nothing through the counts service)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import Role
from inventory import services
from inventory.models import Action, StockItem, StockMovement
from inventory.services.counts import COUNT_RESOURCE_TYPE
from tests.admin.helpers import admin_url, messages_of
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory

pytestmark = pytest.mark.django_db

UPLOAD = "/admin/inventory/stockitem/upload-count/"


def rows_of(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def shelf():
    main, shop = StockLocationFactory(code="MAIN"), StockLocationFactory(code="SHOP")
    items = {}
    for sku, qty in (("A-1", 10), ("A-2", 4), ("A-3", 0)):
        item = StockItemFactory(stock_location=main, variant=VariantFactory(sku=sku, cost_price=Decimal("2")))
        if qty:
            services.receive(item, qty, value_per_unit="2.00")
        items[sku] = item
    other = StockItemFactory(stock_location=shop, variant=items["A-1"].variant)
    services.receive(other, 3, value_per_unit="2.00")
    return main, shop, items


# --- export -------------------------------------------------------------------------------------------


def test_export_of_the_filtered_level_list(staff_client, shelf):
    main, _, _ = shelf
    rows = rows_of(staff_client(Role.VIEWER).get(admin_url(StockItem, "export"),
                                                 {"stock_location__id__exact": main.pk}))
    assert [(r["location"], r["sku"], r["count_on_hand"], r["available"], r["value_in_stock"]) for r in rows] == [
        ("MAIN", "A-1", "10", "10", "20.00"), ("MAIN", "A-2", "4", "4", "8.00"), ("MAIN", "A-3", "0", "0", "0.00")]


def test_export_of_all_levels_and_a_search(staff_client, shelf):
    client = staff_client(Role.VIEWER)
    assert len(rows_of(client.get(admin_url(StockItem, "export")))) == 4
    assert {r["location"] for r in rows_of(client.get(admin_url(StockItem, "export"), {"q": "SHOP"}))} == {"SHOP"}


def test_export_of_selected_rows_is_an_action(staff_client, shelf):
    _, _, items = shelf
    picked = [items["A-2"].pk, items["A-3"].pk]
    response = staff_client(Role.VIEWER).post(admin_url(StockItem, "changelist"),
                                              {"action": "export_selected", "_selected_action": picked})
    assert [r["sku"] for r in rows_of(response)] == ["A-2", "A-3"]


def test_export_of_movements_by_location_and_dates(staff_client, shelf):
    _, shop, items = shelf
    services.sell(items["A-1"], 2, cause=services.Cause(caused_by_order_no="=HYPERLINK(1)"))
    client = staff_client(Role.VIEWER)
    rows = rows_of(client.get(admin_url(StockMovement, "export")))
    assert len(rows) == StockMovement.objects.count() == 4
    assert [r["id"] for r in rows] == [str(m.pk) for m in StockMovement.objects.order_by("movement_date", "pk")]
    sale = rows[-1]
    assert (sale["action"], sale["quantity"], sale["balance_after"], sale["location"]) == ("sold", "-2", "8", "MAIN")
    assert sale["order_no"] == "'=HYPERLINK(1)"  # a spreadsheet shows it as text, never runs it
    at_shop = rows_of(client.get(admin_url(StockMovement, "export"), {"stock_location__id__exact": shop.pk}))
    assert [(r["location"], r["quantity"]) for r in at_shop] == [("SHOP", "3")]
    none = rows_of(client.get(admin_url(StockMovement, "export"), {"movement_date__gte": "2001-01-01 00:00:00+00:00",
                                                                    "movement_date__lt": "2001-01-02 00:00:00+00:00"}))
    assert none == []


def test_export_with_bad_filters_redirects_with_a_message(staff_client, shelf):
    response = staff_client(Role.VIEWER).get(admin_url(StockMovement, "export"), {"stock_item__id__exact": "abc"})
    assert response.status_code == 302 and "not valid" in " ".join(messages_of(response))


def test_export_needs_staff(client, shelf):
    assert client.get(admin_url(StockItem, "export")).status_code == 302  # to the login page


def test_lists_link_to_their_export(staff_client, shelf):
    page = staff_client(Role.VIEWER).get(admin_url(StockMovement, "changelist"), {"action__exact": "sold"})
    assert 'href="/admin/inventory/stockmovement/export.csv?action__exact=sold"' in page.content.decode()


# --- count upload ---------------------------------------------------------------------------------------


def upload(client, location, text: str, reason: str = ""):
    return client.post(UPLOAD, {"location": location.pk, "reason": reason,
                                "file": SimpleUploadedFile("count.csv", text.encode(), content_type="text/csv")})


def snapshot():
    return StockMovement.objects.count(), list(StockItem.objects.order_by("pk").values_list("count_on_hand",
                                                                                           "last_counted_at"))


def test_upload_previews_every_change_then_applies_on_confirm(staff_client, shelf):
    main, _, items = shelf
    client = staff_client(Role.MANAGER)
    before = snapshot()
    response = upload(client, main, "sku,counted_quantity\nA-1,7\nA-2,4\nA-3,5\n", reason="Year end")
    assert response.status_code == 200
    preview = response.context["preview"]
    assert [(line.sku, line.count_now, line.counted, line.difference, line.value_effect) for line in preview.lines] == [
        ("A-1", 10, 7, -3, Decimal("-6.00")), ("A-2", 4, 4, 0, Decimal("0.00")), ("A-3", 0, 5, 5, Decimal("10.00"))]
    assert preview.refused == [] and snapshot() == before  # the preview wrote nothing

    response = client.post(UPLOAD, {"token": response.context["token"], "confirm": "Apply"})
    assert response.status_code == 302
    assert "applied at MAIN" in " ".join(messages_of(response))
    counted = StockMovement.objects.filter(action=Action.COUNTED).order_by("stock_item__variant__sku")
    assert [(m.stock_item.variant.sku, m.quantity, m.created_by, m.notes) for m in counted] == [
        ("A-1", -3, client.user, "Year end"), ("A-3", 5, client.user, "Year end")]
    assert {m.resource_type for m in counted} == {COUNT_RESOURCE_TYPE}
    assert StockItem.objects.get(pk=items["A-2"].pk).last_counted_at is not None


def test_refused_rows_are_listed_with_their_reasons_and_nothing_can_be_applied(staff_client, shelf):
    main, _, _ = shelf
    before = snapshot()
    response = upload(staff_client(Role.MANAGER), main, "sku,counted_quantity\nA-1,7\nNOPE,1\nA-2,-4\nA-1,2\nA-3,x\n")
    refused = [(p.key, p.message) for p in response.context["preview"].refused]
    assert [key for key, _ in refused] == [3, 4, 5, 6]
    assert "unknown sku 'NOPE'" in refused[0][1] and "negative" in refused[1][1] and "twice" in refused[2][1]
    page = response.content.decode()
    assert 'id="count-refused"' in page and 'name="confirm"' not in page
    assert snapshot() == before


@pytest.mark.parametrize(("content", "message"), [
    (b"", "empty"), (b"sku,qty\nA-1,2\n", "missing column"), (b"sku,counted_quantity\n", "no rows"),
    ("sku,counted_quantity\nA-1,2\n".encode("utf-16"), "UTF-8"), (b"sku,counted_quantity\nA-\x001,2\n", "NUL"),
])
def test_a_file_that_is_not_a_count_is_a_form_error(staff_client, shelf, content, message):
    response = staff_client(Role.MANAGER).post(UPLOAD, {
        "location": shelf[0].pk, "file": SimpleUploadedFile("c.csv", content, content_type="text/csv")})
    assert response.status_code == 200
    assert message in str(response.context["form"].errors["file"])


def test_a_tampered_or_expired_confirmation_applies_nothing(staff_client, shelf):
    before = snapshot()
    response = staff_client(Role.MANAGER).post(UPLOAD, {"token": "forged", "confirm": "Apply"})
    assert response.status_code == 302 and "expired or is not valid" in " ".join(messages_of(response))
    assert snapshot() == before


def test_confirming_a_count_that_became_invalid_applies_nothing(staff_client, shelf):
    main, _, items = shelf
    client = staff_client(Role.MANAGER)
    token = upload(client, main, "sku,counted_quantity\nA-1,7\nA-2,1\n").context["token"]
    items["A-2"].variant.sku = "RENAMED"
    items["A-2"].variant.save()
    before = snapshot()
    response = client.post(UPLOAD, {"token": token, "confirm": "Apply"})
    assert response.status_code == 200
    assert [p.key for p in response.context["preview"].refused] == [3]
    assert snapshot() == before


def test_upload_is_for_those_who_record_stock(staff_client, shelf):
    assert staff_client(Role.VIEWER).get(UPLOAD).status_code == 403
    assert staff_client(Role.MANAGER).get(UPLOAD).status_code == 200
    page = staff_client(Role.MANAGER).get(admin_url(StockItem, "changelist")).content.decode()
    assert f'href="{UPLOAD}"' in page
    assert f'href="{UPLOAD}"' not in staff_client(Role.VIEWER).get(admin_url(StockItem, "changelist")).content.decode()
