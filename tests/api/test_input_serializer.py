"""Request bodies' serializers copy their declared fields per request (`InputSerializer`, shallowly): each
request's fields are its own, bound to it, and the class's declared fields are never bound or changed."""

from __future__ import annotations

from inventory.api.spree.inputs import SpreeStockMovementCreateSerializer, SpreeStockMovementUpdateSerializer


def test_each_request_gets_fields_of_its_own_bound_to_it():
    first = SpreeStockMovementCreateSerializer(data={"stock_item_id": 1, "quantity": 2})
    second = SpreeStockMovementCreateSerializer(data={"stock_item_id": 3, "quantity": "x"})
    assert first.is_valid() and not second.is_valid()
    assert first.validated_data["stock_item_id"] == 1 and "quantity" in second.errors
    for name, field in first.fields.items():
        assert field is not second.fields[name] and field.parent is first and field.field_name == name
        declared = SpreeStockMovementCreateSerializer._declared_fields[name]
        assert declared is not field and getattr(declared, "parent", None) is None


def test_an_update_twin_makes_its_copies_optional_without_touching_the_create_fields():
    update = SpreeStockMovementUpdateSerializer(data={}, context={})
    assert not any(field.required for field in update.fields.values())
    create = SpreeStockMovementCreateSerializer(data={})
    assert create.fields["quantity"].required and create.fields["stock_item_id"].required
    assert not create.is_valid() and {"quantity", "stock_item_id"} <= create.errors.keys()
