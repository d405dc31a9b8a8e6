"""Factories for every model. Anything that touches stock is created through `inventory.services`,
exactly as production code does: factories never write stock columns or movements directly."""

from __future__ import annotations

from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from accounts.models import ApiKey, Role, User
from inventory import services
from inventory.models import (
    Action,
    Allocation,
    CostLayer,
    IdempotencyRecord,
    Product,
    StockItem,
    StockLocation,
    StockMovement,
    StockTransfer,
    Variant,
)


class UserFactory(DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    role = Role.VIEWER
    password = factory.django.Password("password")


class ApiKeyFactory(DjangoModelFactory):
    """`ApiKeyFactory()` returns the ApiKey with the raw key on `.raw` (only known at creation)."""

    class Meta:
        model = ApiKey

    user = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, user, **kwargs):
        key, raw = ApiKey.issue(user, name=kwargs.get("name", ""))
        key.raw = raw
        return key


class ProductFactory(DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    description = "A product"


class VariantFactory(DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    price = Decimal("15.99")
    cost_price = None
    is_master = False

    @classmethod
    def _create(cls, model_class, product, **kwargs):
        return services.create_variant(product, **kwargs)


class StockLocationFactory(DjangoModelFactory):
    class Meta:
        model = StockLocation

    name = factory.Sequence(lambda n: f"Location {n}")
    code = factory.Sequence(lambda n: f"LOC{n}")
    propagate_all_variants = False
    backorderable_default = False

    @classmethod
    def _create(cls, model_class, **kwargs):
        return services.create_stock_location(**kwargs)


class StockItemFactory(DjangoModelFactory):
    """A stock item; `count_on_hand=N` is reached by a `received` movement (at `value_per_unit`)."""

    class Meta:
        model = StockItem

    stock_location = factory.SubFactory(StockLocationFactory)
    variant = factory.SubFactory(VariantFactory)
    backorderable = False

    @classmethod
    def _create(cls, model_class, stock_location, variant, count_on_hand=0, value_per_unit=None, **kwargs):
        item = StockItem.objects.filter(stock_location=stock_location, variant=variant).first()
        if item is None:
            item = services.create_stock_item(stock_location, variant, **kwargs)
        elif kwargs:
            StockItem.objects.filter(pk=item.pk).update(**kwargs)
        if count_on_hand:
            services.receive(item, count_on_hand, value_per_unit=value_per_unit)
        item.refresh_from_db()
        return item


class StockMovementFactory(DjangoModelFactory):
    """A movement recorded through `services.record_movement`."""

    class Meta:
        model = StockMovement

    stock_item = factory.SubFactory(StockItemFactory)
    quantity = 10
    action = Action.RECEIVED

    @classmethod
    def _create(cls, model_class, stock_item, quantity, action, user=None, **kwargs):
        return services.record_movement(services.MovementRequest(stock_item=stock_item, quantity=quantity,
                                                                 action=action, **kwargs), user=user)


class StockTransferFactory(DjangoModelFactory):
    """A transfer of `quantity` of one variant; the source is stocked first when it has too little."""

    class Meta:
        model = StockTransfer

    source_location = factory.SubFactory(StockLocationFactory)
    destination_location = factory.SubFactory(StockLocationFactory)
    variant = factory.SubFactory(VariantFactory)
    quantity = 5

    @classmethod
    def _create(cls, model_class, source_location, destination_location, variant, quantity, **kwargs):
        StockItemFactory(stock_location=source_location, variant=variant, count_on_hand=quantity)
        return services.transfer(source_location, destination_location, [(variant, quantity)], **kwargs)


class AllocationFactory(DjangoModelFactory):
    """An allocation made through `services.allocations.allocate` (stock is received first)."""

    class Meta:
        model = Allocation

    stock_item = factory.SubFactory(StockItemFactory, count_on_hand=10)
    quantity = 2

    @classmethod
    def _create(cls, model_class, stock_item, quantity, **kwargs):
        from inventory.services.allocations import allocate

        return allocate(stock_item, quantity, **kwargs)


class IdempotencyRecordFactory(DjangoModelFactory):
    class Meta:
        model = IdempotencyRecord

    user = factory.SubFactory(UserFactory)
    key = factory.Sequence(lambda n: f"key-{n}")
    route = "spree:stock_movements"
    request_hash = "0" * 64
    response_status = 201
    response_body = factory.LazyFunction(dict)


def cost_layers(item: StockItem) -> list[tuple[int, int, Decimal]]:
    """(received, remaining, unit cost) of an item's layers, oldest first: handy in assertions."""
    return [(lyr.quantity_received, lyr.quantity_remaining, lyr.unit_cost)
            for lyr in CostLayer.objects.filter(stock_item=item).order_by("id")]


__all__ = [
    "ApiKeyFactory",
    "AllocationFactory",
    "IdempotencyRecordFactory",
    "ProductFactory",
    "StockItemFactory",
    "StockLocationFactory",
    "StockMovementFactory",
    "StockTransferFactory",
    "UserFactory",
    "VariantFactory",
    "cost_layers",
]
