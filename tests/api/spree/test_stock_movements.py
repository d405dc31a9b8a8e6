"""Spree stock movements: exact JSON, create/update/delete through the services, roles, idempotency, bad input."""

from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from inventory import services
from inventory.models import Action, MovementAudit, StockMovement
from tests.api.spree.conftest import API, assert_spree_422, counts
from tests.conftest import requires_postgres
from tests.factories import StockItemFactory, StockTransferFactory, VariantFactory

pytestmark = pytest.mark.django_db

MOVEMENT_KEYS = {"id", "quantity", "action", "stock_item_id", "stock_item"}
ITEM_KEYS = {"id", "count_on_hand", "backorderable", "stock_location_id", "variant_id", "variant"}
VARIANT_KEYS = {
    "id", "name", "sku", "price", "weight", "height", "width", "depth", "is_master", "slug", "description",
    "track_inventory", "cost_price", "option_values", "images", "display_price", "options_text", "in_stock",
    "is_backorderable", "is_orderable", "total_on_hand", "is_destroyed",
}


def movements_url(location, *rest) -> str:
    return "/".join([f"{API}/stock_locations/{location.pk}/stock_movements", *map(str, rest)])


def post_movement(client, location, fields, **extra):
    return client.post(movements_url(location), {"stock_movement": fields}, format="json", **extra)


# --- shape ------------------------------------------------------------------------------------------------


