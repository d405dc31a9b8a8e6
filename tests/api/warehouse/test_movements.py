from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory import services
from inventory.models import Action, IdempotencyRecord, StockItem, StockMovement, StockTransfer
from tests.api.warehouse.conftest import BASE, assert_error, ledger_counts
from tests.factories import StockItemFactory, StockLocationFactory, UserFactory, cost_layers

pytestmark = pytest.mark.django_db
URL = f"{BASE}/movements"


def post(client, body, **headers):
    return client.post(URL, body, format="json", **headers)


def item_of(stock_item: StockItem) -> StockItem:
    stock_item.refresh_from_db()
    return stock_item


class TestRecord:
    def test_in_is_a_received_movement_at_the_given_cost(self, stock, manager_client):
        response = post(manager_client, {"product_id": stock.nut.pk, "warehouse_id": stock.main.pk,
                                         "movement_type": "in", "quantity": 20, "cost_per_unit": "0.75",
                                         "reference_type": "purchase_order", "reference_id": "PO-9",
                                         "notes": "dock 2"})
        assert response.status_code == 201, response.content
        data = response.json()["data"]
        movement = StockMovement.objects.get(pk=data["id"])
        assert (movement.action, movement.quantity, movement.value_per_unit) == ("received", 20, Decimal("0.75"))
        assert (movement.resource_type, movement.resource_id, movement.notes) == ("purchase_order", "PO-9", "dock 2")
        assert movement.created_by == manager_client.user
        assert data["movement_type"] == "in" and data["action"] == "received"
        assert (data["quantity"], data["balance_before"], data["balance_after"]) == (20, 5, 25)
        assert (data["product_id"], data["warehouse_id"]) == (stock.nut.pk, stock.main.pk)
        assert (data["cost_per_unit"], data["total_cost"], data["value_in_stock_after"]) == ("0.7500", "15.00",
                                                                                                "17.50")
        assert (data["reference_type"], data["reference_id"]) == ("purchase_order", "PO-9")
        assert data["created_by"] == {"id": manager_client.user.pk, "name": manager_client.user.username}
        assert data["transfer"] is None and data["created_at"]
        assert item_of(stock.nut_main).count_on_hand == 25

    def test_out_is_sold_and_stored_negative(self, stock, manager_client):
        data = post(manager_client, {"product_id": stock.bolt.pk, "warehouse_id": stock.main.pk,
                                     "movement_type": "out", "quantity": "12", "reference_id": 55}).json()["data"]
        assert (data["action"], data["quantity"], data["balance_after"], data["balance_before"]) == ("sold", -12, 38,
                                                                                                     50)
        assert data["reference_id"] == "55" and data["total_cost"] == "24.00"
        assert item_of(stock.bolt_main).count_on_hand == 38

    @pytest.mark.parametrize("delta, expected", [(-7, 43), (4, 54)])
    def test_adjustment_is_signed(self, stock, manager_client, delta, expected):
        data = post(manager_client, {"product_id": stock.bolt.pk, "warehouse_id": stock.main.pk,
                                     "movement_type": "adjustment", "quantity": delta}).json()["data"]
        assert (data["action"], data["quantity"], data["balance_after"]) == ("adjusted", delta, expected)

    def test_in_creates_a_missing_stock_item(self, stock, manager_client):
        response = post(manager_client, {"product_id": stock.nut.pk, "warehouse_id": stock.shop.pk,
                                          "movement_type": "in", "quantity": 3})
        assert response.status_code == 201
        assert StockItem.objects.get(variant=stock.nut, stock_location=stock.shop).count_on_hand == 3

    def test_backdated_movement(self, stock, manager_client):
        when = timezone.now() - timedelta(days=3)
        data = post(manager_client, {"product_id": stock.bolt.pk, "warehouse_id": stock.main.pk,
                                     "movement_type": "in", "quantity": 1,
                                     "movement_date": when.isoformat()}).json()["data"]
        assert data["movement_date"].startswith(when.date().isoformat())

    def test_out_beyond_stock_is_refused_and_nothing_written(self, stock, manager_client):
        before = ledger_counts()
        body = assert_error(post(manager_client, {"product_id": stock.nut.pk, "warehouse_id": stock.main.pk,
                                                  "movement_type": "out", "quantity": 6}), 422, "quantity")
        assert "Only 5 of NUT-1" in body["error"]
        assert ledger_counts() == before

    def test_out_at_a_warehouse_without_the_item_is_refused_without_leaving_an_empty_item(self, stock, manager_client):
        before = ledger_counts()
        assert_error(post(manager_client, {"product_id": stock.nut.pk, "warehouse_id": stock.shop.pk,
                                           "movement_type": "out", "quantity": 1}), 422, "quantity")
        assert ledger_counts() == before


