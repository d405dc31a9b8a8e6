"""Admin actions: an intermediate page, then service calls in one transaction."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin import helpers
from django.db import connection

from accounts.models import Role
from inventory import services
from inventory.models import Allocation, MovementAudit, StockItem, StockMovement
from tests.admin.helpers import admin_url, messages_of
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory

pytestmark = pytest.mark.django_db


def run_action(client, model, action: str, objects, **fields):
    """Post an action for `objects`; with `fields`, also submit its intermediate form."""
    data = {"action": action, helpers.ACTION_CHECKBOX_NAME: [str(o.pk) for o in objects]}
    if fields:
        data.update(apply="1", **{k: str(v) for k, v in fields.items()})
    return client.post(admin_url(model, "changelist"), data)


def ledger_sum(item: StockItem) -> int:
    return sum(item.movements.values_list("quantity", flat=True))


@pytest.fixture
def items():
    location = StockLocationFactory()
    return [StockItemFactory(stock_location=location, variant=VariantFactory(), count_on_hand=n) for n in (4, 9)]


def test_receive_shows_a_form_then_receives_into_each_item(staff_client, items):
    client = staff_client(Role.MANAGER)
    page = run_action(client, StockItem, "receive_stock", items)
    assert page.status_code == 200
    assert b'name="quantity"' in page.content and b"Receive stock" in page.content

    response = run_action(client, StockItem, "receive_stock", items, quantity=6, unit_cost="2.5", notes="PO 7")
    assert response.status_code == 302
    for item, before in zip(items, (4, 9), strict=True):
        item.refresh_from_db()
        assert item.count_on_hand == before + 6 == ledger_sum(item)
        receipt = item.movements.order_by("-id").first()
        assert (receipt.action, receipt.quantity, receipt.value_per_unit, receipt.notes, receipt.created_by) == (
            "received", 6, Decimal("2.5000"), "PO 7", client.user)


def test_receive_with_a_bad_quantity_shows_the_form_again(staff_client, items):
    response = run_action(staff_client(Role.MANAGER), StockItem, "receive_stock", items, quantity=0)
    assert response.status_code == 200
    assert response.context["form"].errors["quantity"]
    assert StockMovement.objects.count() == 2


def test_adjust_to_count_writes_counted_movements_through_set_count(staff_client, items):
    client = staff_client(Role.MANAGER)
    page = run_action(client, StockItem, "adjust_to_count", items)
    assert page.status_code == 200
    first, second = items
    response = run_action(client, StockItem, "adjust_to_count", items,
                          **{f"count_{first.pk}": 1, f"count_{second.pk}": 9, "notes": "cycle count"})
    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.count_on_hand == 1 == ledger_sum(first)
    counted = first.movements.get(action="counted")
    assert (counted.quantity, counted.notes) == (-3, "cycle count")
    # A matching count writes no movement but stamps the item as counted.
    assert not second.movements.filter(action="counted").exists()
    assert first.last_counted_at and second.last_counted_at
    assert any("1 'counted' movements" in m for m in messages_of(response))


def test_adjust_to_count_skips_items_left_empty_and_needs_one(staff_client, items):
    client = staff_client(Role.MANAGER)
    response = run_action(client, StockItem, "adjust_to_count", items, notes="")
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    response = run_action(client, StockItem, "adjust_to_count", items, **{f"count_{items[1].pk}": 12})
    assert response.status_code == 302
    items[0].refresh_from_db()
    assert items[0].last_counted_at is None and items[0].count_on_hand == 4


def test_recount_repairs_a_corrupted_count(staff_client, items):
    pytest.importorskip("inventory.services.recount")
    item = items[0]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {StockItem._meta.db_table} SET count_on_hand = 99 WHERE id = %s", [item.pk])
    client = staff_client(Role.ADMIN)
    page = run_action(client, StockItem, "recount_selected", items)
    assert page.status_code == 200 and b'name="fix"' in page.content
    response = run_action(client, StockItem, "recount_selected", items, fix="on")
    assert response.status_code == 302
    shown = messages_of(response)
    assert any("1 drifted (repaired)" in m for m in shown)
    assert any(f"{item.variant.sku} @ {item.stock_location.code}: cached count 99, ledger 4" in m for m in shown)
    item.refresh_from_db()
    assert item.count_on_hand == 4 == ledger_sum(item)


def test_recount_without_fix_only_reports(staff_client, items):
    pytest.importorskip("inventory.services.recount")
    item = items[0]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {StockItem._meta.db_table} SET count_on_hand = 99 WHERE id = %s", [item.pk])
    response = run_action(staff_client(Role.ADMIN), StockItem, "recount_selected", items, notes="")
    assert any("not repaired" in m for m in messages_of(response))
    item.refresh_from_db()
    assert item.count_on_hand == 99


def test_recount_of_a_consistent_ledger_says_so(staff_client, items):
    pytest.importorskip("inventory.services.recount")
    response = run_action(staff_client(Role.ADMIN), StockItem, "recount_selected", items, fix="on")
    assert any("agree with the ledger" in m for m in messages_of(response))


def test_viewer_cannot_run_stock_actions_and_manager_cannot_recount(staff_client, items):
    viewer = staff_client(Role.VIEWER)
    for action in ("receive_stock", "adjust_to_count", "recount_selected"):
        response = run_action(viewer, StockItem, action, items, quantity=5, fix="on")
        # Not offered to a viewer: the changelist ignores the request.
        assert "admin/inventory/action_form.html" not in [t.name for t in response.templates]
    manager_page = staff_client(Role.MANAGER).get(admin_url(StockItem, "changelist")).content.decode()
    assert "receive_stock" in manager_page and "recount_selected" not in manager_page
    assert StockMovement.objects.count() == 2


def test_bulk_delete_goes_through_the_services(staff_client, items):
    item = items[1]
    sale = services.sell(item, 2)
    receipt = item.movements.get(action="received")
    services.receive(item, 1)
    client = staff_client(Role.ADMIN)
    page = run_action(client, StockMovement, "delete_movements", [receipt, sale])
    assert page.status_code == 200 and b"Yes, delete" in page.content
    # The receipt and the sale drawn from it go together: newest first, never through a negative balance.
    response = run_action(client, StockMovement, "delete_movements", [receipt, sale], confirm="yes")
    assert response.status_code == 302
    assert set(MovementAudit.objects.values_list("movement_ref", "operation")) == {
        (receipt.pk, "delete"), (sale.pk, "delete")}
    item.refresh_from_db()
    assert item.count_on_hand == 1 == ledger_sum(item)


def test_bulk_delete_is_all_or_nothing(staff_client, items):
    item = items[1]
    services.sell(item, 8)
    receipt = item.movements.get(action="received")
    other = items[0].movements.get()
    response = run_action(staff_client(Role.ADMIN), StockMovement, "delete_movements", [other, receipt],
                          confirm="yes")
    assert any("Nothing was deleted" in m for m in messages_of(response))
    assert StockMovement.objects.filter(pk__in=[other.pk, receipt.pk]).count() == 2
    assert not MovementAudit.objects.exists()


def test_django_bulk_delete_is_not_offered_for_movements(staff_client, items):
    page = staff_client(Role.ADMIN).get(admin_url(StockMovement, "changelist")).content.decode()
    assert 'value="delete_selected"' not in page and 'value="delete_movements"' in page


def test_release_and_fulfil_allocations(staff_client, items):
    from inventory.services.allocations import allocate

    first, second = (allocate(item, 2, reference_type="order", reference_id="R9") for item in items)
    client = staff_client(Role.MANAGER)
    assert run_action(client, Allocation, "release_allocations", [first]).status_code == 302
    assert run_action(client, Allocation, "fulfil_allocations", [second]).status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.status, second.status) == ("released", "fulfilled")
    items[1].refresh_from_db()
    assert (items[1].count_on_hand, items[1].quantity_allocated) == (7, 0)
    # A second release of the same allocation is refused, with a message.
    response = run_action(client, Allocation, "release_allocations", [first])
    assert any("Nothing was released" in m for m in messages_of(response))
