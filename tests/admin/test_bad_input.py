"""Malformed ids, parameters and form values in the admin get an error page or a message, never a 500
(issue 12 item 9 and its siblings)."""

from __future__ import annotations

import pytest

from accounts.models import Role
from inventory.models import Product, StockItem, StockMovement, Variant
from tests.admin.helpers import admin_url, messages_of

pytestmark = pytest.mark.django_db

BAD_IDS = ["abc", "1.5", "-", "99999999999999999999"]


@pytest.fixture
def admin_client(staff_client):
    return staff_client(Role.ADMIN)


@pytest.mark.parametrize("bad", BAD_IDS)
def test_add_movement_with_a_bad_stock_item_is_a_form_error(admin_client, ledger, bad):
    response = admin_client.post(admin_url(StockMovement, "add"),
                                 {"stock_item": bad, "action": "receive", "quantity": "1"})
    assert response.status_code == 200
    assert "stock_item" in response.context["adminform"].form.errors


@pytest.mark.parametrize(("model", "field", "extra"), [
    (StockItem, "variant", {"stock_location": "1", "backorders": "unknown", "opening_count": "0",
                            "reorder_point": "0"}),
    (Variant, "product", {"sku": "X-1", "price": "1"}),
])
def test_other_autocomplete_fields_with_a_bad_id_are_form_errors(admin_client, ledger, model, field, extra):
    response = admin_client.post(admin_url(model, "add"), {field: "abc", **extra})
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors


@pytest.mark.parametrize("bad", BAD_IDS)
@pytest.mark.parametrize("view", ["change", "history", "delete"])
def test_bad_object_ids_in_admin_urls_redirect_with_a_message(admin_client, ledger, bad, view):
    response = admin_client.get(admin_url(StockMovement, view, bad))
    assert response.status_code == 302
    assert "doesn’t exist" in " ".join(messages_of(response)) or "exist" in " ".join(messages_of(response))


@pytest.mark.parametrize("bad", BAD_IDS)
def test_an_action_on_a_malformed_selection_does_nothing_with_a_message(admin_client, ledger, bad):
    item = ledger["items"][0]
    response = admin_client.post(admin_url(StockItem, "changelist"),
                                 {"action": "receive_stock", "_selected_action": [str(item.pk), bad]})
    assert response.status_code == 302
    assert "not valid" in " ".join(messages_of(response))


@pytest.mark.parametrize("query", [
    {"stock_item__id__exact": "abc"}, {"movement_date__gte": "zzz"}, {"p": "abc"}, {"o": "abc"},
    {"movement_date__year": "abc"}, {"movement_date__year": "2024", "movement_date__month": "13"},
    {"stock_location__id__exact": "99999999999999999999"},
])
def test_bad_changelist_parameters_are_not_server_errors(admin_client, ledger, query):
    response = admin_client.get(admin_url(StockMovement, "changelist"), query)
    assert response.status_code in (200, 302)


@pytest.mark.parametrize("query", [{"q": "a\x00b"}, {"action__exact": "so\x00ld"}])
def test_nul_in_changelist_parameters_is_a_bad_request(admin_client, ledger, query):
    assert admin_client.get(admin_url(StockMovement, "changelist"), query).status_code == 400


def test_nul_in_an_autocomplete_search_is_a_bad_request(admin_client, ledger):
    response = admin_client.get("/admin/autocomplete/", {
        "term": "a\x00b", "app_label": "inventory", "model_name": "stockmovement", "field_name": "stock_item"})
    assert response.status_code == 400


def test_nul_in_a_form_field_is_a_form_error(admin_client, ledger):
    response = admin_client.post(admin_url(Product, "add"), {"name": "a\x00b", "slug": "ab", "sku": "AB",
                                                             "price": "1"})
    assert response.status_code == 200
    assert response.context["adminform"].form.errors
