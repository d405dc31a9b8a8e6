"""Adding, changing and deleting through the admin writes through the services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.utils import timezone

from accounts.models import Role
from inventory import services
from inventory.models import MovementAudit, Product, StockItem, StockLocation, StockMovement, Variant
from tests.admin.helpers import admin_url, inline_data, messages_of, split_datetime
from tests.factories import ProductFactory, StockItemFactory, StockLocationFactory, VariantFactory

pytestmark = pytest.mark.django_db

CAUSE = {"resource_type": "", "resource_id": "", "caused_by_order_no": "", "caused_by_resource_id": ""}


def post_add(client, model, data: dict):
    page = client.get(admin_url(model, "add"))
    return client.post(admin_url(model, "add"), {**inline_data(page), **data})


def post_change(client, obj, data: dict):
    page = client.get(admin_url(type(obj), "change", obj.pk))
    return client.post(admin_url(type(obj), "change", obj.pk), {**inline_data(page), **data})


def movement_form(movement: StockMovement, **changes) -> dict:
    data = {"quantity": movement.quantity, "notes": movement.notes, "value_per_unit": movement.value_per_unit,
            **split_datetime("movement_date", movement.movement_date), **CAUSE}
    for key, value in changes.items():
        if key == "movement_date":
            data.update(split_datetime("movement_date", value))
        else:
            data[key] = value
    return data


def assert_consistent(item: StockItem) -> None:
    item.refresh_from_db()
    movements = list(item.movements.order_by("movement_date", "id"))
    assert item.count_on_hand == sum(m.quantity for m in movements)
    assert [m.rank for m in movements] == list(range(1, len(movements) + 1))
    if movements:
        assert movements[-1].balance_after == item.count_on_hand


# --- catalogue and locations -------------------------------------------------------------------------


def test_adding_a_location_propagates_stock_items(staff_client):
    variant = VariantFactory()
    response = post_add(staff_client(Role.ADMIN), StockLocation, {
        "name": "North", "code": "NORTH", "active": "on", "propagate_all_variants": "on"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    location = StockLocation.objects.get(code="NORTH")
    assert StockItem.objects.filter(stock_location=location, variant=variant).exists()
    assert LogEntry.objects.filter(object_id=str(location.pk)).exists()


def test_adding_a_product_creates_its_master_and_inline_variants_through_services(staff_client):
    location = StockLocationFactory(propagate_all_variants=True)
    response = post_add(staff_client(Role.ADMIN), Product, {
        "name": "Mug", "slug": "mug", "description": "", "sku": "MUG-1", "price": "9.50", "cost_price": "3",
        "options_text": "Blue", "variants-TOTAL_FORMS": "1", "variants-0-sku": "MUG-2", "variants-0-price": "9.50",
        "variants-0-options_text": "Red", "variants-0-track_inventory": "on",
    })
    assert response.status_code == 302, response.context["adminform"].form.errors
    product = Product.objects.get(slug="mug")
    master, other = product.variants.order_by("id")
    assert (master.sku, master.is_master, master.cost_price) == ("MUG-1", True, Decimal("3"))
    assert (other.sku, other.is_master) == ("MUG-2", False)
    assert StockItem.objects.filter(stock_location=location, variant__product=product).count() == 2


def test_product_with_a_taken_sku_is_a_form_error(staff_client):
    VariantFactory(sku="TAKEN")
    response = post_add(staff_client(Role.ADMIN), Product, {"name": "X", "slug": "x", "sku": "TAKEN", "price": "1"})
    assert response.status_code == 200
    assert "sku" in response.context["adminform"].form.errors
    assert not Product.objects.filter(slug="x").exists()


def test_adding_a_variant_creates_stock_items(staff_client):
    location = StockLocationFactory(propagate_all_variants=True)
    product = ProductFactory()
    response = post_add(staff_client(Role.ADMIN), Variant, {
        "product": product.pk, "sku": "NEW-1", "price": "5", "track_inventory": "on"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert StockItem.objects.filter(stock_location=location, variant__sku="NEW-1").exists()


# --- stock items ---------------------------------------------------------------------------------------


def test_adding_a_stock_item_records_the_opening_count_as_a_movement(staff_client):
    location, variant = StockLocationFactory(backorderable_default=True), VariantFactory()
    response = post_add(staff_client(Role.ADMIN), StockItem, {
        "stock_location": location.pk, "variant": variant.pk, "backorders": "unknown", "opening_count": "5",
        "opening_cost": "3.25", "reorder_point": "2"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    item = StockItem.objects.get(stock_location=location, variant=variant)
    assert (item.count_on_hand, item.backorderable, item.reorder_point) == (5, True, 2)
    movement = item.movements.get()
    assert (movement.action, movement.quantity, movement.value_per_unit) == ("received", 5, Decimal("3.2500"))
    assert item.value_in_stock == Decimal("16.25")


def test_adding_a_duplicate_stock_item_is_a_form_error(staff_client):
    item = StockItemFactory()
    response = post_add(staff_client(Role.ADMIN), StockItem, {
        "stock_location": item.stock_location_id, "variant": item.variant_id, "backorders": "unknown",
        "opening_count": "0", "reorder_point": "0"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert StockItem.objects.count() == 1


def test_changing_a_stock_item_keeps_its_stock(staff_client):
    item = StockItemFactory(count_on_hand=7)
    response = post_change(staff_client(Role.ADMIN), item, {"reorder_point": "3", "max_stock_level": "50"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    item.refresh_from_db()
    assert (item.reorder_point, item.max_stock_level, item.count_on_hand) == (3, 50, 7)


def test_backorders_cannot_be_turned_off_while_short(staff_client):
    item = StockItemFactory(backorderable=True)
    services.sell(item, 2)
    response = post_change(staff_client(Role.ADMIN), item, {"reorder_point": "0"})  # checkbox left unticked
    assert response.status_code == 200
    assert "backorderable" in response.context["adminform"].form.errors
    item.refresh_from_db()
    assert item.backorderable is True


# --- movements -----------------------------------------------------------------------------------------


def test_recording_a_movement_goes_through_the_services(staff_client):
    item = StockItemFactory(count_on_hand=3)
    client = staff_client(Role.MANAGER)
    response = post_add(client, StockMovement, {
        "stock_item": item.pk, "action": "receive", "quantity": "4", "value_per_unit": "1.50",
        "movement_date_0": "", "movement_date_1": "", "notes": "delivery", **CAUSE, "caused_by_order_no": "PO-9"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    movement = item.movements.order_by("-id").first()
    assert (movement.quantity, movement.balance_after, movement.created_by) == (4, 7, client.user)
    assert movement.caused_by_order_no == "PO-9"
    assert_consistent(item)


def test_a_movement_that_would_go_below_zero_is_a_form_error_and_writes_nothing(staff_client):
    item = StockItemFactory(count_on_hand=3)
    response = post_add(staff_client(Role.MANAGER), StockMovement, {
        "stock_item": item.pk, "action": "sell", "quantity": "5", **CAUSE})
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "quantity" in errors and "not backorderable" in str(errors)
    assert item.movements.count() == 1
    item.refresh_from_db()
    assert item.count_on_hand == 3


def test_units_are_always_positive(staff_client):
    item = StockItemFactory(count_on_hand=3)
    response = post_add(staff_client(Role.MANAGER), StockMovement, {
        "stock_item": item.pk, "action": "receive", "quantity": "-1", **CAUSE})
    assert response.status_code == 200
    assert "quantity" in response.context["adminform"].form.errors


def test_a_backdated_movement_reposts_the_ledger(staff_client):
    item = StockItemFactory(count_on_hand=3)
    when = timezone.now() - timedelta(days=2)
    response = post_add(staff_client(Role.MANAGER), StockMovement, {
        "stock_item": item.pk, "action": "adjust_up", "quantity": "2", **split_datetime("movement_date", when),
        **CAUSE})
    assert response.status_code == 302, response.context["adminform"].form.errors
    first = item.movements.order_by("figures__rank").first()
    assert (first.action, first.quantity, first.balance_after) == ("adjusted", 2, 2)
    assert_consistent(item)


def test_editing_a_movement_reposts_and_audits(staff_client):
    item = StockItemFactory()
    receipt = services.receive(item, 10, value_per_unit="2.00")
    services.sell(item, 4)
    client = staff_client(Role.ADMIN)
    response = post_change(client, receipt, movement_form(receipt, quantity=12, notes="recounted delivery"))
    assert response.status_code == 302, response.context["adminform"].form.errors
    item.refresh_from_db()
    assert item.count_on_hand == 8
    audit = MovementAudit.objects.get(movement=receipt)
    assert (audit.operation, audit.user, audit.before["quantity"], audit.after["quantity"]) == (
        "update", client.user, 10, 12)
    assert_consistent(item)


def test_saving_an_unchanged_movement_writes_no_audit(staff_client):
    item = StockItemFactory()
    receipt = services.receive(item, 10, value_per_unit="2.00")
    response = post_change(staff_client(Role.ADMIN), receipt, movement_form(receipt))
    assert response.status_code == 302
    assert not MovementAudit.objects.exists()


def test_an_edit_that_would_go_negative_is_refused(staff_client):
    item = StockItemFactory()
    receipt = services.receive(item, 10)
    services.sell(item, 8)
    response = post_change(staff_client(Role.ADMIN), receipt, movement_form(receipt, quantity=5))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    receipt.refresh_from_db()
    assert receipt.quantity == 10
    assert not MovementAudit.objects.exists()


def test_deleting_a_movement_reposts_and_audits(staff_client):
    item = StockItemFactory()
    services.receive(item, 10)
    sale = services.sell(item, 4)
    client = staff_client(Role.ADMIN)
    assert client.get(admin_url(StockMovement, "delete", sale.pk)).status_code == 200
    response = client.post(admin_url(StockMovement, "delete", sale.pk), {"post": "yes"})
    assert response.status_code == 302
    assert not StockMovement.objects.filter(pk=sale.pk).exists()
    audit = MovementAudit.objects.get(movement_ref=sale.pk)
    assert (audit.operation, audit.user, audit.movement) == ("delete", client.user, None)
    item.refresh_from_db()
    assert item.count_on_hand == 10
    assert_consistent(item)


def test_a_deletion_that_would_go_negative_is_refused_with_a_message(staff_client):
    item = StockItemFactory()
    receipt = services.receive(item, 10)
    services.sell(item, 8)
    response = staff_client(Role.ADMIN).post(admin_url(StockMovement, "delete", receipt.pk), {"post": "yes"})
    assert response.status_code == 302
    assert any("not backorderable" in m for m in messages_of(response))
    assert StockMovement.objects.filter(pk=receipt.pk).exists()
    assert not MovementAudit.objects.exists()
    assert_consistent(item)


@pytest.mark.parametrize("role", [Role.MANAGER, Role.VIEWER])
def test_non_admin_staff_cannot_edit_or_delete_movements(staff_client, role):
    item = StockItemFactory()
    receipt = services.receive(item, 10)
    client = staff_client(role)
    assert client.get(admin_url(StockMovement, "delete", receipt.pk)).status_code == 403
    assert client.post(admin_url(StockMovement, "delete", receipt.pk), {"post": "yes"}).status_code == 403
    assert client.post(admin_url(StockMovement, "change", receipt.pk), movement_form(receipt, quantity=3)
                       ).status_code == 403
    changelist = client.get(admin_url(StockMovement, "changelist"))
    assert "delete_movements" not in changelist.content.decode()
    assert StockMovement.objects.filter(pk=receipt.pk, quantity=10).exists()
    assert not MovementAudit.objects.exists()


def test_transfer_legs_are_read_only(staff_client):
    source, destination = StockLocationFactory(), StockLocationFactory()
    variant = VariantFactory()
    StockItemFactory(stock_location=source, variant=variant, count_on_hand=5)
    transfer = services.transfer(source, destination, [(variant, 2)])
    leg = transfer.movements.get(quantity__lt=0)
    client = staff_client(Role.ADMIN)
    page = client.get(admin_url(StockMovement, "change", leg.pk))
    assert page.status_code == 200 and 'name="quantity"' not in page.content.decode()
    assert client.post(admin_url(StockMovement, "delete", leg.pk), {"post": "yes"}).status_code == 403
    assert StockMovement.objects.filter(pk=leg.pk).exists()