class TestTransfer:
    def test_moves_stock_and_value_between_warehouses(self, stock, manager_client):
        services.receive(stock.bolt_main, 10, value_per_unit="3.00")  # MAIN: 50 @ 2.00 then 10 @ 3.00
        response = post(manager_client, {"product_id": stock.bolt.pk, "warehouse_id": stock.main.pk,
                                         "movement_type": "transfer", "quantity": 55,
                                         "destination_warehouse_id": stock.shop.pk,
                                         "reference_type": "transfer_order", "reference_id": "TO-1"})
        assert response.status_code == 201, response.content
        data = response.json()["data"]
        record = StockTransfer.objects.get()
        out_leg = StockMovement.objects.get(transfer=record, action=Action.TRANSFERRED_OUT)
        in_leg = StockMovement.objects.get(transfer=record, action=Action.TRANSFERRED_IN)
        # The response is the transferred_out leg, naming the transfer and both legs.
        assert (data["id"], data["action"], data["movement_type"]) == (out_leg.pk, "transferred_out", "transfer")
        assert (data["quantity"], data["balance_before"], data["balance_after"]) == (-55, 60, 5)
        assert data["transfer"] == {"id": record.pk, "number": record.number, "source_warehouse_id": stock.main.pk,
                                    "destination_warehouse_id": stock.shop.pk, "out_movement_id": out_leg.pk,
                                    "in_movement_id": in_leg.pk}
        assert (in_leg.resource_type, in_leg.resource_id) == ("transfer_order", "TO-1")
        # FIFO: 50 @ 2.00 + 5 @ 3.00 = 115.00 leaves MAIN and arrives at SHOP.
        main, shop = item_of(stock.bolt_main), item_of(stock.bolt_shop)
        assert (main.count_on_hand, main.value_in_stock) == (5, Decimal("15.00"))
        assert (shop.count_on_hand, shop.value_in_stock) == (63, Decimal("131.00"))
        assert out_leg.total_cost == in_leg.total_cost == Decimal("115.00")
        assert cost_layers(shop)[-2:] == [(50, 50, Decimal("2.0000")), (5, 5, Decimal("3.0000"))]

    def test_refused_transfer_writes_nothing_at_either_end(self, stock, manager_client):
        before = ledger_counts()
        assert_error(post(manager_client, {"product_id": stock.nut.pk, "warehouse_id": stock.main.pk,
                                           "movement_type": "transfer", "quantity": 6,
                                           "destination_warehouse_id": stock.shop.pk}), 422, "quantity")
        assert ledger_counts() == before
        assert not StockTransfer.objects.exists()

    def test_source_without_the_product(self, stock, manager_client):
        body = assert_error(post(manager_client, {"product_id": stock.nut.pk, "warehouse_id": stock.shop.pk,
                                                  "movement_type": "transfer", "quantity": 1,
                                                  "destination_warehouse_id": stock.main.pk}), 422, "product_id")
        assert "no stock at SHOP" in body["error"]

    def test_list_shows_both_legs_linked(self, stock, manager_client):
        post(manager_client, {"product_id": stock.bolt.pk, "warehouse_id": stock.main.pk, "movement_type": "transfer",
                              "quantity": 2, "destination_warehouse_id": stock.shop.pk})
        rows = manager_client.get(URL, {"movement_type": "transfer"}).json()["data"]
        assert [r["action"] for r in rows] == ["transferred_in", "transferred_out"]
        assert rows[0]["transfer"] == rows[1]["transfer"]
        assert rows[0]["transfer"]["in_movement_id"] == rows[0]["id"]


