"""Catalogue and stock-item creation, with the propagation rules Spree has:
a location with `propagate_all_variants` gets a stock item for every variant, and a new variant
gets a stock item at every such location."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from inventory.models import Action, Product, StockItem, StockLocation, Variant
from inventory.services.errors import InvalidMovement
from inventory.services.locking import hold_locations, lock_item
from inventory.services.movements import post_movement
from inventory.services.rules import NewMovement


@transaction.atomic
def create_stock_location(**fields) -> StockLocation:
    location = StockLocation.objects.create(**fields)
    if location.propagate_all_variants:
        StockItem.objects.bulk_create(
            [StockItem(stock_location=location, variant_id=vid, backorderable=location.backorderable_default)
             for vid in Variant.objects.filter(deleted_at__isnull=True).values_list("pk", flat=True)],
            batch_size=1000,
        )
    return location


@transaction.atomic
def create_variant(product: Product, **fields) -> Variant:
    variant = Variant.objects.create(product=product, **fields)
    locations = list(StockLocation.objects.filter(propagate_all_variants=True))
    held = hold_locations(location.pk for location in locations)  # none deleted under us (see locking)
    StockItem.objects.bulk_create(
        [StockItem(stock_location=location, variant=variant, backorderable=location.backorderable_default)
         for location in locations if location.pk in held]
    )
    return variant


@transaction.atomic
def create_product(*, name: str, slug: str, sku: str, price=0, description: str = "", **variant_fields) -> Product:
    """A product and its master variant (Spree's shape: every product has one)."""
    product = Product.objects.create(name=name, slug=slug, description=description)
    create_variant(product, sku=sku, price=price, is_master=True, **variant_fields)
    return product


def ensure_stock_items(location: StockLocation, variant_ids: Iterable[int], *, create: bool) -> dict[int, StockItem]:
    """The location's stock items for these variants, by variant id; missing ones are created when
    `create`, else an error names the first missing variant."""
    variant_ids = list(variant_ids)
    if not hold_locations([location.pk]):
        # Deleted by a concurrent request: nothing may be created or recorded there.
        raise StockLocation.DoesNotExist(f"stock location {location.pk} no longer exists")
    items = {i.variant_id: i for i in StockItem.objects.filter(stock_location=location, variant_id__in=variant_ids)}
    if create and (discarded := [i.pk for i in items.values() if i.deleted_at is not None]):
        # Stock recorded again on a discarded item brings it back (see services.stock_items).
        StockItem.objects.filter(pk__in=discarded).update(deleted_at=None)
        for item in items.values():
            item.deleted_at = None
    missing = [vid for vid in variant_ids if vid not in items]
    if missing and not create:
        raise InvalidMovement(f"Variant {missing[0]} has no stock at {location.code}.", field="variant_id")
    if missing:
        known = set(Variant.objects.filter(pk__in=missing).values_list("pk", flat=True))
        if unknown := [vid for vid in missing if vid not in known]:
            raise InvalidMovement(f"Variant {unknown[0]} does not exist.", field="variant_id")
        StockItem.objects.bulk_create(
            [StockItem(stock_location=location, variant_id=vid, backorderable=location.backorderable_default)
             for vid in missing],
            ignore_conflicts=True,
        )
        items.update({i.variant_id: i for i in StockItem.objects.filter(stock_location=location,
                                                                          variant_id__in=missing)})
    return items


@transaction.atomic
def create_stock_item(
    location: StockLocation,
    variant: Variant,
    *,
    count_on_hand: int = 0,
    backorderable: bool | None = None,
    user=None,
    **fields,
) -> StockItem:
    """A stock item; an opening `count_on_hand` is recorded as a `received` movement, never written bare."""
    if not hold_locations([location.pk]):
        raise StockLocation.DoesNotExist(f"stock location {location.pk} no longer exists")
    existing = StockItem.objects.filter(stock_location=location, variant=variant).first()
    if existing is not None and existing.deleted_at is None:
        raise InvalidMovement("This variant already has a stock item at this location.", field="variant_id")
    if count_on_hand < 0:
        raise InvalidMovement("Opening count can't be negative.", field="count_on_hand")
    settings = {"backorderable": location.backorderable_default if backorderable is None else backorderable,
                **fields}
    if existing is not None:
        # A discarded item of this variant comes back, with its ledger, rather than a second item.
        StockItem.objects.filter(pk=existing.pk).update(deleted_at=None, **settings)
        item = StockItem.objects.get(pk=existing.pk)
    else:
        item = StockItem.objects.create(stock_location=location, variant=variant, **settings)
    if count_on_hand:
        post_movement(NewMovement(lock_item(item.pk), count_on_hand, Action.RECEIVED, notes="Opening count"), user=user)
        item.refresh_from_db()
    return item
