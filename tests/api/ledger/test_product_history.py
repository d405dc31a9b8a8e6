"""GET /api/v1/movements/product/{variant_id}: ENTRY / EXIT / ADJUSTMENT with FIFO batch references."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import services
from inventory.api.ledger.serializers import HistoryEntrySerializer
from inventory.models import CostLayer, StockMovement, Variant
from tests.api.ledger.conftest import clock, day, history_url
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory

pytestmark = pytest.mark.django_db


def batches(movement: StockMovement) -> list[int]:
    return list(CostLayer.objects.filter(movement=movement).order_by("id").values_list("id", flat=True))


def history(client, variant_id, **params) -> list[dict]:
    response = client.get(history_url(variant_id), params)
    assert response.status_code == 200, response.content
    return response.json()


def record_worked_example():
    """Receive 50 @ 15.00, receive 30 @ 20.00, sell 60."""
    item = StockItemFactory()
    first = services.receive(item, 50, value_per_unit="15.00")
    second = services.receive(item, 30, value_per_unit="20.00")
    sale = services.sell(item, 60, notes="order 7")
    return item, first, second, sale


@pytest.fixture
def worked_example(db):
    return record_worked_example()


def test_worked_example_fifo(viewer_client, worked_example):
    item, first, second, sale = worked_example
    (first_batch,), (second_batch,) = batches(first), batches(second)
    rows = history(viewer_client, item.variant_id)
    assert [row["id"] for row in rows] == [sale.pk, second.pk, first.pk]
    exit_row, second_row, first_row = rows
    assert exit_row == {
        "id": sale.pk,
        "product_id": item.variant_id,
        "type": "EXIT",
        "quantity": 60,
        "unit_price": "15.8333",
        "total_price": "950.00",
        "total_cost": "950.00",
        "reference_id": f"{first_batch},{second_batch}",
        "notes": "order 7",
        "created_at": exit_row["created_at"],
        "created_by": None,
    }
    assert first_row["type"] == second_row["type"] == "ENTRY"
    assert (first_row["quantity"], first_row["unit_price"], first_row["total_price"]) == (50, "15.0000", "750.00")
    assert (second_row["quantity"], second_row["unit_price"], second_row["total_price"]) == (30, "20.0000", "600.00")
    assert first_row["total_cost"] is None and second_row["total_cost"] is None
    assert first_row["reference_id"] == str(first_batch)
    assert second_row["reference_id"] == str(second_batch)


def test_worked_example_moving_average(viewer_client):
    with override_settings(STOCKROOM_VALUATION="average"):
        item, first, second, sale = record_worked_example()
        exit_row = history(viewer_client, item.variant_id)[0]
    assert exit_row["type"] == "EXIT"
    assert exit_row["total_cost"] == "1012.50"
    assert exit_row["unit_price"] == "16.8750"
    assert exit_row["total_price"] == "1012.50"
    # Batches are tracked under either method: the sale still names the ones it drew from.
    assert exit_row["reference_id"] == ",".join(str(b) for b in batches(first) + batches(second))


def test_rows_have_exactly_the_documented_fields(viewer_client, worked_example):
    item = worked_example[0]
    documented = set(HistoryEntrySerializer().fields)
    assert all(set(row) == documented for row in history(viewer_client, item.variant_id))


def test_created_at_and_created_by(viewer_client, ledger):
    rows = {row["id"]: row for row in history(viewer_client, ledger.bolt.pk)}
    assert rows[ledger.sale.pk]["created_by"] == "Ana Silva"
    assert rows[ledger.sale.pk]["created_at"] == "2025-01-12T10:00:00Z"
    assert rows[ledger.receipt_50.pk]["created_by"] is None
    assert rows[ledger.receipt_50.pk]["notes"] == "first batch"


def test_every_location_newest_first_with_transfer_legs(viewer_client, ledger):
    rows = history(viewer_client, ledger.bolt.pk)
    # Both legs share a movement_date; the higher id (the inbound leg) is newer.
    assert [(row["id"], row["type"]) for row in rows] == [
        (ledger.transfer_in.pk, "ENTRY"),
        (ledger.transfer_out.pk, "EXIT"),
        (ledger.sale.pk, "EXIT"),
        (ledger.receipt_30.pk, "ENTRY"),
        (ledger.receipt_50.pk, "ENTRY"),
    ]
    transfer_out, transfer_in = rows[1], rows[0]
    # The 20 left at MAIN are all from the 20.00 batch; the transfer takes 10 of them, at cost.
    assert transfer_out["quantity"] == 10
    assert transfer_out["total_cost"] == "200.00"
    assert transfer_out["reference_id"] == ",".join(map(str, batches(ledger.receipt_30)))
    assert transfer_in["reference_id"] == ",".join(map(str, batches(ledger.transfer_in)))
    assert (transfer_in["unit_price"], transfer_in["total_price"], transfer_in["total_cost"]) == (
        "20.0000", "200.00", None)


def test_transfer_in_from_several_batches_names_each_batch(viewer_client):
    source, destination = StockLocationFactory(), StockLocationFactory()
    variant = VariantFactory()
    item = StockItemFactory(stock_location=source, variant=variant)
    services.receive(item, 5, value_per_unit="10.00")
    services.receive(item, 5, value_per_unit="12.00")
    services.transfer(source, destination, [(variant, 8)])
    transfer_in = StockMovement.objects.get(stock_item__stock_location=destination)
    created = batches(transfer_in)
    assert len(created) == 2
    row = history(viewer_client, variant.pk, location_id=destination.pk)[0]
    assert (row["type"], row["reference_id"]) == ("ENTRY", f"{created[0]},{created[1]}")
    assert (row["quantity"], row["unit_price"], row["total_price"]) == (8, "10.7500", "86.00")


def test_adjustments_keep_their_sign_and_have_no_total_cost(viewer_client, ledger):
    services.set_count(ledger.nut_shop, 10)
    rows = history(viewer_client, ledger.nut.pk)
    counted, damaged, received = rows
    assert (counted["type"], counted["quantity"], counted["total_cost"]) == ("ADJUSTMENT", 7, None)
    assert (damaged["type"], damaged["quantity"], damaged["total_cost"]) == ("ADJUSTMENT", -2, None)
    assert (damaged["unit_price"], damaged["total_price"], damaged["notes"]) == ("3.0000", "6.00", "dropped")
    assert damaged["reference_id"] == ",".join(map(str, batches(ledger.nut_receipt)))
    assert received["type"] == "ENTRY"


def test_returns_are_entries(viewer_client, worked_example):
    item = worked_example[0]
    returned = services.return_items(item, 2, value_per_unit="15.00")
    row = history(viewer_client, item.variant_id)[0]
    assert (row["id"], row["type"], row["quantity"], row["reference_id"]) == (
        returned.pk, "ENTRY", 2, str(batches(returned)[0]))


def test_selling_short_names_the_shortfall_batch_and_the_receipt_that_settles_it(viewer_client):
    item = StockItemFactory(backorderable=True)
    services.receive(item, 2, value_per_unit="5.00")
    sale = services.sell(item, 5)
    receipt = services.receive(item, 10, value_per_unit="6.00")
    [shortfall] = CostLayer.objects.filter(movement=sale).values_list("id", flat=True)
    [new_batch] = batches(receipt)
    rows = history(viewer_client, item.variant_id)
    assert rows[1]["id"] == sale.pk
    assert rows[1]["reference_id"].split(",")[-1] == str(shortfall)
    assert rows[1]["total_cost"] == "25.00"
    assert rows[0]["reference_id"] == f"{shortfall},{new_batch}"


def test_location_filter_limit_and_page(viewer_client, ledger):
    assert [row["id"] for row in history(viewer_client, ledger.bolt.pk, location_id=ledger.shop.pk)] == [
        ledger.transfer_in.pk]
    response = viewer_client.get(history_url(ledger.bolt.pk), {"limit": 2, "page": 2})
    assert [row["id"] for row in response.json()] == [ledger.sale.pk, ledger.receipt_30.pk]
    assert json.loads(response["X-Pagination"]) == {"page": 2, "limit": 2, "offset": 2, "first_page": False,
                                                    "last_page": False}
    capped = viewer_client.get(history_url(ledger.bolt.pk), {"limit": 5000})
    assert json.loads(capped["X-Pagination"])["limit"] == 1000


def test_backdated_movement_sits_at_its_date(viewer_client, ledger):
    with clock(day(10)):
        late = services.adjust(ledger.bolt_main, 1, movement_date=day(1, hours=1))
    ids = [row["id"] for row in history(viewer_client, ledger.bolt.pk)]
    assert ids.index(late.pk) == ids.index(ledger.receipt_30.pk) - 1


def test_a_product_without_movements_has_an_empty_history(viewer_client):
    assert history(viewer_client, VariantFactory().pk) == []


def test_soft_deleted_variant_keeps_its_history(viewer_client, worked_example):
    item = worked_example[0]
    Variant.objects.filter(pk=item.variant_id).update(deleted_at=timezone.now())
    assert len(history(viewer_client, item.variant_id)) == 3


@pytest.mark.parametrize("variant_id", ["999999", "abc", "1.5", "-1", "0", "99999999999999999999999"])
def test_unknown_product_is_404(viewer_client, ledger, variant_id):
    response = viewer_client.get(history_url(variant_id))
    assert response.status_code == 404
    assert response.json() == {"error": "Product not found"}


@pytest.mark.parametrize(("query", "param"), [
    ("location_id=abc", "location_id"),
    ("limit=0", "limit"),
    ("limit=-2", "limit"),
    ("page=none", "page"),
    ("type=EXIT", "type"),
])
def test_bad_parameter_is_422_with_details(viewer_client, ledger, query, param):
    response = viewer_client.get(f"{history_url(ledger.bolt.pk)}?{query}")
    assert response.status_code == 422
    body = response.json()
    assert set(body) == {"error", "details"}
    assert f"'{param}'" in body["error"]
    assert list(body["details"]) == [param]


def test_trailing_slash_is_accepted(viewer_client, ledger):
    assert viewer_client.get(history_url(ledger.nut.pk) + "/").status_code == 200


def test_constant_number_of_queries(viewer_client, ledger, django_assert_max_num_queries):
    viewer_client.get(history_url(ledger.nut.pk))
    with CaptureQueriesContext(connection) as few:
        assert len(history(viewer_client, ledger.nut.pk)) == 2
    for n in range(15):
        services.receive(ledger.bolt_main, n + 1, value_per_unit=f"{n + 10}.00", user=ledger.clerk)
        services.sell(ledger.bolt_main, n + 1, user=ledger.clerk)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(history(viewer_client, ledger.bolt.pk)) == 5 + 30