class TestValidation:
    BASE_BODY = {"movement_type": "in", "quantity": 1}

    @pytest.mark.parametrize("changes, fields", [
        ({"product_id": None}, ["product_id"]),
        ({"product_id": 424242}, ["product_id"]),
        ({"warehouse_id": 424242}, ["warehouse_id"]),
        ({"movement_type": "teleport"}, ["movement_type"]),
        ({"quantity": 0}, ["quantity"]),
        ({"quantity": -3}, ["quantity"]),
        ({"quantity": 1.5}, ["quantity"]),
        ({"quantity": "ten"}, ["quantity"]),
        ({"quantity": 10**12}, ["quantity"]),
        ({"cost_per_unit": "-1"}, ["cost_per_unit"]),
        ({"cost_per_unit": "abc"}, ["cost_per_unit"]),
        ({"movement_type": "out", "cost_per_unit": "2.00"}, ["cost_per_unit"]),
        ({"movement_type": "transfer"}, ["destination_warehouse_id"]),
        ({"movement_type": "transfer", "destination_warehouse_id": "same"}, ["destination_warehouse_id"]),
        ({"movement_type": "transfer", "destination_warehouse_id": 424242}, ["destination_warehouse_id"]),
        ({"destination_warehouse_id": "other"}, ["destination_warehouse_id"]),
        ({"reference_id": "x" * 65}, ["reference_id"]),
        ({"movement_date": "yesterday"}, ["movement_date"]),
        ({"movement_date": "2999-01-01T00:00:00Z"}, ["movement_date"]),
    ])
    def test_bad_input_is_422_naming_the_field(self, stock, manager_client, changes, fields):
        body = {"product_id": stock.bolt.pk, "warehouse_id": stock.main.pk, **self.BASE_BODY, **changes}
        if body.get("destination_warehouse_id") == "same":
            body["destination_warehouse_id"] = stock.main.pk
        if body.get("destination_warehouse_id") == "other":
            body["destination_warehouse_id"] = stock.shop.pk
        body = {k: v for k, v in body.items() if v is not None}
        before = ledger_counts()
        assert_error(post(manager_client, body), 422, *fields)
        assert ledger_counts() == before

    def test_missing_fields_all_reported(self, stock, manager_client):
        body = assert_error(post(manager_client, {}), 422, "product_id", "warehouse_id", "movement_type", "quantity")
        assert body["error"].startswith("product_id: This field is required.")

    def test_body_must_be_an_object(self, stock, manager_client):
        assert_error(post(manager_client, [1, 2]), 422, "body")

    def test_malformed_json_is_400(self, stock, manager_client):
        before = ledger_counts()
        assert_error(manager_client.post(URL, '{"quantity": 1,', content_type="application/json"), 400)
        assert ledger_counts() == before

    def test_form_encoding_is_refused(self, stock, manager_client):
        assert_error(manager_client.post(URL, {"quantity": 1}), 415)


class TestIdempotency:
    def body(self, stock):
        return {"product_id": stock.bolt.pk, "warehouse_id": stock.main.pk, "movement_type": "out", "quantity": 2}

    def test_same_key_twice_writes_once(self, stock, manager_client):
        first = post(manager_client, self.body(stock), HTTP_IDEMPOTENCY_KEY="sale-1")
        again = post(manager_client, self.body(stock), HTTP_IDEMPOTENCY_KEY="sale-1")
        assert first.status_code == again.status_code == 201
        assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
        assert item_of(stock.bolt_main).count_on_hand == 48
        assert StockMovement.objects.filter(action=Action.SOLD).count() == 1

    def test_same_key_other_body_is_refused(self, stock, manager_client):
        post(manager_client, self.body(stock), HTTP_IDEMPOTENCY_KEY="sale-2")
        before = ledger_counts()
        assert_error(post(manager_client, {**self.body(stock), "quantity": 3}, HTTP_IDEMPOTENCY_KEY="sale-2"), 422,
                     "idempotency_key")
        assert ledger_counts() == before

    def test_transfer_replay(self, stock, manager_client):
        body = {"product_id": stock.bolt.pk, "warehouse_id": stock.main.pk, "movement_type": "transfer",
                "quantity": 4, "destination_warehouse_id": stock.shop.pk}
        first = post(manager_client, body, HTTP_IDEMPOTENCY_KEY="t-1")
        second = post(manager_client, body, HTTP_IDEMPOTENCY_KEY="t-1")
        assert second.json() == first.json()
        assert StockTransfer.objects.count() == 1 and item_of(stock.bolt_shop).count_on_hand == 12

    def test_refusal_is_not_remembered(self, stock, manager_client):
        body = {**self.body(stock), "quantity": 51}
        assert_error(post(manager_client, body, HTTP_IDEMPOTENCY_KEY="big"), 422)
        services.receive(stock.bolt_main, 10)
        assert post(manager_client, body, HTTP_IDEMPOTENCY_KEY="big").status_code == 201
        assert IdempotencyRecord.objects.filter(key="big").count() == 1


