"""GET /api/v1/inventory_movements: shape, order, every filter, paging and strict query parameters."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers

from inventory import services
from inventory.api.ledger.filters import FEED_MAX_LIMIT
from inventory.api.ledger.serializers import FeedMovementSerializer
from inventory.selectors import feed
from tests.api.ledger.conftest import FEED, clock, data_ids, day
from tests.factories import StockItemFactory, StockLocationFactory, VariantFactory

pytestmark = pytest.mark.django_db


def test_newest_recorded_first_with_every_field(viewer_client, ledger):
    response = viewer_client.get(FEED)
    assert response.status_code == 200
    assert data_ids(response) == ledger.newest_first()
    sale = next(row for row in response.json()["data"] if row["id"] == ledger.sale.pk)
    assert sale == {
        "id": ledger.sale.pk,
        "variant_id": ledger.bolt.pk,
        "location_id": ledger.main.pk,
        "resource_type": "SalesOrder",
        "resource_id": "7",
        "caused_by_order_no": "SO-7",
        "caused_by_resource_id": "70",
        "movement_date": "2025-01-12T10:00:00Z",
        "quantity_change": -60,
        "balance_after": 20,
        "value_per_unit": 15.8333,
        "value_in_stock_after": 400.0,
        "average_cost_after": 20.0,
        "rank": 3,
        "created_at": "2025-01-12T10:00:00Z",
        "updated_at": "2025-01-12T10:00:00Z",
    }
    # Money goes out as JSON numbers, not strings.
    assert b'"value_in_stock_after":400.0' in response.content


def test_rows_have_exactly_the_documented_fields(viewer_client, ledger):
    rows = viewer_client.get(FEED).json()["data"]
    documented = set(FeedMovementSerializer().fields)
    assert all(set(row) == documented for row in rows)


def test_rows_render_as_drfs_walk_over_the_columns(ledger):
    """The compiled row function (`ColumnSerializer.renderer`) gives, key order included, what DRF's own
    walk over the declared columns gives."""
    serializer = FeedMovementSerializer()
    rows = list(feed.feed_rows().order_by(*feed.FEED_ORDER))
    assert rows
    for row in rows:
        walked = serializers.Serializer.to_representation(serializer, row)
        assert list(serializer.to_representation(row).items()) == list(walked.items())


def test_blank_causes_are_null(viewer_client, ledger):
    row = viewer_client.get(FEED, {"ids": ledger.nut_receipt.pk}).json()["data"][0]
    assert (row["resource_type"], row["resource_id"], row["caused_by_order_no"], row["caused_by_resource_id"]) == (
        None, None, None, None)


def test_ties_on_created_at_are_broken_by_id(viewer_client, ledger):
    assert ledger.transfer_out.created_at == ledger.transfer_in.created_at
    ids = data_ids(viewer_client.get(FEED))
    legs = sorted([ledger.transfer_out.pk, ledger.transfer_in.pk], reverse=True)
    assert [i for i in ids if i in legs] == legs


def test_backdated_movement_is_listed_by_when_it_was_recorded(viewer_client, ledger):
    with clock(day(10)):
        late = services.adjust(ledger.bolt_main, 1, movement_date=day(0, hours=1))
    assert data_ids(viewer_client.get(FEED))[0] == late.pk
    assert late.rank == 2  # ...while its ledger position follows movement_date


# --- array filters ------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["repeated", "comma", "brackets", "mixed"])
def test_ids_in_every_array_form(viewer_client, ledger, form):
    a, b, c = ledger.receipt_50.pk, ledger.sale.pk, ledger.nut_damage.pk
    query = {
        "repeated": f"ids={a}&ids={b}&ids={c}",
        "comma": f"ids={a},{b},{c}",
        "brackets": f"ids[]={a}&ids[]={b}&ids[]={c}",
        "mixed": f"ids={a}, {b}&ids[]={c}",
    }[form]
    assert data_ids(viewer_client.get(f"{FEED}?{query}")) == [c, b, a]


@pytest.mark.parametrize("form", ["repeated", "comma", "brackets"])
def test_variant_ids_in_every_array_form(viewer_client, ledger, form):
    extra = VariantFactory()
    query = {
        "repeated": f"variant_ids={ledger.nut.pk}&variant_ids={extra.pk}",
        "comma": f"variant_ids={ledger.nut.pk},{extra.pk}",
        "brackets": f"variant_ids[]={ledger.nut.pk}&variant_ids[]={extra.pk}",
    }[form]
    assert data_ids(viewer_client.get(f"{FEED}?{query}")) == [ledger.nut_damage.pk, ledger.nut_receipt.pk]


def test_variant_ids_span_locations(viewer_client, ledger):
    ids = data_ids(viewer_client.get(FEED, {"variant_ids": ledger.bolt.pk}))
    assert ids == [ledger.transfer_in.pk, ledger.transfer_out.pk, ledger.sale.pk, ledger.receipt_30.pk,
                   ledger.receipt_50.pk]


def test_ids_that_match_nothing_give_an_empty_page(viewer_client, ledger):
    assert data_ids(viewer_client.get(FEED, {"ids": "999999"})) == []


# --- scalar filters ------------------------------------------------------------------------------


def test_location_id(viewer_client, ledger):
    ids = data_ids(viewer_client.get(FEED, {"location_id": ledger.shop.pk}))
    assert ids == [ledger.nut_damage.pk, ledger.transfer_in.pk, ledger.nut_receipt.pk]


def test_location_and_variant_together(viewer_client, ledger):
    ids = data_ids(viewer_client.get(FEED, {"location_id": ledger.shop.pk, "variant_ids": ledger.bolt.pk}))
    assert ids == [ledger.transfer_in.pk]


@pytest.mark.parametrize(("param", "value", "expected"), [
    ("resource_type", "PurchaseOrder", ["receipt_30", "receipt_50"]),
    ("resource_type", "StockTransfer", ["transfer_in", "transfer_out"]),
    ("resource_id", "101", ["receipt_50"]),
    ("caused_by_order_no", "SO-7", ["sale"]),
    ("caused_by_resource_id", "1002", ["receipt_30"]),
    ("resource_type", "purchaseorder", []),  # exact, case-sensitive match
])
def test_cause_filters(viewer_client, ledger, param, value, expected):
    ids = data_ids(viewer_client.get(FEED, {param: value}))
    assert ids == [getattr(ledger, name).pk for name in expected]


def test_filters_combine(viewer_client, ledger):
    ids = data_ids(viewer_client.get(FEED, {"resource_type": "PurchaseOrder", "caused_by_order_no": "PO-2"}))
    assert ids == [ledger.receipt_30.pk]


def test_blank_values_are_not_filters(viewer_client, ledger):
    ids = data_ids(viewer_client.get(f"{FEED}?ids=&location_id=&resource_type=&created_at_min="))
    assert ids == ledger.newest_first()


# --- date ranges ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("query", "expected"), [
    ("created_at_min=2025-01-12T10:00:00Z", ["nut_damage", "transfer_in", "transfer_out", "nut_receipt", "sale"]),
    ("created_at_max=2025-01-11T10:00:00Z", ["receipt_30", "receipt_50"]),  # inclusive
    ("created_at_min=2025-01-11T10:00:00Z&created_at_max=2025-01-12T10:00:00Z", ["sale", "receipt_30"]),
    ("created_at_min=2025-01-12T10:00:00.000001Z", ["nut_damage", "transfer_in", "transfer_out", "nut_receipt"]),
    # Offsets: 12:00+02:00 is 10:00Z; an unencoded "+" arrives as a space and is understood.
    ("created_at_max=2025-01-11T12:00:00%2B02:00", ["receipt_30", "receipt_50"]),
    ("created_at_max=2025-01-11T12:00:00+02:00", ["receipt_30", "receipt_50"]),
    ("created_at_max=2025-01-11T05:00:00-05:00", ["receipt_30", "receipt_50"]),
    # No offset: UTC.
    ("created_at_max=2025-01-11T10:00:00", ["receipt_30", "receipt_50"]),
    ("created_at_max=2025-01-11 09:59:59", ["receipt_50"]),
    # A date alone: from its start, up to its end.
    ("created_at_min=2025-01-14", ["nut_damage", "transfer_in", "transfer_out"]),
    ("created_at_max=2025-01-11", ["receipt_30", "receipt_50"]),
    ("created_at_min=2025-01-11&created_at_max=2025-01-11", ["receipt_30"]),
    # RFC 3339's lower-case t and z.
    ("created_at_max=2025-01-11t10:00:00z", ["receipt_30", "receipt_50"]),
    # An empty window is empty, not an error.
    ("created_at_min=2025-01-12&created_at_max=2025-01-11", []),
    # The calendar's ends: an offset that would leave it means no bound on that side.
    ("created_at_min=0001-01-01T00:00:00%2B05:00&created_at_max=9999-12-31T23:00:00-05:00",
     ["nut_damage", "transfer_in", "transfer_out", "nut_receipt", "sale", "receipt_30", "receipt_50"]),
    ("created_at_max=9999-12-31", ["nut_damage", "transfer_in", "transfer_out", "nut_receipt", "sale",
                                   "receipt_30", "receipt_50"]),
    ("created_at_min=9999-12-31T23:00:00-05:00", []),
    ("created_at_max=0001-01-01T00:00:00%2B05:00", []),
])
def test_created_at_range(viewer_client, ledger, query, expected):
    assert data_ids(viewer_client.get(f"{FEED}?{query}")) == [getattr(ledger, name).pk for name in expected]


def test_updated_at_range_finds_edited_movements(viewer_client, ledger):
    with clock(day(20)):
        services.update_movement(ledger.receipt_30, notes="checked the delivery note")
    assert data_ids(viewer_client.get(FEED, {"updated_at_min": "2025-01-30"})) == [ledger.receipt_30.pk]
    assert ledger.receipt_30.pk not in data_ids(viewer_client.get(FEED, {"updated_at_max": "2025-01-29"}))
    assert data_ids(viewer_client.get(FEED, {"updated_at_min": "2025-01-30T10:00:00Z",
                                             "updated_at_max": "2025-01-30T10:00:00Z"})) == [ledger.receipt_30.pk]


# --- paging --------------------------------------------------------------------------------------


def test_limit_and_page_walk_the_feed_without_gaps(viewer_client, ledger):
    seen, page = [], 1
    while True:
        response = viewer_client.get(FEED, {"limit": 3, "page": page})
        meta = json.loads(response["X-Pagination"])
        ids = data_ids(response)
        assert meta == {"page": page, "limit": 3, "offset": (page - 1) * 3, "first_page": page == 1,
                        "last_page": page == 3}
        seen += ids
        if meta["last_page"]:
            break
        page += 1
    assert seen == ledger.newest_first()


def test_default_limit_is_50(viewer_client, ledger):
    response = viewer_client.get(FEED)
    assert json.loads(response["X-Pagination"])["limit"] == 50


def test_limit_above_max_is_capped(viewer_client, ledger):
    response = viewer_client.get(FEED, {"limit": 100000})
    assert response.status_code == 200
    assert json.loads(response["X-Pagination"])["limit"] == FEED_MAX_LIMIT
    assert data_ids(response) == ledger.newest_first()


def test_page_past_the_end_is_empty(viewer_client, ledger):
    response = viewer_client.get(FEED, {"page": 99})
    assert data_ids(response) == []
    assert json.loads(response["X-Pagination"])["last_page"] is True


def test_trailing_slash_is_accepted(viewer_client, ledger):
    assert data_ids(viewer_client.get(f"{FEED}/", {"ids": ledger.sale.pk})) == [ledger.sale.pk]


def test_format_json_is_not_an_unknown_parameter(viewer_client, ledger):
    assert viewer_client.get(FEED, {"format": "json"}).status_code == 200


# --- bad input: 422 in the Katana envelope -------------------------------------------------------


def assert_422(response, *params):
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["statusCode"] == 422
    assert body["name"] == "UnprocessableEntityError"
    assert f"'{params[0]}'" in body["message"]
    assert set(body["errors"]) == set(params)
    return body


@pytest.mark.parametrize(("query", "param"), [
    ("limit=0", "limit"),
    ("limit=-5", "limit"),
    ("limit=ten", "limit"),
    ("limit=2.5", "limit"),
    ("page=0", "page"),
    ("page=-1", "page"),
    ("page=abc", "page"),
    ("page=99999999999999999999999", "page"),
    ("ids=abc", "ids"),
    ("ids=1,two", "ids"),
    ("ids[]=0", "ids"),
    ("ids=99999999999999999999", "ids"),
    ("variant_ids=-3", "variant_ids"),
    ("variant_ids=" + ",".join(str(n) for n in range(1, 252)), "variant_ids"),
    ("location_id=x", "location_id"),
    ("location_id=0", "location_id"),
    ("location_id=1&location_id=2", "location_id"),
    ("limit=1&limit=2", "limit"),
    ("created_at_min=yesterday", "created_at_min"),
    ("created_at_max=2025-13-01", "created_at_max"),
    ("created_at_min=2025-02-30T10:00:00Z", "created_at_min"),
    ("updated_at_min=2025-01-01T25:00:00", "updated_at_min"),
    ("updated_at_max=1736500000", "updated_at_max"),
    ("resource_type=Sales%00Order", "resource_type"),
])
def test_bad_parameter_is_422_naming_it(viewer_client, ledger, query, param):
    assert_422(viewer_client.get(f"{FEED}?{query}"), param)


def test_unknown_parameter_is_422_never_ignored(viewer_client, ledger):
    body = assert_422(viewer_client.get(FEED, {"variant_id": ledger.bolt.pk}), "variant_id")
    assert body["errors"]["variant_id"] == ["is not a known query parameter."]


def test_every_bad_parameter_is_reported_at_once(viewer_client, ledger):
    body = assert_422(viewer_client.get(f"{FEED}?sort=id&limit=0&created_at_min=soon"),
                      "sort", "limit", "created_at_min")
    assert "; also invalid: 'created_at_min', 'limit'." in body["message"]


def test_bad_input_writes_nothing(viewer_client, ledger):
    from inventory.models import StockMovement

    before = StockMovement.objects.count()
    viewer_client.get(FEED, {"limit": -1})
    assert StockMovement.objects.count() == before


# --- cost ----------------------------------------------------------------------------------------


def test_constant_number_of_queries(viewer_client, ledger, django_assert_max_num_queries):
    viewer_client.get(FEED)  # the key's last_used is stamped once; later requests don't write it
    with CaptureQueriesContext(connection) as few:
        assert len(data_ids(viewer_client.get(FEED))) == 7
    other = StockLocationFactory()
    for n in range(12):
        item = StockItemFactory(stock_location=other, variant=VariantFactory())
        services.receive(item, n + 1, value_per_unit="2.50")
        services.sell(item, 1)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(data_ids(viewer_client.get(FEED, {"limit": 250}))) == 7 + 24
    with django_assert_max_num_queries(len(few.captured_queries)):
        viewer_client.get(FEED, {"variant_ids": ",".join(str(pk) for pk in range(1, 40)),
                                 "created_at_min": "2020-01-01", "location_id": other.pk})
