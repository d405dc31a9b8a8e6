"""Spree products, variants and stock locations: catalogue data, edited in place; deletions are soft or refused."""

from decimal import Decimal

import pytest

from inventory import services
from inventory.models import Product, StockItem, StockLocation, Variant
from tests.api.spree.conftest import API, assert_spree_422, counts
from tests.factories import ProductFactory, StockItemFactory, StockLocationFactory, VariantFactory

pytestmark = pytest.mark.django_db

PRODUCT_KEYS = {"id", "name", "description", "slug", "price", "display_price", "total_on_hand", "has_variants",
                "is_destroyed", "master", "variants", "created_at", "updated_at"}
LOCATION_KEYS = {"id", "name", "code", "active", "default", "backorderable_default", "propagate_all_variants",
                 # Spree's address fields (contract section 3, issue 13); the index nests country and state.
                 "address1", "address2", "city", "zipcode", "phone", "state_id", "state_name", "country_id",
                 "country", "state"}


# --- products ---------------------------------------------------------------------------------------------


def test_product_json(viewer_client, item, variant, shop):
    extra = VariantFactory(product=variant.product, sku="ROR-00012", price=Decimal("17.00"), options_text="Red")
    StockItemFactory(stock_location=shop, variant=extra, count_on_hand=4)
    body = viewer_client.get(f"{API}/products/{variant.product_id}").json()
    assert set(body) == PRODUCT_KEYS
    assert (body["name"], body["slug"], body["price"], body["display_price"]) == (
        "Ruby on Rails Tote", "ruby-on-rails-tote", "15.99", "$15.99")
    assert body["master"]["sku"] == "ROR-00011"
    assert [v["sku"] for v in body["variants"]] == ["ROR-00012"]
    assert (body["total_on_hand"], body["has_variants"], body["is_destroyed"]) == (24, True, False)


def test_product_by_slug(viewer_client, variant):
    response = viewer_client.get(f"{API}/products/ruby-on-rails-tote")
    assert response.status_code == 200
    assert response.json()["id"] == variant.product_id
    assert viewer_client.get(f"{API}/products/no-such-thing").status_code == 404
    assert viewer_client.get(f"{API}/products/{10**30}").status_code == 404
    superscript_one = viewer_client.get(f"{API}/products/%C2%B9")  # isdigit() but not int()
    assert superscript_one.status_code == 404


def test_create_product_with_its_master(admin_client_api, main):
    main.propagate_all_variants = True
    main.save()
    response = admin_client_api.post(f"{API}/products", {"product": {
        "name": "Spree Mug", "price": "12.5", "sku": "MUG-1", "description": "A mug", "cost_price": "4.25",
    }}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["slug"], body["price"], body["master"]["sku"], body["master"]["cost_price"]) == (
        "spree-mug", "12.50", "MUG-1", "4.25")
    variant = Variant.objects.get(sku="MUG-1")
    assert variant.is_master
    assert StockItem.objects.filter(variant=variant, stock_location=main).exists()  # propagated
    again = admin_client_api.post(f"{API}/products", {"product": {"name": "Spree Mug", "price": 1, "sku": "MUG-2"}},
                                  format="json")
    assert again.json()["slug"] == "spree-mug-2"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"price": 1, "sku": "X-1"}, "name"),
        ({"name": "A", "sku": "X-1"}, "price"),
        ({"name": "A", "price": 1}, "sku"),
        ({"name": "A", "price": -1, "sku": "X-1"}, "price"),
        ({"name": "A", "price": "cheap", "sku": "X-1"}, "price"),
        ({"name": "A", "price": 10**30, "sku": "X-1"}, "price"),
        ({"name": "A", "price": 1, "sku": "ROR-00011"}, "sku"),
        ({"name": "A", "price": 1, "sku": "X-1", "slug": "ruby-on-rails-tote"}, "slug"),
        ({"name": "A", "price": 1, "sku": "X-1", "slug": "not a slug!"}, "slug"),
        ({"name": "A" * 300, "price": 1, "sku": "X-1"}, "name"),
    ],
)
def test_create_product_refusals(admin_client_api, variant, fields, field):
    before = counts()
    assert_spree_422(admin_client_api.post(f"{API}/products", {"product": fields}, format="json"), field)
    assert counts() == before