def test_movement_json_has_exactly_the_contract_keys(admin_client_api, main, item, foreign_item):
    response = post_movement(admin_client_api, main, {"quantity": 10, "stock_item_id": item.pk, "action": "received"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == MOVEMENT_KEYS
    assert set(body["stock_item"]) == ITEM_KEYS
    assert set(body["stock_item"]["variant"]) == VARIANT_KEYS
    assert body["quantity"] == 10
    assert body["action"] == "received"
    assert body["stock_item_id"] == item.pk
    assert body["stock_item"] == {**body["stock_item"], "id": item.pk, "count_on_hand": 30, "backorderable": False,
                                  "stock_location_id": main.pk, "variant_id": item.variant_id}
    variant = body["stock_item"]["variant"]
    assert variant == {
        "id": item.variant_id,
        "name": "Ruby on Rails Tote",
        "sku": "ROR-00011",
        "price": "15.99",
        "weight": "1.50",
        "height": None,
        "width": None,
        "depth": None,
        "is_master": True,
        "slug": "ruby-on-rails-tote",
        "description": "A tote bag",
        "track_inventory": True,
        "cost_price": "9.50",
        "option_values": [],
        "images": [],
        "display_price": "$15.99",
        "options_text": "",
        "in_stock": True,
        "is_backorderable": False,
        "is_orderable": True,
        "total_on_hand": 35,  # 30 here + 5 at the other location
        "is_destroyed": False,
    }


def test_display_price_groups_thousands(admin_client_api, main):
    variant = VariantFactory(price=Decimal("1234.50"))
    item = StockItemFactory(stock_location=main, variant=variant, count_on_hand=1)
    body = admin_client_api.get(movements_url(main)).json()["stock_movements"][0]
    assert body["stock_item_id"] == item.pk
    assert body["stock_item"]["variant"]["price"] == "1234.50"
    assert body["stock_item"]["variant"]["display_price"] == "$1,234.50"


def test_stock_flags_follow_spree(admin_client_api, main, shop):
    empty = StockItemFactory(stock_location=main, variant=VariantFactory())
    back = StockItemFactory(stock_location=shop, variant=empty.variant, backorderable=True)
    services.receive(back, 1)
    services.sell(back, 3)  # backorderable: may go below zero
    services.receive(empty, 1)
    flags = admin_client_api.get(movements_url(main)).json()["stock_movements"][0]["stock_item"]["variant"]
    assert (flags["total_on_hand"], flags["in_stock"], flags["is_backorderable"], flags["is_orderable"]) == (
        -1, False, True, True)
    untracked = StockItemFactory(stock_location=main, variant=VariantFactory(track_inventory=False))
    services.adjust(untracked, 2)
    services.adjust(untracked, -2)
    flags = admin_client_api.get(movements_url(main)).json()["stock_movements"][0]["stock_item"]["variant"]
    assert (flags["total_on_hand"], flags["in_stock"], flags["is_orderable"]) == (0, True, True)


def test_is_destroyed_after_the_product_is_deleted(admin_client_api, main, item, variant):
    assert admin_client_api.delete(f"{API}/products/{variant.product_id}").status_code == 204
    body = admin_client_api.get(movements_url(main)).json()["stock_movements"][0]
    assert body["stock_item"]["variant"]["is_destroyed"] is True


# --- create ------------------------------------------------------------------------------------------------


def test_manager_records_a_movement_with_numbers_as_strings(manager_client, main, item):
    response = post_movement(manager_client, main, {"quantity": "-4", "stock_item_id": str(item.pk), "action": "sold"})
    assert response.status_code == 201
    movement = StockMovement.objects.get(pk=response.json()["id"])
    assert (movement.quantity, movement.action, movement.created_by) == (-4, Action.SOLD, manager_client.user)
    item.refresh_from_db()
    assert item.count_on_hand == 16
    assert movement.balance_after == 16
    assert movement.total_cost == Decimal("38.00")


def test_optional_fields_reach_the_ledger(manager_client, main, item):
    response = post_movement(manager_client, main, {
        "quantity": 5, "stock_item_id": item.pk, "action": "received", "value_per_unit": "12.5",
        "notes": "PO 77", "resource_type": "PurchaseOrder", "resource_id": "77", "caused_by_order_no": "R100",
        "caused_by_resource_id": "9",
    })
    assert response.status_code == 201
    movement = StockMovement.objects.get(pk=response.json()["id"])
    assert movement.value_per_unit == Decimal("12.5000")
    assert (movement.notes, movement.resource_type, movement.resource_id, movement.caused_by_order_no,
            movement.caused_by_resource_id) == ("PO 77", "PurchaseOrder", "77", "R100", "9")


def test_action_defaults_to_adjusted(manager_client, main, item):
    response = post_movement(manager_client, main, {"quantity": -2, "stock_item_id": item.pk})
    assert response.status_code == 201
    assert response.json()["action"] == "adjusted"


def test_backdated_movement_reposts_the_ledger(manager_client, main, item):
    response = post_movement(manager_client, main, {"quantity": 3, "stock_item_id": item.pk, "action": "received",
                                                    "movement_date": "2020-01-01T00:00:00Z"})
    assert response.status_code == 201
    movement = StockMovement.objects.get(pk=response.json()["id"])
    assert movement.rank == 1
    item.refresh_from_db()
    assert item.count_on_hand == 23


@pytest.mark.parametrize("fields", [{"quantity": -4, "action": "sold"},
                                    {"quantity": 4, "action": "received", "movement_date": "2020-01-01T00:00:00Z"}],
                         ids=["appended", "backdated"])
def test_created_movement_renders_as_its_show(manager_client, main, item, foreign_item, fields):
    # The 201 is rendered from the objects the service returned, not re-read: it must match a GET.
    response = post_movement(manager_client, main, {"stock_item_id": item.pk, **fields})
    assert response.status_code == 201
    shown = manager_client.get(movements_url(main, response.json()["id"]))
    assert response.content == shown.content


def test_a_post_costs_a_fixed_number_of_statements(manager_client, main, item, django_assert_max_num_queries):
    post_movement(manager_client, main, {"quantity": 1, "stock_item_id": item.pk})  # the API key is now cached
    # lock (the location is read only to refuse); newest movement; open layers; movement; layer;
    # consumption; item; variant totals (and BEGIN/COMMIT where the backend logs them)
    with django_assert_max_num_queries(10):
        response = post_movement(manager_client, main, {"quantity": -1, "stock_item_id": item.pk, "action": "sold"})
    assert response.status_code == 201


@requires_postgres
def test_a_post_on_postgresql_reads_what_it_needs_with_the_lock(manager_client, main, shop, item):
    StockItemFactory(stock_location=shop, variant=item.variant, count_on_hand=5, backorderable=True)
    post_movement(manager_client, main, {"quantity": 1, "stock_item_id": item.pk})  # the API key is now cached
    for fields in ({"quantity": -1, "action": "sold"}, {"quantity": 3, "action": "received"}):
        with CaptureQueriesContext(connection) as queries:
            response = post_movement(manager_client, main, {"stock_item_id": item.pk, **fields})
        assert response.status_code == 201
        statements = [q["sql"] for q in queries.captured_queries]
        # No statement of its own for the new ids or the open layers, nor a read of the variant's stock after
        # the commit: all come with the lock.
        assert not [sql for sql in statements if sql.startswith("SELECT ARRAY(SELECT nextval")], statements
        assert not [sql for sql in statements if sql.startswith("SELECT") and "inventory_costlayer" in sql], statements
        assert not [sql for sql in statements if "GROUP BY" in sql], statements
        item.refresh_from_db()
        variant = response.json()["stock_item"]["variant"]
        assert (variant["total_on_hand"], variant["is_backorderable"]) == (item.count_on_hand + 5, True)
        movement = StockMovement.objects.get(pk=response.json()["id"])
        assert movement.pk == StockMovement.objects.filter(stock_item=item).order_by("-movement_date", "-id")[0].pk


def test_a_body_refused_for_several_fields_names_the_item_too(manager_client, main, item, foreign_item):
    response = post_movement(manager_client, main, {"quantity": 0, "stock_item_id": foreign_item.pk})
    errors = assert_spree_422(response, "quantity", "stock_item_id")
    assert "does not belong" in errors["stock_item_id"][0]


def test_missing_item_is_reported_before_the_action(manager_client, main):
    response = post_movement(manager_client, main, {"quantity": 5, "stock_item_id": 999999,
                                                    "action": "transferred_in"})
    errors = assert_spree_422(response, "stock_item_id")
    assert errors["stock_item_id"] == ["Stock item 999999 does not exist."]


def test_x_spree_token_and_trailing_slash_and_the_api_mount(make_client, main, item):
    client = make_client(Role.MANAGER, header="spree")
    response = client.post(movements_url(main) + "/", {"stock_movement": {"quantity": 1, "stock_item_id": item.pk,
                                                                          "action": "received"}}, format="json")
    assert response.status_code == 201
    response = client.get(f"/api/stock_locations/{main.pk}/stock_movements/{response.json()['id']}")
    assert response.status_code == 200
    assert response.json()["quantity"] == 1


def test_rails_style_form_bodies_are_accepted(manager_client, main, item):
    body = urlencode({"stock_movement[quantity]": "7", "stock_movement[stock_item_id]": item.pk,
                      "stock_movement[action]": "received"})
    response = manager_client.post(movements_url(main), body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 201, response.content
    assert response.json()["quantity"] == 7
    response = manager_client.post(movements_url(main), {"stock_movement[quantity]": "2",
                                                         "stock_movement[stock_item_id]": str(item.pk)})
    assert response.status_code == 201, response.content


def test_insufficient_stock_is_a_422_on_quantity_and_writes_nothing(manager_client, main, item):
    before = counts()
    response = post_movement(manager_client, main, {"quantity": -21, "stock_item_id": item.pk, "action": "sold"})
    errors = assert_spree_422(response, "quantity")
    assert "not backorderable" in errors["quantity"][0]
    assert counts() == before


def test_stock_item_of_another_location_is_a_422_on_stock_item_id(manager_client, main, item, foreign_item):
    before = counts()
    response = post_movement(manager_client, main, {"quantity": 1, "stock_item_id": foreign_item.pk,
                                                    "action": "received"})
    errors = assert_spree_422(response, "stock_item_id")
    assert "does not belong" in errors["stock_item_id"][0]
    assert counts() == before


BAD_FIELDS = [
    ({"quantity": "abc", "stock_item_id": "ITEM", "action": "received"}, "quantity"),
    ({"quantity": 0, "stock_item_id": "ITEM", "action": "received"}, "quantity"),
    ({"quantity": "0", "stock_item_id": "ITEM", "action": "received"}, "quantity"),
    ({"quantity": 10**30, "stock_item_id": "ITEM", "action": "received"}, "quantity"),
    ({"quantity": str(10**30), "stock_item_id": "ITEM", "action": "received"}, "quantity"),
    ({"quantity": 2.5, "stock_item_id": "ITEM", "action": "received"}, "quantity"),
    ({"quantity": True, "stock_item_id": "ITEM", "action": "received"}, "quantity"),
    ({"quantity": None, "stock_item_id": "ITEM", "action": "received"}, "quantity"),
    ({"stock_item_id": "ITEM", "action": "received"}, "quantity"),
    ({"quantity": 5, "stock_item_id": "ITEM", "action": "teleported"}, "action"),
    ({"quantity": 5, "stock_item_id": "ITEM", "action": "transferred_in"}, "action"),
    ({"quantity": 5, "stock_item_id": "ITEM", "action": "sold"}, "quantity"),  # sold must be negative
    ({"quantity": 5, "action": "received"}, "stock_item_id"),
    ({"quantity": 5, "stock_item_id": 999999, "action": "received"}, "stock_item_id"),
    ({"quantity": 5, "stock_item_id": 10**30, "action": "received"}, "stock_item_id"),
    ({"quantity": 5, "stock_item_id": "one", "action": "received"}, "stock_item_id"),
    ({"quantity": 5, "stock_item_id": "ITEM", "value_per_unit": "-1"}, "value_per_unit"),
    ({"quantity": 5, "stock_item_id": "ITEM", "value_per_unit": "NaN"}, "value_per_unit"),
    ({"quantity": 5, "stock_item_id": "ITEM", "movement_date": "yesterday"}, "movement_date"),
    ({"quantity": 5, "stock_item_id": "ITEM", "movement_date": "2999-01-01T00:00:00Z"}, "movement_date"),
]


@pytest.mark.parametrize(("fields", "field"), BAD_FIELDS)
def test_bad_fields_are_422_naming_the_field(manager_client, main, item, fields, field):
    fields = {k: (item.pk if v == "ITEM" else v) for k, v in fields.items()}
    before = counts()
    response = post_movement(manager_client, main, fields)
    assert_spree_422(response, field)
    assert counts() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"quantity": 5, "stock_item_id": 1}, "stock_movement"),  # not wrapped
        ({"stock_movements": {"quantity": 5}}, "stock_movement"),
        ({"stock_movement": "5"}, "stock_movement"),
        ({"stock_movement": [1, 2]}, "stock_movement"),
        ([{"stock_movement": {}}], "stock_movement"),
        ({}, "stock_movement"),
    ],
)
def test_missing_or_malformed_wrapper_is_a_422(manager_client, main, item, body, field):
    before = counts()
    response = manager_client.post(movements_url(main), body, format="json")
    assert_spree_422(response, field)
    assert counts() == before