class TestHistory:
    @pytest.fixture
    def history(self, stock):
        now = timezone.now()
        alice = UserFactory(username="alice", first_name="Alice", last_name="Stone")
        services.sell(stock.bolt_main, 5, user=alice, movement_date=now - timedelta(days=10),
                      cause=services.Cause(resource_type="order", resource_id="R1"))
        services.adjust(stock.nut_main, -1, movement_date=now - timedelta(days=5))
        services.return_items(stock.bolt_shop, 2, movement_date=now - timedelta(days=1))
        services.set_count(stock.bolt_main, 40)
        return now

    def ids(self, client, **params):
        response = client.get(URL, params)
        assert response.status_code == 200, response.content
        return [(row["product"]["sku"], row["action"], row["quantity"]) for row in response.json()["data"]]

    def test_newest_first_with_balances_and_author(self, history, stock, viewer_client):
        rows = viewer_client.get(URL, {"product_id": stock.bolt.pk, "warehouse_id": stock.main.pk}).json()["data"]
        assert [(r["action"], r["quantity"], r["balance_before"], r["balance_after"]) for r in rows] == [
            ("counted", -5, 45, 40), ("sold", -5, 50, 45), ("received", 50, 0, 50)]
        sold = rows[1]
        assert sold["created_by"]["name"] == "Alice Stone" and rows[0]["created_by"] is None
        assert (sold["reference_type"], sold["reference_id"]) == ("order", "R1")
        assert sold["movement_type"] == "out" and rows[0]["movement_type"] == "adjustment"

    def test_filter_by_product(self, history, stock, viewer_client):
        assert {sku for sku, _, _ in self.ids(viewer_client, product_id=stock.nut.pk)} == {"NUT-1"}

    def test_filter_by_warehouse(self, history, stock, viewer_client):
        assert self.ids(viewer_client, warehouse_id=stock.shop.pk) == [("BOLT-1", "returned", 2),
                                                                        ("BOLT-1", "received", 8)]

    @pytest.mark.parametrize("kind, actions", [
        ("in", {"received", "returned"}), ("out", {"sold"}), ("adjustment", {"adjusted", "counted"}),
        ("transfer", set()), ("counted", {"counted"}), ("returned", {"returned"}),
    ])
    def test_filter_by_movement_type(self, history, viewer_client, kind, actions):
        assert {action for _, action, _ in self.ids(viewer_client, movement_type=kind)} == actions

    def test_filter_by_date_range(self, history, viewer_client):
        now = history
        assert self.ids(viewer_client, start_date=(now - timedelta(days=6)).isoformat(),
                        end_date=(now - timedelta(hours=1)).isoformat()) == [("BOLT-1", "returned", 2),
                                                                             ("NUT-1", "adjusted", -1)]
        # A plain date is the whole day, inclusive.
        day = (now - timedelta(days=10)).date().isoformat()
        assert self.ids(viewer_client, start_date=day, end_date=day) == [("BOLT-1", "sold", -5)]
        assert len(self.ids(viewer_client, start_date=(now - timedelta(days=2)).date().isoformat())) == 2

    def test_filter_by_reference(self, history, viewer_client):
        assert self.ids(viewer_client, reference_type="order", reference_id="R1") == [("BOLT-1", "sold", -5)]

    def test_pagination(self, history, viewer_client):
        body = viewer_client.get(URL, {"limit": 4, "page": 2}).json()
        assert body["meta"] == {"total": 7, "page": 2, "limit": 4, "hasMore": False}
        assert len(body["data"]) == 3

    @pytest.mark.parametrize("params, field", [
        ({"movement_type": "teleport"}, "movement_type"),
        ({"start_date": "last week"}, "start_date"),
        ({"end_date": "2024-02-30"}, "end_date"),
        ({"warehouse_id": "424242"}, "warehouse_id"),
        ({"product_id": "x"}, "product_id"),
        ({"page": "0"}, "page"),
    ])
    def test_bad_filters(self, history, viewer_client, params, field):
        assert_error(viewer_client.get(URL, params), 422, field)

    def test_constant_number_of_queries(self, stock, viewer_client, django_assert_max_num_queries):
        services.transfer(stock.main, stock.shop, [(stock.bolt, 1)])
        viewer_client.get(URL)
        with django_assert_max_num_queries(6) as few:
            viewer_client.get(URL)
        user = UserFactory()
        other = StockLocationFactory()
        for n in range(10):
            services.sell(stock.bolt_main, 1, user=user)
            services.transfer(stock.main, other, [(stock.bolt, 1)], user=UserFactory())
            StockItemFactory(stock_location=other, count_on_hand=n + 1)
        with django_assert_max_num_queries(len(few.captured_queries)):
            body = viewer_client.get(URL, {"limit": 100}).json()
        assert len(body["data"]) == body["meta"]["total"] == 45
        assert all(r["transfer"]["in_movement_id"] for r in body["data"] if r["action"] == "transferred_out")