def test_managers_do_not_manage_the_catalogue(manager_client, variant):
    before = counts()
    assert manager_client.post(f"{API}/products", {"product": {"name": "A", "price": 1, "sku": "Z"}},
                               format="json").status_code == 403
    assert manager_client.put(f"{API}/products/{variant.product_id}", {"product": {"name": "B"}},
                              format="json").status_code == 403
    assert manager_client.delete(f"{API}/products/{variant.product_id}").status_code == 403
    assert manager_client.delete(f"{API}/variants/{variant.pk}").status_code == 403
    assert counts() == before


def test_update_product_and_its_master(admin_client_api, variant):
    response = admin_client_api.put(f"{API}/products/{variant.product_id}", {"product": {
        "name": "Tote 2", "price": "19.99", "sku": "ROR-00011",
    }}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["price"], body["master"]["name"]) == ("Tote 2", "19.99", "Tote 2")
    variant.refresh_from_db()
    assert variant.price == Decimal("19.99")


def test_update_product_refuses_a_taken_sku(admin_client_api, variant):
    other = VariantFactory(sku="TAKEN")
    before = counts()
    response = admin_client_api.patch(f"{API}/products/{variant.product_id}", {"product": {"sku": other.sku}},
                                      format="json")
    assert_spree_422(response, "sku")
    assert counts() == before


def test_delete_product_is_soft(admin_client_api, viewer_client, item, variant):
    product_id = variant.product_id
    assert admin_client_api.delete(f"{API}/products/{product_id}").status_code == 204
    product = Product.objects.get(pk=product_id)
    variant.refresh_from_db()
    assert product.deleted_at is not None and variant.deleted_at is not None
    assert item.movements.exists()  # the ledger stays
    assert viewer_client.get(f"{API}/products/{product_id}").status_code == 404
    assert viewer_client.get(f"{API}/products").json()["total_count"] == 0
    shown = viewer_client.get(f"{API}/products/{product_id}?show_deleted=true").json()
    assert shown["is_destroyed"] is True
    assert shown["master"]["is_destroyed"] is True
    assert viewer_client.get(f"{API}/products?show_deleted=1").json()["total_count"] == 1
    assert admin_client_api.delete(f"{API}/products/{product_id}").status_code == 404


def test_show_deleted_must_be_a_boolean(viewer_client, variant):
    assert_spree_422(viewer_client.get(f"{API}/products?show_deleted=perhaps"), "show_deleted")
    assert_spree_422(viewer_client.get(f"{API}/products/{variant.product_id}?show_deleted=perhaps"), "show_deleted")
    assert_spree_422(viewer_client.get(f"{API}/variants/{variant.pk}?show_deleted=perhaps"), "show_deleted")


# --- variants -----------------------------------------------------------------------------------------------


def test_product_variants_include_the_master(viewer_client, variant):
    VariantFactory(product=variant.product, sku="ROR-00012")
    body = viewer_client.get(f"{API}/products/{variant.product_id}/variants").json()
    assert sorted(v["sku"] for v in body["variants"]) == ["ROR-00011", "ROR-00012"]
    assert body["total_count"] == 2


def test_create_variant_defaults_to_the_master_price(admin_client_api, variant, main):
    response = admin_client_api.post(f"{API}/products/{variant.product_id}/variants",
                                     {"variant": {"sku": "ROR-00013", "options_text": "Size: L"}}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["sku"], body["price"], body["is_master"], body["options_text"]) == (
        "ROR-00013", "15.99", False, "Size: L")


@pytest.mark.parametrize(
    ("fields", "field"),
    [({}, "sku"), ({"sku": "ROR-00011"}, "sku"), ({"sku": "  "}, "sku"), ({"sku": "N", "weight": "heavy"}, "weight"),
     ({"sku": "N", "track_inventory": "sometimes"}, "track_inventory")],
)
def test_create_variant_refusals(admin_client_api, variant, fields, field):
    before = counts()
    response = admin_client_api.post(f"{API}/products/{variant.product_id}/variants", {"variant": fields},
                                     format="json")
    assert_spree_422(response, field)
    assert counts() == before