@pytest.mark.parametrize("raw", ['{"stock_movement": {"quantity": 5,', "quantity=5", "\x00\x01", '{"a": NaN'])
def test_non_json_body_is_a_400_in_the_envelope(manager_client, main, item, raw):
    before = counts()
    response = manager_client.post(movements_url(main), raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": "The request body is not valid JSON."}
    assert counts() == before


def test_unsupported_content_type_is_a_415_in_the_envelope(manager_client, main, item):
    before = counts()
    response = manager_client.post(movements_url(main), "quantity 5", content_type="text/plain")
    assert response.status_code == 415
    assert set(response.json()) == {"error"}
    assert counts() == before


def test_unknown_location_is_a_404(manager_client, item):
    response = manager_client.post(f"{API}/stock_locations/999999/stock_movements",
                                   {"stock_movement": {"quantity": 1, "stock_item_id": item.pk}}, format="json")
    assert response.status_code == 404
    assert response.json() == {"error": "The resource you were looking for could not be found."}


@pytest.mark.parametrize("fields", [{"quantity": 0}, {"quantity": 1, "stock_item_id": 999999}, {"quantity": 1}],
                         ids=["bad-body", "unknown-item", "good-body"])
@pytest.mark.parametrize("idempotency_key", [None, "unknown-location"])
def test_unknown_location_is_a_404_whatever_else_is_wrong(manager_client, main, item, fields, idempotency_key):
    fields = {"stock_item_id": item.pk, **fields}
    extra = {"HTTP_IDEMPOTENCY_KEY": idempotency_key} if idempotency_key else {}
    before = counts()
    response = manager_client.post(f"{API}/stock_locations/{10**30}/stock_movements", {"stock_movement": fields},
                                   format="json", **extra)
    assert (response.status_code, response.json()) == (404, {"error": "The resource you were looking for could "
                                                                      "not be found."})
    response = manager_client.post(f"{API}/stock_locations/999999/stock_movements", {"stock_movement": fields},
                                   format="json", **extra)
    assert response.status_code == 404
    assert counts() == before


def test_viewer_reads_but_cannot_record(viewer_client, main, item):
    assert viewer_client.get(movements_url(main)).status_code == 200
    before = counts()
    response = post_movement(viewer_client, main, {"quantity": 1, "stock_item_id": item.pk})
    assert response.status_code == 403
    assert response.json() == {"error": "You are not authorized to perform that action."}
    assert counts() == before


# --- idempotency --------------------------------------------------------------------------------------------


def test_same_idempotency_key_and_body_returns_the_first_movement(manager_client, main, item):
    fields = {"quantity": 4, "stock_item_id": item.pk, "action": "received"}
    first = post_movement(manager_client, main, fields, HTTP_IDEMPOTENCY_KEY="order-1-receipt")
    assert first.status_code == 201
    before = counts()
    again = post_movement(manager_client, main, fields, HTTP_IDEMPOTENCY_KEY="order-1-receipt")
    assert again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.json() == first.json()
    assert counts() == before


def test_reused_idempotency_key_with_another_body_is_a_422(manager_client, main, item):
    post_movement(manager_client, main, {"quantity": 4, "stock_item_id": item.pk}, HTTP_IDEMPOTENCY_KEY="k1")
    before = counts()
    response = post_movement(manager_client, main, {"quantity": 5, "stock_item_id": item.pk},
                             HTTP_IDEMPOTENCY_KEY="k1")
    assert_spree_422(response, "idempotency_key")
    assert counts() == before


def test_a_refused_request_is_not_stored_under_its_idempotency_key(manager_client, main, item):
    fields = {"quantity": -100, "stock_item_id": item.pk, "action": "sold"}
    assert post_movement(manager_client, main, fields, HTTP_IDEMPOTENCY_KEY="k2").status_code == 422
    services.receive(item, 100)
    retry = post_movement(manager_client, main, fields, HTTP_IDEMPOTENCY_KEY="k2")
    assert retry.status_code == 201
    again = post_movement(manager_client, main, fields, HTTP_IDEMPOTENCY_KEY="k2")
    assert again.json()["id"] == retry.json()["id"]


# --- show, update, delete -------------------------------------------------------------------------------------


def test_show_is_scoped_to_the_location(viewer_client, main, shop, item, foreign_item):
    movement = foreign_item.movements.get()
    assert viewer_client.get(movements_url(shop, movement.pk)).status_code == 200
    response = viewer_client.get(movements_url(main, movement.pk))
    assert response.status_code == 404
    assert response.json() == {"error": "The resource you were looking for could not be found."}
    assert viewer_client.get(movements_url(main, 10**30)).status_code == 404


def test_admin_edits_a_movement_through_the_service(admin_client_api, main, item):
    sale = services.sell(item, 5)
    response = admin_client_api.put(movements_url(main, sale.pk), {"stock_movement": {"quantity": "-8",
                                                                                      "notes": "recounted"}},
                                    format="json")
    assert response.status_code == 200
    assert response.json()["quantity"] == -8
    assert response.json()["stock_item"]["count_on_hand"] == 12
    sale.refresh_from_db()
    assert (sale.quantity, sale.notes, sale.balance_after) == (-8, "recounted", 12)
    audit = MovementAudit.objects.get(movement_ref=sale.pk)
    assert (audit.operation, audit.user, audit.before["quantity"], audit.after["quantity"]) == (
        "update", admin_client_api.user, -5, -8)


def test_patch_edits_the_cause(admin_client_api, main, item):
    movement = item.movements.get()
    response = admin_client_api.patch(movements_url(main, movement.pk),
                                      {"stock_movement": {"caused_by_order_no": "R7"}}, format="json")
    assert response.status_code == 200
    movement.refresh_from_db()
    assert movement.caused_by_order_no == "R7"


def test_edit_that_would_go_negative_is_refused(admin_client_api, main, item):
    sale = services.sell(item, 5)
    before = counts()
    response = admin_client_api.put(movements_url(main, sale.pk), {"stock_movement": {"quantity": -50}},
                                    format="json")
    assert_spree_422(response, "quantity")
    assert counts() == before


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"action": "sold"}, "action"), ({"stock_item_id": 999}, "stock_item_id"), ({"quantity": 0}, "quantity"),
     ({"quantity": "x"}, "quantity")],
)
def test_edit_refuses_what_cannot_change(admin_client_api, main, item, fields, field):
    movement = item.movements.get()
    before = counts()
    response = admin_client_api.put(movements_url(main, movement.pk), {"stock_movement": fields}, format="json")
    assert_spree_422(response, field)
    assert counts() == before