def test_update_and_delete_variant(admin_client_api, viewer_client, variant):
    other = VariantFactory(product=variant.product, sku="ROR-00012")
    response = admin_client_api.put(f"{API}/variants/{other.pk}", {"variant": {"price": "3", "depth": "2.5"}},
                                    format="json")
    assert response.status_code == 200
    assert (response.json()["price"], response.json()["depth"]) == ("3.00", "2.50")
    assert admin_client_api.delete(f"{API}/variants/{other.pk}").status_code == 204
    assert viewer_client.get(f"{API}/variants/{other.pk}").status_code == 404
    assert viewer_client.get(f"{API}/variants/{other.pk}?show_deleted=true").json()["is_destroyed"] is True
    assert Variant.objects.filter(pk=other.pk).exists()


def test_master_variant_goes_with_its_product(admin_client_api, variant):
    before = counts()
    assert_spree_422(admin_client_api.delete(f"{API}/variants/{variant.pk}"), "base")
    assert counts() == before


# --- stock locations --------------------------------------------------------------------------------------------


def test_locations_index_and_show(viewer_client, main, shop):
    body = viewer_client.get(f"{API}/stock_locations").json()
    assert [loc["code"] for loc in body["stock_locations"]] == ["SHOP", "MAIN"]  # newest first
    assert set(body["stock_locations"][0]) == LOCATION_KEYS
    assert viewer_client.get(f"{API}/stock_locations/{main.pk}").json()["name"] == "Main warehouse"


def test_create_location_propagates_and_keeps_one_default(admin_client_api, main, variant):
    main.default = True
    main.save()
    response = admin_client_api.post(f"{API}/stock_locations", {"stock_location": {
        "name": "Back room", "default": True,
    }}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["code"], body["default"], body["propagate_all_variants"]) == ("BACK-ROOM", True, True)
    assert StockItem.objects.filter(stock_location_id=body["id"], variant=variant).exists()
    main.refresh_from_db()
    assert main.default is False


@pytest.mark.parametrize(
    ("fields", "field"),
    [({}, "name"), ({"name": "X", "code": "MAIN"}, "code"), ({"name": "X", "active": "sometimes"}, "active"),
     ({"name": "X", "code": "C" * 40}, "code")],
)
def test_create_location_refusals(admin_client_api, main, fields, field):
    before = counts()
    assert_spree_422(admin_client_api.post(f"{API}/stock_locations", {"stock_location": fields}, format="json"),
                     field)
    assert counts() == before


def test_update_location_turning_on_propagation_stocks_every_variant(admin_client_api, main, variant):
    assert not StockItem.objects.filter(stock_location=main).exists()
    response = admin_client_api.put(f"{API}/stock_locations/{main.pk}", {"stock_location": {
        "name": "Main", "propagate_all_variants": True,
    }}, format="json")
    assert response.status_code == 200
    assert response.json()["name"] == "Main"
    assert StockItem.objects.filter(stock_location=main, variant=variant).exists()


def test_delete_location_with_history_is_refused(admin_client_api, main, item):
    before = counts()
    assert_spree_422(admin_client_api.delete(f"{API}/stock_locations/{main.pk}"), "base")
    assert counts() == before


def test_delete_an_unused_location(admin_client_api, variant):
    location = StockLocationFactory(propagate_all_variants=True)
    assert StockItem.objects.filter(stock_location=location).exists()
    assert admin_client_api.delete(f"{API}/stock_locations/{location.pk}").status_code == 204
    assert not StockLocation.objects.filter(pk=location.pk).exists()


def test_deleted_variants_still_show_in_history(viewer_client, main):
    product = ProductFactory()
    other = VariantFactory(product=product)
    item = StockItemFactory(stock_location=main, variant=other, count_on_hand=2)
    services.sell(item, 1)
    from inventory.services.catalog_edits import soft_delete_product

    soft_delete_product(product)
    body = viewer_client.get(f"{API}/stock_locations/{main.pk}/stock_items/{item.pk}").json()
    assert body["variant"]["is_destroyed"] is True