def test_transfer_legs_cannot_be_edited_alone(admin_client_api, main, shop, variant):
    transfer = StockTransferFactory(source_location=main, destination_location=shop, variant=variant, quantity=3)
    leg = transfer.movements.get(stock_item__stock_location=main)
    before = counts()
    response = admin_client_api.delete(movements_url(main, leg.pk))
    assert_spree_422(response, "base")
    assert counts() == before


def test_manager_cannot_edit_or_delete(manager_client, main, item):
    movement = item.movements.get()
    before = counts()
    assert manager_client.put(movements_url(main, movement.pk), {"stock_movement": {"quantity": 2}},
                              format="json").status_code == 403
    assert manager_client.delete(movements_url(main, movement.pk)).status_code == 403
    assert counts() == before


def test_admin_deletes_a_movement(admin_client_api, main, item):
    sale = services.sell(item, 5)
    response = admin_client_api.delete(movements_url(main, sale.pk))
    assert response.status_code == 204
    assert response.content == b""
    item.refresh_from_db()
    assert item.count_on_hand == 20
    assert not StockMovement.objects.filter(pk=sale.pk).exists()
    assert MovementAudit.objects.filter(movement_ref=sale.pk, operation="delete").exists()
    assert admin_client_api.delete(movements_url(main, sale.pk)).status_code == 404


def test_singular_path_deletes_too_and_only_deletes(admin_client_api, main, item):
    sale = services.sell(item, 5)
    singular = f"{API}/stock_locations/{main.pk}/stock_movement/{sale.pk}"
    response = admin_client_api.get(singular)
    assert response.status_code == 405
    assert set(response.json()) == {"error"}
    assert admin_client_api.delete(singular).status_code == 204
    assert not StockMovement.objects.filter(pk=sale.pk).exists()


def test_index_lists_only_the_locations_movements(viewer_client, main, shop, item, foreign_item):
    services.sell(item, 2)
    body = viewer_client.get(movements_url(main)).json()
    assert [m["stock_item"]["stock_location_id"] for m in body["stock_movements"]] == [main.pk, main.pk]
    assert [m["quantity"] for m in body["stock_movements"]] == [-2, 20]  # newest first
    assert (body["count"], body["total_count"], body["current_page"], body["pages"], body["per_page"]) == (
        2, 2, 1, 1, 25)
